#!/usr/bin/env python3
"""Golden tests of the translation core, run by `make test`.

For every sample under mappings/samples/<set>/:
  NAME.EXT + NAME.expected.jsonl   `eportctl map NAME.EXT` must print exactly
                                   the expected lines and exit 0; then every
                                   record goes back out through its table
                                   (--reverse) and in again, and each mapped
                                   field must survive (round trip).
  NAME.EXT + NAME.expected.err     exit status 65, and stderr exactly as
                                   expected (bad inputs: errors name file,
                                   line, column, segment, element, why);
                                   NAME.expected.jsonl beside it, if any,
                                   holds the messages that still translate.
Also `eportctl lint mappings` must be clean, and the fan-out round trip
(fanout_roundtrip.py: one declaration and one manifest out through every
agency's table and back, and the agencies' answers) must hold, and so must
the mapping authors' tools and their tutorial (authoring.py: map --diff,
map --explain, new-mapping, docs/mapping-tutorial.md). Prints one
line per case and a closing "golden: N passed, N failed".
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import authoring  # noqa: E402
import fanout_roundtrip  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join("mappings", "samples")
EXPECT = (".expected.jsonl", ".expected.err")


def run(ctl, args, stdin=None, raw=False):
    """raw: stdout as bytes, for local formats in legacy charsets (GB18030)
    that must reach the next step unchanged."""
    p = subprocess.run([ctl] + args, cwd=ROOT, capture_output=True, input=stdin)
    out = p.stdout if raw else p.stdout.decode("utf-8", "replace")
    return p.returncode, out, p.stderr.decode("utf-8", "replace")


def strip_source(rec):
    """The envelope may legitimately change on the way out and back (the
    directory version written, a new interchange reference), and so may
    warnings[] (the slips a lenient table let through are not written
    back: what goes out is written correctly); every other field must come
    back as it went."""
    rec = dict(rec)
    rec.pop("warnings", None)
    src = dict(rec.get("source", {}))
    for k in ("version", "interchange_ref", "syntax"):
        src.pop(k, None)
    rec["source"] = src
    return rec


def round_trip(ctl, lines, fail):
    by_table = {}
    for line in lines:
        rec = json.loads(line)
        by_table.setdefault(rec["source"]["mapping"], []).append(line)
    for table, recs in by_table.items():
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write("\n".join(recs) + "\n")
            path = f.name
        try:
            rc, out, err = run(ctl, ["map", "--reverse", "--map", table, path], raw=True)
            if rc != 0:
                return fail(f"reverse through {table} failed ({rc}): {err.strip()}")
            rc, back, err = run(ctl, ["map", "--map", table, "-"], stdin=out)
            if rc != 0:
                return fail(f"re-reading the reverse output of {table} failed ({rc}): {err.strip()}")
        finally:
            os.unlink(path)
        got = [strip_source(json.loads(l)) for l in back.splitlines() if l.strip()]
        want = [strip_source(json.loads(l)) for l in recs]
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                diff = [k for k in set(g) | set(w) if g.get(k) != w.get(k)]
                return fail(f"round trip through {table}: record {i + 1} differs in {sorted(diff)}")
        if len(got) != len(want):
            return fail(f"round trip through {table}: {len(got)} records back for {len(want)}")
    return True


def check_sample(ctl, rel, base):
    problems = []
    fail = lambda msg: problems.append(msg) or False
    rc, out, err = run(ctl, ["map", rel])
    exp_jsonl, exp_err = base + ".expected.jsonl", base + ".expected.err"
    if os.path.exists(os.path.join(ROOT, exp_err)):
        want_err = open(os.path.join(ROOT, exp_err), encoding="utf-8").read()
        if rc != 65:
            fail(f"exit status {rc}, expected 65")
        if err != want_err:
            fail("stderr differs from %s:\n--- got\n%s--- expected\n%s" % (exp_err, err, want_err))
    elif rc != 0:
        fail(f"exit status {rc}: {err.strip()}")
    if os.path.exists(os.path.join(ROOT, exp_jsonl)):
        want = open(os.path.join(ROOT, exp_jsonl), encoding="utf-8").read()
        if out != want:
            got_l, want_l = out.splitlines(), want.splitlines()
            first = next((i for i, (a, b) in enumerate(zip(got_l, want_l)) if a != b), min(len(got_l), len(want_l)))
            fail(f"output differs from {exp_jsonl} at line {first + 1}")
        elif not problems and out.strip():
            round_trip(ctl, out.splitlines(), fail)
    return problems


def main():
    ctl = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "bin", "eportctl")
    passed = failed = 0
    rc, out, err = run(ctl, ["lint", "mappings"])
    if rc == 0:
        passed += 1
        print("ok   lint mappings")
    else:
        failed += 1
        print("FAIL lint mappings\n" + err)
    for dirpath, _, files in sorted(os.walk(os.path.join(ROOT, SAMPLES))):
        for name in sorted(files):
            if name.endswith(EXPECT) or name.endswith(".md"):
                continue
            base = os.path.join(dirpath, name.rsplit(".", 1)[0])
            if not any(os.path.exists(base + e) for e in EXPECT):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), ROOT)
            problems = check_sample(ctl, rel, os.path.relpath(base, ROOT))
            if problems:
                failed += 1
                print(f"FAIL {rel}")
                for p in problems:
                    print("     " + p.replace("\n", "\n     "))
            else:
                passed += 1
                print(f"ok   {rel}")
    try:
        extra = fanout_roundtrip.cases(ctl)
    except Exception as e:  # the round trip itself broke: one failed case
        extra = [("fanout round trip", [f"{type(e).__name__}: {e}"])]
    try:
        extra += authoring.cases(ctl)
    except Exception as e:  # the authoring checks themselves broke
        extra.append(("authoring tools", [f"{type(e).__name__}: {e}"]))
    p, f = authoring.report(extra)
    passed, failed = passed + p, failed + f
    print(f"golden: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
