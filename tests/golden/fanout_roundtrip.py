#!/usr/bin/env python3
"""Fan-out round trip (docs/fan-out.md), run by tests/golden/run.py (make test).

One canonical declaration (mappings/samples/fanout/declaration.json) and
one canonical manifest (manifest.json), as the node sends them to the
agencies: customs.reference holds the submission's id. For every agency
the fan-out rules (mappings/fanout/rules.yaml) give the record's kind, the
record is written in the agency's format (`eportctl map --reverse --map
TABLE`) and read back without naming a table, as an agency's message
comes in, and:

  - the table chosen for it is the agency's, and one record of the same
    kind comes back;
  - every field the rule requires of that agency is there (`require`);
  - the shared fields the agency's format carries (PROFILES) are the
    input's: document number, customs.reference (the correlation),
    parties' roles, ids and names, goods' HS codes, descriptions,
    quantities and values, container numbers and seals, legs' means of
    transport, voyages and ends.

Then the answers: for every agency answer table (RESPONSES) and every
decision, a response quoting the submission goes out and back and keeps
customs.reference, customs.status and customs.status_text; a CUSRES is
read through `cusres` named explicitly too, as a connector may name it.

No check may be vacuous: each one is run again on altered copies of what
came back, one per value it compares (a value changed, a field or an
element dropped, an element added), and each alteration must be reported.
A check that lets one through, or has nothing to compare, fails.

usage: fanout_roundtrip.py [EPORTCTL]; prints one line per case and
"fanout: N passed, N failed". run.py imports cases() and counts them with
the golden samples.
"""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FANOUT = os.path.join("mappings", "samples", "fanout")
RULES = os.path.join("mappings", "fanout", "rules.yaml")
INPUTS = {"declaration": "declaration.json", "manifest": "manifest.json"}

# What each agency format carries of the shared fields. A table in the
# rules with no profile here fails: whoever adds an agency says what its
# format keeps. parties: the roles compared (None: every role the input
# has); goods/legs: the fields compared (None: no goods/legs at all).
PARTY = ("id", "id_agency", "name")
GOODS = ("hs_code", "description", "packages", "gross_kg", "quantity", "unit", "value", "currency")
LEGS = ("means_id", "means_name", "voyage", "from", "to")
PROFILES = {
    "cusdec": {"parties": None, "goods": GOODS, "equipment": True, "legs": LEGS},
    "xml-inspection": {"parties": None, "goods": GOODS, "equipment": True, "legs": LEGS},
    # A cargo report states no values or declared quantities (no MOA).
    "cuscar": {"parties": None, "goods": ("hs_code", "description", "packages", "gross_kg"),
               "equipment": True, "legs": LEGS},
    # Maritime safety and border control get the vessel, its agent and
    # operator, and the containers per bill: no goods lines, no traders.
    "xml-vessel-report": {"parties": ("carrier_agent", "carrier"), "goods": None,
                          "equipment": True, "legs": LEGS},
}

# Agencies' answer tables: the kind of submission each answers, the tables
# a connector may name to read it (beside the one chosen by content).
RESPONSES = {
    "cusres-submission": {"answers": "declaration", "also_read_with": ["cusres"]},
    "cusres-manifest": {"answers": "manifest", "also_read_with": ["cusres"]},
    "xml-inspection-response": {"answers": "declaration", "also_read_with": []},
    "xml-vessel-response": {"answers": "manifest", "also_read_with": []},
}
DECISIONS = ("accepted", "rejected", "inspection_required", "released", "held", "pending")


# ---- running eportctl ----

def run(ctl, args, stdin=None):
    p = subprocess.run([ctl] + args, cwd=ROOT, capture_output=True, input=stdin)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace").strip()


def out_and_back(ctl, table, recs, read_with=None):
    """Records through table in reverse, then read forward (the table
    chosen by content, or read_with): (records back, problem or None)."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
        path = f.name
    try:
        rc, local, err = run(ctl, ["map", "--reverse", "--map", table, path])
    finally:
        os.unlink(path)
    if rc != 0:
        return None, f"writing through {table} failed ({rc}): {err}"
    args = ["map"] + (["--map", read_with] if read_with else []) + ["-"]
    rc, out, err = run(ctl, args, stdin=local)
    if rc != 0:
        return None, f"reading back what {table} wrote failed ({rc}): {err}"
    back = [json.loads(l) for l in out.decode("utf-8").splitlines() if l.strip()]
    return back, None


# ---- the fan-out rules ----

def load_rules():
    """{kind: [(agency, mapping, [require paths])]} from rules.yaml."""
    text = open(os.path.join(ROOT, RULES), encoding="utf-8").read()
    try:
        import yaml
        doc = yaml.safe_load(text)
    except ImportError:
        doc = _mini_yaml_rules(text)
    out = {}
    for rule in doc.get("rules") or []:
        out[rule["kind"]] = [(a["agency"], a["mapping"], list(a.get("require") or []))
                             for a in rule.get("agencies") or []]
    return out


def _mini_yaml_rules(text):
    """The rules file's shape only (kind, agency, mapping, require as a
    block or flow list), for a Python without PyYAML."""
    rules, rule, agency, in_req = [], None, None, False
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        s = line.strip()
        if not s:
            continue
        m = re.match(r"-?\s*(kind|agency|mapping|require):\s*(.*)$", s)
        if m and m.group(1) == "kind":
            rule = {"kind": m.group(2).strip(), "agencies": []}
            rules.append(rule)
            in_req = False
        elif m and m.group(1) == "agency":
            agency = {"agency": m.group(2).strip(), "require": []}
            rule["agencies"].append(agency)
            in_req = False
        elif m and m.group(1) == "mapping":
            agency["mapping"] = m.group(2).strip()
        elif m and m.group(1) == "require":
            v = m.group(2).strip()
            in_req = not v
            if v.startswith("["):
                agency["require"] = [x.strip().strip("\"'") for x in v.strip("[]").split(",") if x.strip()]
        elif in_req and s.startswith("- "):
            agency["require"].append(s[2:].strip().strip("\"'"))
    return {"rules": rules}


def missing(rec, path):
    """Where the rules' path is missing in rec (docs/fan-out.md: a field
    present and not empty; [] in every element, and one at least;
    [k=v] in the elements whose k is v, and one at least)."""
    steps = path.split(".")

    def empty(v):
        return v is None or v == "" or v == [] or v == {}

    def walk(node, i, where):
        if i == len(steps):
            return [] if not empty(node) else [where]
        m = re.match(r"^([a-z0-9_]+)(?:\[(\]|([a-z0-9_]+)=([^\]]+)\]))?$", steps[i])
        if not m or not isinstance(node, dict):
            return [where or path]
        name, sel, k, v = m.group(1), m.group(2), m.group(3), m.group(4)
        here = f"{where}.{name}" if where else name
        child = node.get(name)
        if sel is None:
            return walk(child, i + 1, here) if not empty(child) else [here]
        items = child if isinstance(child, list) else []
        if k:
            items = [(n, x) for n, x in enumerate(items, 1) if isinstance(x, dict) and x.get(k) == v]
            if not items:
                return [f"{here}[{k}={v}]"]
        else:
            items = list(enumerate(items, 1))
            if not items:
                return [f"{here}[]"]
        lost = []
        for n, x in items:
            lost += walk(x, i + 1, f"{here}[{n}]")
        return lost

    return walk(rec, 0, "")


# ---- shared fields ----

def project(rec, profile):
    """{key: (value, where in rec)} of the shared fields profile names.
    Keys are stable across formats (parties by role and rank in it)."""
    out = {}

    def put(key, value, loc):
        if value is not None:
            out[key] = (value, loc)

    put(("document.number",), rec.get("document", {}).get("number"), ("document", "number"))
    put(("customs.reference",), rec.get("customs", {}).get("reference"), ("customs", "reference"))
    roles = profile["parties"]
    rank = {}
    for i, p in enumerate(rec.get("parties", [])):
        role = p.get("role")
        if roles is not None and role not in roles:
            continue
        n = rank[role] = rank.get(role, 0) + 1
        put(("parties", role, n), role, ("parties", i, "role"))
        for f in PARTY:
            put(("parties", role, n, f), p.get(f), ("parties", i, f))
    for group, fields in (("goods", profile["goods"]), ("legs", profile["legs"])):
        for i, x in enumerate(rec.get(group, []) if fields else []):
            put((group, i + 1), True, (group, i))
            for f in fields:
                put((group, i + 1, f), x.get(f), (group, i, f))
    for i, e in enumerate(rec.get("equipment", []) if profile["equipment"] else []):
        put(("equipment", i + 1, "number"), e.get("number"), ("equipment", i, "number"))
        put(("equipment", i + 1, "seals"), e.get("seals"), ("equipment", i, "seals"))
    return out


def keyname(key):
    return ".".join(str(k) for k in key)


def diff(want, got):
    """The keys whose values differ between two projections."""
    return [keyname(k) for k in sorted(set(want) | set(got), key=str)
            if (want.get(k) or (None,))[0] != (got.get(k) or (None,))[0]]


# ---- checks that must be able to fail ----

def _at(rec, loc):
    node = rec
    for k in loc[:-1]:
        node = node[k]
    return node, loc[-1]


def _changed(v):
    if isinstance(v, bool):
        return not v
    if isinstance(v, (int, float)):
        return v + 1
    if isinstance(v, list):
        return v + ["X"]
    return str(v) + "X"


def alterations(back, proj, profile):
    """Copies of back, each with one compared value changed or dropped,
    or one compared array element dropped or added: (what, copy)."""
    for key, (value, loc) in sorted(proj.items(), key=lambda kv: str(kv[0])):
        for how in ("changed", "dropped"):
            b = copy.deepcopy(back)
            node, k = _at(b, loc)
            if how == "changed" and isinstance(node, list):
                continue  # an element's presence: dropped only
            if how == "changed":
                node[k] = _changed(node[k])
            elif isinstance(node, list):
                del node[k]
            else:
                node.pop(k, None)
            yield f"{keyname(key)} {how}", b
    for group in compared_groups(profile):
        items = [x for x in back.get(group, [])
                 if group != "parties" or profile["parties"] is None or x.get("role") in profile["parties"]]
        if items:
            b = copy.deepcopy(back)
            b[group].append(copy.deepcopy(items[-1]))
            yield f"{group}: an element added", b


def compared_groups(profile):
    """The arrays a profile compares: parties always (None: every role)."""
    return [g for g in ("parties", "goods", "legs", "equipment")
            if profile[g] or (g == "parties" and profile[g] is None)]


class Check:
    """A named check: run(back records) -> problems; alter(back records)
    -> the altered copies it must report."""

    def __init__(self, name, run, alter):
        self.name, self.run, self.alter = name, run, alter


def verify(checks, back):
    """Problems of the checks on back, then of the checks themselves."""
    problems = []
    for c in checks:
        found = c.run(back)
        problems += [f"{c.name}: {p}" for p in found]
        if found:
            continue
        n = 0
        for what, altered in c.alter(back):
            n += 1
            if not c.run(altered):
                problems.append(f"{c.name}: cannot fail: {what} went unnoticed")
        if n == 0:
            problems.append(f"{c.name}: cannot fail: nothing to compare")
    return problems


def one_record_checks(want, table, kind):
    """The record came back once, of its kind, through table."""
    def run_(back):
        p = []
        if len(back) != 1:
            p.append(f"{len(back)} records back, expected 1")
        for r in back:
            if r.get("source", {}).get("mapping") != table:
                p.append(f"read back through {r.get('source', {}).get('mapping')}, not {table}")
            if r.get("kind") != kind:
                p.append(f"kind {r.get('kind')}, expected {kind}")
        return p

    def alter(back):
        b = copy.deepcopy(back)
        b.append(copy.deepcopy(b[0]))
        yield "a record added", b
        yield "no record", []
        b = copy.deepcopy(back)
        b[0]["source"]["mapping"] = table + "-other"
        yield "another table", b
        b = copy.deepcopy(back)
        b[0]["kind"] = "waybill" if kind != "waybill" else "status"
        yield "another kind", b

    return Check("came back", run_, alter)


def shared_check(want, profile):
    wp = project(want, profile)

    def run_(back):
        if len(back) != 1:
            return ["no single record to compare"]
        if not wp:
            return ["the input has none of the shared fields"]
        d = diff(wp, project(back[0], profile))
        return [f"differs from the input in {', '.join(d)}"] if d else []

    def alter(back):
        for what, b in alterations(back[0], project(back[0], profile), profile):
            yield what, [b]

    return Check("shared fields (" + ", ".join(["document.number", "customs.reference"] +
                                               compared_groups(profile)) + ")", run_, alter)


def require_check(paths):
    def run_(back):
        if len(back) != 1:
            return ["no single record to check"]
        lost = [w for p in paths for w in missing(back[0], p)]
        return [f"lacks {', '.join(lost)}, which the agency requires"] if lost else []

    def alter(back):
        for path in paths:
            b = copy.deepcopy(back[0])
            # drop the path's last field wherever the path reaches it
            steps = path.split(".")
            nodes = [b]
            for s in steps[:-1]:
                m = re.match(r"^([a-z0-9_]+)(?:\[(\]|([a-z0-9_]+)=([^\]]+)\]))?$", s)
                nxt = []
                for n in nodes:
                    c = n.get(m.group(1)) if isinstance(n, dict) else None
                    if m.group(2) is None:
                        nxt.append(c)
                    else:
                        nxt += [x for x in (c or []) if not m.group(3) or
                                (isinstance(x, dict) and x.get(m.group(3)) == m.group(4))]
                nodes = [n for n in nxt if n is not None]
            for n in nodes:
                if isinstance(n, dict):
                    n.pop(steps[-1], None)
            yield f"{path} dropped", [b]

    return Check("required fields (" + ", ".join(paths) + ")" if paths else "required fields", run_, alter)


def answer_check(want):
    keys = ("reference", "status", "status_text")

    def run_(back):
        if len(back) != 1:
            return [f"{len(back)} records back, expected 1"]
        got = back[0].get("customs", {})
        d = [k for k in keys if got.get(k) != want["customs"].get(k)]
        return [f"customs.{', customs.'.join(d)} differ"] if d else []

    def alter(back):
        for k in keys:
            for how in ("changed", "dropped"):
                b = copy.deepcopy(back)
                c = b[0].setdefault("customs", {})
                if how == "changed":
                    c[k] = str(c.get(k)) + "X"
                else:
                    c.pop(k, None)
                yield f"customs.{k} {how}", b

    return Check("answer keeps reference, status and text", run_, alter)


# ---- the cases ----

def load_input(kind):
    with open(os.path.join(ROOT, FANOUT, INPUTS[kind]), encoding="utf-8") as f:
        rec = json.load(f)
    if rec.get("kind") != kind or not rec.get("customs", {}).get("reference"):
        raise ValueError(f"{INPUTS[kind]}: not a {kind} record with customs.reference")
    return rec


def cases(ctl):
    """[(name, [problems])], one per agency of each kind and per answer table."""
    out = []
    try:
        rules = load_rules()
    except Exception as e:  # a broken rules file is a failed case, not a crash
        return [(f"fanout rules {RULES}", [f"cannot read: {e}"])]
    subs = {}
    for kind in INPUTS:
        name = f"fanout {kind}"
        try:
            want = subs[kind] = load_input(kind)
        except Exception as e:
            out.append((name, [str(e)]))
            continue
        if not rules.get(kind):
            out.append((name, [f"{RULES} has no agency for {kind}"]))
            continue
        for agency, table, require in rules[kind]:
            case = f"{name} -> {agency} ({table})"
            profile = PROFILES.get(table)
            if profile is None:
                out.append((case, [f"no shared-field profile for table {table} in {__file__}"]))
                continue
            try:
                back, err = out_and_back(ctl, table, [want])
            except (OSError, ValueError) as e:
                back, err = None, f"{type(e).__name__}: {e}"
            if err:
                out.append((case, [err]))
                continue
            checks = [one_record_checks(want, table, kind), require_check(require),
                      shared_check(want, profile)]
            out.append((case, verify(checks, back)))
    for table, spec in RESPONSES.items():
        case = f"fanout answer ({table})"
        sub = subs.get(spec["answers"])
        if sub is None:
            out.append((case, [f"no {spec['answers']} submission to answer"]))
            continue
        problems = []
        for n, decision in enumerate(DECISIONS, 1):
            want = {"kind": "response",
                    "document": {"type": "customs_response", "number": f"FANOUT-ANSWER-{n}"},
                    "customs": {"reference": sub["customs"]["reference"], "status": decision,
                                "status_text": f"{decision}: line one\nline two"}}
            for read_with in [None] + spec["also_read_with"]:
                try:
                    back, err = out_and_back(ctl, table, [want], read_with)
                except (OSError, ValueError) as e:
                    back, err = None, f"{type(e).__name__}: {e}"
                how = f"{decision}, read through {read_with or 'the table chosen'}"
                if err:
                    problems.append(f"{how}: {err}")
                    continue
                checks = [one_record_checks(want, read_with or table, "response"), answer_check(want)]
                problems += [f"{how}: {p}" for p in verify(checks, back)]
        out.append((case, problems))
    return out


def main():
    ctl = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "bin", "eportctl")
    passed = failed = 0
    for name, problems in cases(ctl):
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print("     " + p)
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"fanout: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
