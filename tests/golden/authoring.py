#!/usr/bin/env python3
"""Mapping authors' tools and their tutorial, run by tests/golden/run.py
(make test).

(a) The tutorial (docs/mapping-tutorial.md) is tested. Its files are in
    tests/golden/tutorial/ (not in mappings/: the shipped set stays what
    real senders send): the sample, the finished table and the expected
    record. The table must translate the sample to the expected record
    (`map --diff` silent, exit 0; byte for byte the same lines), write it
    back (`map --reverse`) and read that back to the same record, and lint
    clean alone and beside the shipped tables, where the sample must still
    choose it. Then the document itself is walked top to bottom, the way a
    reader follows it, in a scratch directory laid out like the
    repository (copies, so that no command can touch the real tree):
      - every ```console block is run: each `$ ` line through bash with
        `eportctl` on PATH, and what it printed (stdout and stderr) must
        be what the block shows under it: line for line, a line "..."
        standing for any number of lines; nothing shown, nothing printed;
      - a block after `<!-- tutorial: file PATH -->` is written to PATH;
      - a ```diff block after `<!-- tutorial: edit PATH -->` is applied to
        PATH (its context and - lines must be there, once);
      - a block after `<!-- tutorial: same NAME -->` must equal
        tests/golden/tutorial/NAME;
      - a block after `<!-- tutorial: final NAME -->` must equal
        tests/golden/tutorial/NAME, and so must the scratch table the
        steps before it built;
      - a ```json block after `<!-- tutorial: record NAME -->` must be the
        record of tests/golden/tutorial/NAME (the golden file, indented);
      - any other fenced block is a failure: nothing shown goes unchecked.
(b) `map --diff`: identical records, exit 0 and nothing printed; a changed
    value, a dropped field, an extra field, a missing and an extra record
    each give exactly their line "record N: PATH: expected X, got Y" and
    exit 1; a golden file with a line that is not JSON, exit 65 naming
    file and line.
(c) `map --explain` on shipped samples (EDIFACT and XML): the line of a
    field names the rule's line in the table file (found by reading the
    table) and the value's position in the sample (found by reading the
    sample); with a copy of the table less that rule (--mappings DIR), the
    value shows under "not mapped" and the field is gone.
(d) `new-mapping --from` an EDIFACT, an XML, a JSON and a CSV sample:
    with --kind the skeleton lints clean; with one generated rule
    uncommented and given `to: document.number`, `map --map NAME` gives
    the sample's value there; without --kind, lint fails naming 'kind' at
    its line.

Every check compares with a value read from the files, never only a
status, and the checks that could pass by finding nothing first check
that there is something to find.

usage: authoring.py [EPORTCTL] [--doc-output]; --doc-output prints what
each command of the tutorial really prints (for updating the document).
run.py imports cases().
"""
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.parsers.expat

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TUTORIAL = os.path.join("tests", "golden", "tutorial")
DOC = os.path.join("docs", "mapping-tutorial.md")
T_TABLE, T_NAME = "xml-gate-in.yaml", "xml-gate-in"
T_SAMPLE, T_EXPECTED = "gy-gate-in.xml", "gy-gate-in.expected.jsonl"

# (c) and (d): shipped samples and their tables.
EDI_SAMPLE = os.path.join("mappings", "samples", "iftsta", "cq-sh-events-01.edi")
EDI_EXPECTED = os.path.join("mappings", "samples", "iftsta", "cq-sh-events-01.expected.jsonl")
EDI_TABLE = os.path.join("mappings", "iftsta.yaml")
XML_SAMPLE = os.path.join("mappings", "samples", "xml-vessel-report", "ys-arrival-01.xml")
XML_TABLE = os.path.join("mappings", "xml-vessel-report.yaml")
NEW_MAPPING_SAMPLES = [  # (format, sample, kind)
    ("edifact", EDI_SAMPLE, "status"),
    ("xml", XML_SAMPLE, "manifest"),
    ("json", os.path.join("mappings", "samples", "json-rail", "cd-waybills.json"), "waybill"),
    ("csv", os.path.join("mappings", "samples", "csv-containers", "cq-barge-list.csv"), "manifest"),
]


# ---- running eportctl ----

def env():
    e = dict(os.environ)
    e.pop("EPORT_MAPPINGS", None)  # every command names its set, or uses ./mappings
    return e


TIMEOUT = 300  # seconds for one command (a sanitizer build is slow, never this slow)


def run(ctl, args, cwd=ROOT, stdin=None):
    try:
        p = subprocess.run([ctl] + args, cwd=cwd, capture_output=True, input=stdin, env=env(),
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return 124, "", f"eportctl {' '.join(args)}: no answer in {TIMEOUT} s"
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def scratch_set(tmp, tables):
    """A mapping set in tmp: the given tables ({file name: text}) and the
    shipped code lists."""
    os.makedirs(tmp, exist_ok=True)
    for name, text in tables.items():
        with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
            f.write(text)
    os.symlink(os.path.join(ROOT, "mappings", "codes"), os.path.join(tmp, "codes"))
    return tmp


def jsonl(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


# ---- (a) the tutorial's files ----

def tutorial_translates(ctl):
    problems = []
    table, sample = read(os.path.join(TUTORIAL, T_TABLE)), os.path.join(TUTORIAL, T_SAMPLE)
    expected_rel = os.path.join(TUTORIAL, T_EXPECTED)
    want = read(expected_rel)
    if len(jsonl(want)) != 1:
        return [f"{expected_rel}: {len(jsonl(want))} records, the tutorial's sample makes 1"]
    with tempfile.TemporaryDirectory() as tmp:
        d = scratch_set(os.path.join(tmp, "set"), {T_TABLE: table})
        rc, out, err = run(ctl, ["map", "--mappings", d, "--map", T_NAME, "--diff", expected_rel, sample])
        if (rc, out, err) != (0, "", ""):
            problems.append(f"map --diff: exit {rc}, printed {out!r} {err!r}; expected exit 0, nothing")
        for how, args in (("--map " + T_NAME, ["--map", T_NAME]), ("the table chosen by match", [])):
            rc, out, err = run(ctl, ["map", "--mappings", d] + args + [sample])
            if rc != 0 or out != want:
                problems.append(f"map ({how}): exit {rc}, output differs from {expected_rel}: {out!r} {err.strip()}")
    return problems


def tutorial_round_trip(ctl):
    problems = []
    table = read(os.path.join(TUTORIAL, T_TABLE))
    expected_rel = os.path.join(TUTORIAL, T_EXPECTED)
    want = jsonl(read(expected_rel))
    with tempfile.TemporaryDirectory() as tmp:
        d = scratch_set(os.path.join(tmp, "set"), {T_TABLE: table})
        rc, local, err = run(ctl, ["map", "--mappings", d, "--reverse", "--map", T_NAME, expected_rel])
        if rc != 0:
            return [f"map --reverse: exit {rc}: {err.strip()}"]
        if not re.search(r'<GateInNotice xmlns="urn:cn:cqgyp:gate:1">', local):
            problems.append(f"map --reverse wrote no GateInNotice root in its namespace:\n{local}")
        back = os.path.join(tmp, "back.xml")
        with open(back, "w", encoding="utf-8") as f:
            f.write(local)
        rc, out, err = run(ctl, ["map", "--mappings", d, back])
        if rc != 0:
            problems.append(f"re-reading what --reverse wrote: exit {rc}: {err.strip()}")
        elif jsonl(out) != want:
            problems.append(f"read back, the record differs from {expected_rel}:\n{out}")
        rc, out, err = run(ctl, ["map", "--mappings", d, "--diff", expected_rel, back])
        if (rc, out) != (0, ""):
            problems.append(f"map --diff of what --reverse wrote: exit {rc}:\n{out}{err}")
    return problems


def tutorial_lints(ctl):
    problems = []
    table = read(os.path.join(TUTORIAL, T_TABLE))
    shipped = {n: read(os.path.join("mappings", n)) for n in sorted(os.listdir(os.path.join(ROOT, "mappings")))
               if n.endswith(".yaml")}
    if T_TABLE in shipped:
        problems.append(f"mappings/{T_TABLE} exists: the tutorial's table must not be shipped")
    with tempfile.TemporaryDirectory() as tmp:
        for name, tables, count in (("alone", {T_TABLE: table}, 1),
                                    ("beside the shipped tables", dict(shipped, **{T_TABLE: table}),
                                     len(shipped) + 1)):
            d = scratch_set(os.path.join(tmp, name.replace(" ", "-")), tables)
            rc, out, err = run(ctl, ["lint", d])
            if rc != 0 or err or not out.endswith(f": {count} mapping tables, 0 problems\n"):
                problems.append(f"lint {name}: exit {rc}: {out.strip()} {err.strip()}")
        # beside the others, the sample still chooses the tutorial's table
        rc, out, err = run(ctl, ["map", "--mappings", d, os.path.join(TUTORIAL, T_SAMPLE)])
        got = [r.get("source", {}).get("mapping") for r in jsonl(out)] if rc == 0 else err
        if got != [T_NAME]:
            problems.append(f"beside the shipped tables the sample chose {got}, not [{T_NAME!r}]")
    return problems


# ---- (a) the document, walked ----

FENCE = re.compile(r"^```(\w*)\s*$")
ANNOT = re.compile(r"^<!--\s*tutorial:\s*(\w+)\s+(\S+)\s*-->\s*$")


def doc_blocks(text):
    """[(line, lang, annotation or None, body)] of every fenced block."""
    lines = text.split("\n")
    out, i, prev = [], 0, None
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                prev = lines[i]
            i += 1
            continue
        start, lang = i + 1, m.group(1)
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise ValueError(f"{DOC}:{start}: block not closed")
        a = ANNOT.match(prev or "")
        out.append((start, lang, (a.group(1), a.group(2)) if a else None,
                    "\n".join(lines[i + 1:j]) + "\n"))
        prev, i = None, j + 1
    return out


def console_steps(body):
    """[(command, [shown output lines])] of a console block."""
    steps = []
    for line in body.rstrip("\n").split("\n"):
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise ValueError(f"output before any command: {line!r}")
    return steps


def shown_matches(shown, got):
    """Whether the lines got are the lines shown, a line "..." standing for
    any number of lines (an excerpt)."""
    parts, cur = [], []
    for line in shown:
        if line == "...":
            parts.append(cur)
            cur = []
        else:
            cur.append(line)
    parts.append(cur)
    if len(parts) == 1:
        return shown == got
    first, last = parts[0], parts[-1]
    if got[:len(first)] != first:
        return False
    pos = len(first)
    for part in parts[1:-1]:
        for k in range(pos, len(got) - len(part) + 1):
            if got[k:k + len(part)] == part:
                pos = k + len(part)
                break
        else:
            return False
    return len(got) - pos >= len(last) and (not last or got[len(got) - len(last):] == last)


def apply_edit(text, body):
    """A ```diff block's hunks (split at lines starting "@@") applied to
    text: each hunk's context and - lines must occur exactly once."""
    hunks, cur = [], []
    for line in body.rstrip("\n").split("\n"):
        if line.startswith("@@"):
            hunks.append(cur)
            cur = []
        else:
            cur.append(line)
    hunks.append(cur)
    for h in (h for h in hunks if h):
        old, new = [], []
        for line in h:
            tag, rest = line[:1], line[1:]
            if tag not in (" ", "-", "+"):
                raise ValueError(f"diff line not ' ', '-' or '+': {line!r}")
            if tag != "+":
                old.append(rest)
            if tag != "-":
                new.append(rest)
        old_t, new_t = "\n".join(old) + "\n", "\n".join(new) + "\n"
        n = text.count(old_t)
        if n != 1:
            raise ValueError(f"the lines the edit changes occur {n} times, not once:\n{old_t}")
        text = text.replace(old_t, new_t)
    return text


def scratch_repo(tmp, ctl):
    """What the tutorial's commands see: a copy of mappings/ and of the
    tutorial's files at their places, eportctl on PATH."""
    shutil.copytree(os.path.join(ROOT, "mappings"), os.path.join(tmp, "mappings"), symlinks=True,
                    ignore=shutil.ignore_patterns("samples"))
    shutil.copytree(os.path.join(ROOT, TUTORIAL), os.path.join(tmp, TUTORIAL))
    os.makedirs(os.path.join(tmp, ".bin"))
    os.symlink(ctl, os.path.join(tmp, ".bin", "eportctl"))


def run_console(tmp, steps):
    """Each command in one bash, in order, $? carried from one to the
    next: [(exit status, printed lines)]."""
    mark = "--8<-- authoring.py step --8<--"
    script = ["__rc=0"]
    for cmd, _ in steps:
        script += [f"printf '%s\\n' '{mark}'", "(exit $__rc)", "{ " + cmd + "\n} 2>&1", "__rc=$?"]
    e = env()
    e["PATH"] = os.path.join(tmp, ".bin") + os.pathsep + e.get("PATH", "")
    try:
        p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp, capture_output=True, env=e,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ValueError(f"the block's commands did not end in {TIMEOUT} s")
    chunks = p.stdout.decode("utf-8", "replace").split(mark + "\n")[1:]
    out = []
    for c in chunks:
        lines = c.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        out.append(lines)
    if len(out) != len(steps) or p.stderr:
        raise ValueError(f"the block did not run through: {p.stderr.decode('utf-8', 'replace')}")
    return out


def walk_doc(ctl, print_output=False):
    """[(case name, [problems])] for the document's blocks."""
    text = read(DOC)
    files = {n: read(os.path.join(TUTORIAL, n)) for n in (T_TABLE, T_SAMPLE, T_EXPECTED)}
    shown_problems, run_problems = [], []
    blocks = doc_blocks(text)
    finals = [b for b in blocks if b[2] and b[2][0] == "final"]
    if [b[2][1] for b in finals] != [T_TABLE]:
        shown_problems.append(f"{DOC} must show the finished {T_TABLE} once, "
                              f"after <!-- tutorial: final {T_TABLE} -->")
    ncommands = 0
    with tempfile.TemporaryDirectory() as tmp:
        scratch_repo(tmp, ctl)
        for line, lang, annot, body in blocks:
            where = f"{DOC}:{line}"
            kind, arg = annot if annot else (None, None)
            try:
                if lang == "console" and not annot:
                    steps = console_steps(body)
                    got = run_console(tmp, steps)
                    for (cmd, shown), printed in zip(steps, got):
                        ncommands += 1
                        if print_output:
                            print(f"{where}: $ {cmd}\n" + "".join(l + "\n" for l in printed))
                        if not shown_matches(shown, printed):
                            run_problems.append(f"{where}: `{cmd}` printed\n" + "\n".join(printed)
                                                + "\n--- the document shows\n" + "\n".join(shown))
                elif kind == "file":
                    path = os.path.join(tmp, arg)
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(body)
                elif kind == "edit" and lang == "diff":
                    path = os.path.join(tmp, arg)
                    with open(path, encoding="utf-8") as f:
                        new = apply_edit(f.read(), body)
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(new)
                elif kind in ("same", "final") and arg in files:
                    if body != files[arg]:
                        shown_problems.append(f"{where}: the block differs from {TUTORIAL}/{arg}")
                    if kind == "final":
                        built = os.path.join(tmp, "gate-in", arg)
                        if not os.path.exists(built) or open(built, encoding="utf-8").read() != body:
                            shown_problems.append(f"{where}: the table the tutorial's steps build "
                                                  f"(gate-in/{arg}) is not the finished table shown")
                elif kind == "record" and lang == "json" and arg in files:
                    if [json.loads(body)] != jsonl(files[arg]):
                        shown_problems.append(f"{where}: the record shown is not {TUTORIAL}/{arg}")
                else:
                    shown_problems.append(f"{where}: a ```{lang} block no check covers "
                                          f"(annotation {annot})")
            except (ValueError, OSError) as e:
                (run_problems if lang == "console" else shown_problems).append(f"{where}: {e}")
    if ncommands < 10:
        run_problems.append(f"{DOC}: only {ncommands} commands: the tutorial's steps are missing")
    return [("tutorial: blocks of docs/mapping-tutorial.md equal tests/golden/tutorial/", shown_problems),
            ("tutorial: commands of docs/mapping-tutorial.md print what it shows", run_problems)]


def doc_checks_have_teeth():
    """The matchers the walk relies on reject what they must."""
    problems = []
    if shown_matches(["a", "b"], ["a", "b", "c"]) or not shown_matches(["a", "b"], ["a", "b"]):
        problems.append("an output with an extra line matched")
    if shown_matches(["a", "...", "c"], ["a", "b", "d"]) or not shown_matches(["a", "...", "c"], ["a", "x", "y", "c"]):
        problems.append("an excerpt matched wrongly")
    if shown_matches([], ["x"]):
        problems.append("output matched a block showing none")
    try:
        apply_edit("a\nb\n", " a\n-x\n+y\n")
        problems.append("an edit whose lines are not there applied")
    except ValueError:
        pass
    if apply_edit("a\nb\nc\n", " a\n-b\n+B\n c\n") != "a\nB\nc\n":
        problems.append("an edit applied wrongly")
    return [("tutorial: the document checks reject what they must", problems)]


# ---- (b) --diff ----

def jansson_text(v):
    """A value as map --diff writes it: compact JSON, at most 120 bytes cut
    between characters, then "..."."""
    s = json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(s) <= 120:
        return s.decode("utf-8")
    cut = 120
    while cut and (s[cut] & 0xC0) == 0x80:
        cut -= 1
    return s[:cut].decode("utf-8") + "..."


def diff_cases(ctl):
    out = []
    want = jsonl(read(EDI_EXPECTED))
    if len(want) < 3:
        return [("--diff", [f"{EDI_EXPECTED} has {len(want)} records; the cases need 3"])]
    r2 = want[1]
    # (name, golden records, lines map --diff must print, exit status)
    variants = [("identical", copy.deepcopy(want), [], 0)]
    g = copy.deepcopy(want)
    g[1]["document"]["number"] = "YSST0000000000"
    variants.append(("a changed value", g, [
        f'record 2: document.number: expected "YSST0000000000", got {jansson_text(r2["document"]["number"])}'], 1))
    g = copy.deepcopy(want)
    g[1]["legs"][0]["voyage"] = "9999X"
    variants.append(("a changed value in an array", g, [
        f'record 2: legs[1].voyage: expected "9999X", got {jansson_text(r2["legs"][0]["voyage"])}'], 1))
    g = copy.deepcopy(want)
    del g[1]["status"]["place"]
    variants.append(("a dropped field", g, [
        f'record 2: status.place: expected (absent), got {jansson_text(r2["status"]["place"])}'], 1))
    g = copy.deepcopy(want)
    g[1]["equipment"][0]["seals"] = ["YS0311872"]
    variants.append(("an extra field", g, ['record 2: equipment[1].seals: expected ["YS0311872"], got (absent)'], 1))
    g = copy.deepcopy(want)
    g[1]["parties"].append({"role": "consignee", "name": "重庆渝欧精密电子有限公司"})
    variants.append(("an extra array element", g, [
        'record 2: parties[2]: expected {"role":"consignee","name":"重庆渝欧精密电子有限公司"}, got (absent)'], 1))
    g = copy.deepcopy(want[:-1])
    variants.append(("a missing record", g, [
        f"record {len(want)}: (the record): expected (absent), got {jansson_text(want[-1])}"], 1))
    g = copy.deepcopy(want) + [copy.deepcopy(want[0])]
    variants.append(("a record more than the file makes", g, [
        f"record {len(want) + 1}: (the record): expected {jansson_text(want[0])}, got (absent)"], 1))
    with tempfile.TemporaryDirectory() as tmp:
        for name, golden, lines, status in variants:
            path = os.path.join(tmp, "golden.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in golden))
            rc, got, err = run(ctl, ["map", "--diff", path, EDI_SAMPLE])
            problems = []
            if rc != status:
                problems.append(f"exit {rc}, expected {status}")
            if got.splitlines() != lines:
                problems.append("printed\n" + got + "--- expected\n" + "".join(l + "\n" for l in lines))
            if err:
                problems.append(f"stderr: {err.strip()}")
            out.append((f"--diff: {name}", problems))
        # all of them at once: every line, in record order
        g = copy.deepcopy(want)
        g[0]["document"]["number"] = "YSST0000000000"
        del g[1]["status"]["place"]
        g = g[:-1]
        lines = [f'record 1: document.number: expected "YSST0000000000", got {jansson_text(want[0]["document"]["number"])}',
                 f'record 2: status.place: expected (absent), got {jansson_text(r2["status"]["place"])}',
                 f"record {len(want)}: (the record): expected (absent), got {jansson_text(want[-1])}"]
        path = os.path.join(tmp, "golden.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in g))
        rc, got, err = run(ctl, ["map", "--diff", path, EDI_SAMPLE])
        out.append(("--diff: several differences", [] if (rc, got.splitlines()) == (1, lines) else
                    [f"exit {rc}, printed\n{got}--- expected\n" + "\n".join(lines)]))
        # not JSON: named by file and line, blank lines counted
        for name, text, line in (("a line that is not JSON", [json.dumps(want[0]), "{not json"], 2),
                                 ("not JSON after blank lines", [json.dumps(want[0]), "", "", "[1,"], 4)):
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(text) + "\n")
            rc, got, err = run(ctl, ["map", "--diff", path, EDI_SAMPLE])
            problems = []
            if rc != 65:
                problems.append(f"exit {rc}, expected 65")
            if not err.startswith(f"{path}:{line}:1: error: not a JSON record"):
                problems.append(f"stderr {err.strip()!r} does not start {path}:{line}:1: error: not a JSON record")
            out.append((f"--diff: {name}", problems))
    return out


# ---- (c) --explain ----

def table_rules(text):
    """[(line, {key: value})] of every rule item (`- key: ...`) of a table,
    its own keys only (not those of the rules of a group inside it)."""
    lines = text.split("\n")
    out = []
    for i, raw in enumerate(lines):
        m = re.match(r"^(\s*)- (\w+):\s*(.*)$", raw)
        if not m:
            continue
        ind = len(m.group(1))
        keys = {m.group(2): scalar(m.group(3))}
        for nxt in lines[i + 1:]:
            if not nxt.strip() or nxt.lstrip().startswith("#"):
                continue
            n_ind = len(nxt) - len(nxt.lstrip())
            if n_ind <= ind:
                break
            k = re.match(r"^\s{%d}(\w+):\s*(.*)$" % (ind + 2), nxt)
            if k:
                keys[k.group(1)] = scalar(k.group(2))
        out.append((i + 1, keys))
    return out


def scalar(v):
    v = re.sub(r"\s+#.*$", "", v.strip()) if not v.strip().startswith(('"', "'")) else v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def rule_of(text, to):
    """(line, keys) of the one top-level rule (not in a group) setting to."""
    lines = text.split("\n")
    found = [(line, keys) for line, keys in table_rules(text)
             if keys.get("to") == to and lines[line - 1].startswith("  - ")]
    if len(found) != 1:
        raise ValueError(f"{len(found)} rules with to: {to}, not one")
    return found[0]


def without_rule(text, line):
    """text less the rule item starting at line (1-based)."""
    lines = text.split("\n")
    ind = len(lines[line - 1]) - len(lines[line - 1].lstrip())
    end = line
    while end < len(lines) and (not lines[end].strip() or
                                len(lines[end]) - len(lines[end].lstrip()) > ind):
        end += 1
    return "\n".join(lines[:line - 1] + lines[end:])


def edifact_segments(text):
    """[(tag, [[components]], line)] of the first message (UNH = 1)."""
    sep_c, sep_e, rel, term = ":", "+", "?", "'"
    if text.startswith("UNA"):
        sep_c, sep_e, rel, term = text[3], text[4], text[6], text[8]
    segs, cur, line, start_line, i = [], "", 1, 1, 0
    while i < len(text):
        ch = text[i]
        if ch == rel and i + 1 < len(text):
            cur += ch + text[i + 1]
            i += 2
            continue
        if ch == "\n":
            line += 1
        if ch == term:
            segs.append((cur.strip(), start_line))
            cur, start_line = "", line
        else:
            if not cur.strip():
                start_line = line
            cur += ch
        i += 1
    msg, out = None, []
    for seg, ln in segs:
        elems = [e.split(sep_c) for e in seg.split(sep_e)]  # no released separators in these segments
        tag = elems[0][0]
        if tag == "UNH":
            msg = [] if msg is None else msg
        if msg is None:
            continue
        msg.append((tag, elems[1:], ln))
        if tag == "UNT":
            break
    return msg or []


def edifact_position(sample_text, path):
    """(segment number, line) of the first segment path (TAG+Q.E.C) reads
    in message 1, and E and C."""
    m = re.match(r"^([A-Z]{3})(?:\+(\w+))?(?:\.(\d+))?(?:\.(\d+))?$", path)
    if not m:
        raise ValueError(f"path {path} is not TAG+Q.E.C")
    tag, q, e, c = m.group(1), m.group(2), m.group(3), m.group(4)
    for n, (t, elems, line) in enumerate(edifact_segments(sample_text), 1):
        if t == tag and (q is None or (elems and elems[0][0] == q)):
            return n, line, e, c
    raise ValueError(f"no {tag}{'+' + q if q else ''} in message 1")


def xml_position(sample_path, path):
    """(line, column) of the first element path (A/B, from the root) names."""
    want, stack, found = path.strip("/").split("/"), [], []
    p = xml.parsers.expat.ParserCreate(namespace_separator=" ")

    def start(name, attrs):
        stack.append(name.split(" ")[-1])
        if not found and stack[1:] == want:
            found.append((p.CurrentLineNumber, p.CurrentColumnNumber + 1))

    p.StartElementHandler = start
    p.EndElementHandler = lambda name: stack.pop()
    with open(sample_path, "rb") as f:
        p.ParseFile(f)
    if not found:
        raise ValueError(f"no element {path} in {sample_path}")
    return found[0]


def explain_field(out, to):
    """The first (value, detail line) --explain printed for field to."""
    lines = out.split("\n")
    for i, l in enumerate(lines):
        m = re.match(r"^  %s = \"(.*)\"$" % re.escape(to), l)
        if m and i + 1 < len(lines):
            return m.group(1), lines[i + 1].strip()
    return None


def explain_case(ctl, name, table_rel, sample_rel, to, where_of):
    """where_of(rule keys) -> (value, position text) the sample holds."""
    problems, removed = [], []
    table = read(table_rel)
    try:
        line, keys = rule_of(table, to)
        value, where = where_of(keys)
    except (ValueError, OSError, xml.parsers.expat.ExpatError) as e:
        return [(f"--explain ({name}): {to}", [str(e)])] * 2
    rc, out, err = run(ctl, ["map", "--explain", sample_rel])
    hit = explain_field(out, to)
    want = f"rule line {line} from {keys['from']}, {where}"
    not_mapped = f'  not mapped: {where}: "{value}"'
    if rc != 0:
        problems.append(f"exit {rc}: {err.strip()}")
    if hit is None:
        problems.append(f"no line for {to} in\n{out}")
    else:
        if hit[0] != value:
            problems.append(f"{to} = {hit[0]!r}, the sample holds {value!r}")
        if not hit[1].startswith(want):
            problems.append(f"{to}: {hit[1]!r} does not start {want!r}")
    if not_mapped in out.split("\n"):
        problems.append(f"{not_mapped.strip()!r} although the rule maps it")
    with tempfile.TemporaryDirectory() as tmp:
        less = without_rule(table, line)
        d = scratch_set(os.path.join(tmp, "set"), {os.path.basename(table_rel): less})
        rc, out2, err = run(ctl, ["map", "--mappings", d, "--explain", sample_rel])
        if rc != 0:
            removed.append(f"without the rule of line {line}: exit {rc}: {err.strip()}")
        if explain_field(out2, to) is not None:
            removed.append(f"without the rule of line {line}, {to} is still set")
        if not_mapped not in out2.split("\n"):
            removed.append(f"without the rule of line {line}, no line {not_mapped.strip()!r} in\n{out2}")
        if len(less.split("\n")) >= len(table.split("\n")):
            removed.append("the copy of the table lost no line")
    return [(f"--explain ({name}): {to} names its rule and source", problems),
            (f"--explain ({name}): without the rule of {to}, not mapped", removed)]


def explain_cases(ctl):
    edi_text = read(EDI_SAMPLE)

    def edi_where(keys):
        n, line, e, c = edifact_position(edi_text, keys["from"])
        segs = edifact_segments(edi_text)
        tag, elems = segs[n - 1][0], segs[n - 1][1]
        if e is None:
            return None, f"segment {n} ({tag}) at {EDI_SAMPLE}:{line}"
        value = elems[int(e) - 1][int(c or 1) - 1]
        pos = f"element {e} component {c}" if c else f"element {e}"
        return value, f"segment {n} ({tag}) {pos} at {EDI_SAMPLE}:{line}"

    def xml_where(keys):
        path = keys["from"].lstrip("/")
        line, col = xml_position(os.path.join(ROOT, XML_SAMPLE), path)
        m = re.search(r"<%s>([^<]*)</%s>" % tuple([path.split("/")[-1]] * 2),
                      read(XML_SAMPLE).split("\n", line - 1)[-1])
        return (m.group(1) if m else None), f"element /{path} at {XML_SAMPLE}:{line}:{col}"

    out = []
    out += explain_case(ctl, "EDIFACT", EDI_TABLE, EDI_SAMPLE, "status.place", edi_where)
    out += explain_case(ctl, "XML", XML_TABLE, XML_SAMPLE, "source.sender", xml_where)
    # a rule reading a whole segment (a constant set when CNI is there)
    problems = []
    try:
        line, keys = rule_of(read(EDI_TABLE), "kind")
        _, where = edi_where(keys)
        rc, got, err = run(ctl, ["map", "--explain", EDI_SAMPLE])
        hit = explain_field(got, "kind")
        want = f"rule line {line} from {keys['from']}, {where}"
        if hit is None or hit[1] != want:
            problems.append(f"kind: {hit!r}, expected the line {want!r}")
    except (ValueError, OSError) as e:
        problems.append(str(e))
    out.append(("--explain (EDIFACT): a rule reading a whole segment names the segment", problems))
    return out


# ---- (d) new-mapping ----

COMMENTED = re.compile(r'^  # - to: "\?"\n  #   from: (.*?)  # "(.*)"$', re.M)


def new_mapping_cases(ctl):
    out = []
    for fmt, sample, kind in NEW_MAPPING_SAMPLES:
        name = f"new-{fmt}"
        problems = []
        with tempfile.TemporaryDirectory() as tmp:
            d = os.path.join(tmp, "set")
            os.makedirs(d)
            table = os.path.join(d, name + ".yaml")
            rc, skel, err = run(ctl, ["new-mapping", "--from", sample, "--name", name, "--kind", kind])
            if rc != 0:
                out.append((f"new-mapping ({fmt})", [f"exit {rc}: {err.strip()}"]))
                continue
            with open(table, "w", encoding="utf-8") as f:
                f.write(skel)
            rc, lint, err = run(ctl, ["lint", d])
            if rc != 0 or err or not lint.endswith(": 1 mapping tables, 0 problems\n"):
                problems.append(f"the skeleton does not lint clean: exit {rc}: {lint.strip()} {err.strip()}")
            if not re.search(r"^format: %s$" % fmt, skel, re.M) or not re.search(r"^kind: %s$" % kind, skel, re.M):
                problems.append(f"the header does not say format: {fmt}, kind: {kind}")
            rules = COMMENTED.findall(skel)
            if len(rules) < 5:
                problems.append(f"only {len(rules)} commented rules in\n{skel}")
            rc, before, err = run(ctl, ["map", "--mappings", d, "--map", name, sample])
            recs = jsonl(before) if rc == 0 else None
            if not recs or "number" in recs[0].get("document", {}):
                problems.append(f"before any rule: exit {rc}, {before[:200]!r} {err.strip()}")
            m = next((m for m in COMMENTED.finditer(skel) if not m.group(2).endswith("...")), None)
            if m is None:
                out.append((f"new-mapping ({fmt})", problems + ["no commented rule to uncomment"]))
                continue
            path, value = m.group(1), m.group(2)
            if value not in read(sample):
                problems.append(f"the skeleton shows {value!r} at {path}, which the sample does not hold")
            rule = f"  - to: document.number\n    from: {path}  # \"{value}\""
            with open(table, "w", encoding="utf-8") as f:
                f.write(skel[:m.start()] + rule + skel[m.end():])
            rc, after, err = run(ctl, ["map", "--mappings", d, "--map", name, sample])
            recs = jsonl(after) if rc == 0 else []
            got = recs[0].get("document", {}).get("number") if recs else None
            if got != value:
                problems.append(f"with `from: {path}` uncommented: document.number {got!r}, "
                                f"expected {value!r} (exit {rc}: {err.strip()})")
            # without --kind: the table does not load, and lint says why
            rc, skel2, err = run(ctl, ["new-mapping", "--from", sample, "--name", name])
            with open(table, "w", encoding="utf-8") as f:
                f.write(skel2)
            # (lint places the error at the table's first key, not at kind:)
            rc, lint, err = run(ctl, ["lint", d])
            named = [l for l in err.splitlines() if re.match(r"%s:\d+:\d+: error: .*'kind'" % re.escape(table), l)]
            if rc != 78 or not named or not re.search(r"^kind: TODO", skel2, re.M):
                problems.append(f"without --kind: lint exit {rc}, no error naming 'kind' in {table}: {err.strip()}")
        out.append((f"new-mapping ({fmt}): lints with --kind, a rule uncommented maps, 'kind' named without",
                    problems))
    # a value cut for its comment is cut between characters, a root
    # attribute's path is quoted: the skeleton still reads
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "set")
        os.makedirs(d)
        sample = os.path.join(tmp, "s.xml")
        long_text = "A" + "重庆果园港集装箱码头进闸通知" * 3
        with open(sample, "w", encoding="utf-8") as f:
            f.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<Notice version="2"><Remark>{long_text}'
                    '</Remark></Notice>\n')
        rc, skel, err = run(ctl, ["new-mapping", "--from", sample, "--name", "cut", "--kind", "status"])
        with open(os.path.join(d, "cut.yaml"), "w", encoding="utf-8") as f:
            f.write(skel)
        rc2, lint, err2 = run(ctl, ["lint", d])
        if rc or rc2:
            problems.append(f"new-mapping exit {rc}, lint exit {rc2}: {err.strip()} {err2.strip()}")
        m = re.search(r'from: Remark  # "(.*)\.\.\."', skel)
        if not m or not long_text.startswith(m.group(1)) or len(m.group(1).encode()) > 60:
            problems.append(f"the long value is not shown cut to 60 bytes: {skel}")
        if not re.search(r'^  #   from: "@version"  # "2"$', skel, re.M):
            problems.append(f"the root attribute's path is not quoted: {skel}")
    out.append(("new-mapping: long UTF-8 values and root attributes still lint", problems))
    return out


def cases(ctl):
    """[(name, [problems])]."""
    out = []
    for name, fn in (("tutorial: table translates the sample to the expected record", tutorial_translates),
                     ("tutorial: round trip through --reverse", tutorial_round_trip),
                     ("tutorial: lint alone and beside the shipped tables", tutorial_lints)):
        try:
            out.append((name, fn(ctl)))
        except (OSError, ValueError) as e:
            out.append((name, [f"{type(e).__name__}: {e}"]))
    try:
        out += walk_doc(ctl)
    except (OSError, ValueError) as e:
        out.append(("tutorial: docs/mapping-tutorial.md", [f"{type(e).__name__}: {e}"]))
    out += doc_checks_have_teeth()
    for fn in (diff_cases, explain_cases, new_mapping_cases):
        try:
            out += fn(ctl)
        except (OSError, ValueError, KeyError, IndexError) as e:
            out.append((fn.__name__, [f"{type(e).__name__}: {e}"]))
    return out


def report(results):
    """Print one line per (name, problems) case, its problems indented
    under a failure; (passed, failed). run.py prints its cases the same
    way."""
    passed = failed = 0
    for name, problems in results:
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print("     " + p.replace("\n", "\n     "))
        else:
            passed += 1
            print(f"ok   {name}")
    return passed, failed


def main():
    args = [a for a in sys.argv[1:] if a != "--doc-output"]
    ctl = os.path.abspath(args[0]) if args else os.path.join(ROOT, "bin", "eportctl")
    if "--doc-output" in sys.argv:
        walk_doc(ctl, print_output=True)
        return 0
    passed, failed = report(cases(ctl))
    print(f"authoring: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
