"""fedrun: runs the federation tests of one file and reports them the way
tests/fed/run.sh and tests/run-all.sh count them: `fed: NAME ok (1.2s)` or
`fed: NAME FAILED: why` (one line; details on stderr), then
`fed: N passed, M failed`. A test is a function, or a Group of functions
sharing one federation."""
import os
import signal
import sys
import time
import traceback

from fedlib import FedError


class Group:
    """Tests that share one federation (set up once: make() returns a Fed,
    start(fed) starts what they need); each fn(fed) is reported alone."""

    def __init__(self, make, start, fns):
        self.make, self.start, self.fns = make, start, fns


def _why(e):
    """One line for the FAILED line; details (log tails, traceback) go to
    stderr."""
    if isinstance(e, FedError):
        first, _, rest = str(e).partition("\n")
    else:
        here = [f for f in traceback.extract_tb(e.__traceback__)
                if os.path.dirname(os.path.abspath(f.filename)) == os.path.dirname(os.path.abspath(__file__))]
        at = f" (at {os.path.basename(here[-1].filename)}:{here[-1].lineno})" if here else ""
        first, rest = f"{type(e).__name__}: {e}{at}", traceback.format_exc()
    if rest.strip():
        sys.stderr.write(rest if rest.endswith("\n") else rest + "\n")
    return first


def _report(name, fn, *args):
    t0 = time.monotonic()
    try:
        fn(*args)
        print(f"fed: {name} ok ({time.monotonic() - t0:.1f}s)", flush=True)
        return True
    except Exception as e:  # any failure is this test's: go on with the next
        print(f"fed: {name} FAILED: {_why(e)}", flush=True)
        return False


def _name(fn):
    return fn.__name__.removeprefix("test_").replace("_", "-")


def _run_group(g, results):
    done = 0
    try:
        with g.make() as fed:
            g.start(fed)
            for fn in g.fns:
                results.append(_report(_name(fn), fn, fed))
                done += 1
    except Exception as e:  # setup or teardown failed
        why = _why(e)
        for fn in g.fns[done:]:
            print(f"fed: {_name(fn)} FAILED: {why}", flush=True)
            results.append(False)
        if done == len(g.fns):
            print(f"fed: teardown FAILED: {why}", flush=True)
            results.append(False)


def main(tests):
    """Run test functions and Groups, one line each, then a count line."""
    # SIGTERM (a CI timeout) unwinds like ^C: every Fed cleans up on the way
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = []
    for t in tests:
        if isinstance(t, Group):
            _run_group(t, results)
        else:
            results.append(_report(_name(t), t))
    passed = sum(results)
    print(f"fed: {passed} passed, {len(results) - passed} failed", flush=True)
    return 0 if passed == len(results) else 1
