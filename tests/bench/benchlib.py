"""What the Python benches share: the release binaries (bin/eportd,
bin/eportctl, unless env EPORTD, EPORTCTL say otherwise) for
tests/fed/fedlib.py, which this puts on the path, and `main`, which skips
a bench whose tools are missing and turns a failed check into exit 1.

Import before fedlib, with bytecode off so the checkout stays clean:

    import sys
    sys.dont_write_bytecode = True
    import benchlib  # noqa: E402
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("EPORTD", os.path.join(ROOT, "bin", "eportd"))
os.environ.setdefault("EPORTCTL", os.path.join(ROOT, "bin", "eportctl"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fed"))
import fedlib  # noqa: E402


def missing(tools=()):
    """Why the bench cannot run (redis-server, the binaries or one of
    tools, paths, not there), or None."""
    if not shutil.which("redis-server"):
        return "redis-server is not installed"
    for b in (fedlib.EPORTD, fedlib.EPORTCTL) + tuple(tools):
        if not os.access(b, os.X_OK):
            return f"{b} is missing (make)"
    return None


def main(name, run, tools=(), errors=()):
    """Runs run() as bench name: `bench NAME skipped: why` and 0 when
    something is missing, `bench NAME FAILED: ...` and 1 when a check
    (FedError, or one of errors) fails, else 0."""
    why = missing(tools)
    if why:
        print(f"bench {name} skipped: {why}")
        return 0
    try:
        run()
    except (fedlib.FedError,) + tuple(errors) as e:
        print(f"bench {name} FAILED: {e}", flush=True)
        return 1
    return 0
