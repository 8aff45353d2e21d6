"""ledgerlib: the movement ledger seen through eportctl, for the clearance
tests: declarations written as canonical JSON, `eportctl declare / mv /
trace / verify / alerts` run on a node and their output parsed, and waits
on what a node's ledger has applied. Python stdlib only."""
import itertools
import json
import os
import re
import subprocess
import time

from fedlib import EPORTCTL, ROOT, FedError, check, wait_for

DATA = os.path.join(ROOT, "tests", "fed", "data")
SAMPLES = os.path.join(ROOT, "mappings", "samples")

_serial = itertools.count(int(time.time()) % 500000)


def iso6346(owner, serial):
    """A container number with a right ISO 6346 check digit."""
    vals, n = {}, 10
    for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if n % 11 == 0:
            n += 1
        vals[c], n = n, n + 1
    body = f"{owner}{serial % 1000000:06d}"
    total = sum((vals[c] if c.isalpha() else int(c)) << i for i, c in enumerate(body))
    return body + str(total % 11 % 10)


def containers(owner, n, seal_prefix):
    """n fresh (number, [seal]) pairs: unique across a test run."""
    out = []
    for _ in range(n):
        s = next(_serial)
        out.append((iso6346(owner, s), [f"{seal_prefix}{s:07d}"]))
    return out


def declaration(path, doc_no, ctrs, modes, pkgs=40, declarant="91500000MA5U7QX45Q"):
    """A canonical declaration record (kind declaration) in path."""
    rec = {
        "kind": "declaration",
        "source": {"format": "json", "message_type": "Declaration", "sender": "FEDTEST"},
        "document": {"type": "customs_declaration", "number": doc_no, "function": "original"},
        "parties": [{"role": "declarant", "name": "FED TEST DECLARANT CO., LTD.",
                     "id": declarant, "id_agency": "USCC", "country": "CN"}],
        "legs": [{"seq": i + 1, "mode": m} for i, m in enumerate(modes)],
        "equipment": [{"number": c, "kind": "container", "seals": s} for c, s in ctrs],
        "goods": [{"seq": 1, "hs_code": "847130", "description": "LAPTOP COMPUTERS",
                   "packages": pkgs, "package_type": "CT"}],
        "totals": {"packages": pkgs},
    }
    with open(path, "w") as f:
        json.dump(rec, f)
    return path


def ctl(node, *args, timeout=60):
    """eportctl ARGS -c <node's config>: CompletedProcess (never raises)."""
    argv = [EPORTCTL, args[0], "-c", node.conf, *args[1:]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def must(r, what):
    check(r.returncode == 0, f"{what}: exit {r.returncode}: {r.stderr.strip()[-600:]}")
    return r.stdout


def declare(node, files, itin, kind=None, extra=(), ok=True):
    """(ref, id, CompletedProcess); ref None when refused."""
    args = ["declare", "--canonical", "--itin", ",".join(itin), *extra]
    if kind:
        args += ["--kind", kind]
    r = ctl(node, *args, *files)
    m = re.search(r"ref=(\S+) id=(\S+)", r.stdout)
    if ok:
        must(r, f"declare at {node.id}")
    return (m.group(1), m.group(2), r) if m else (None, None, r)


def mv(node, event, ref, *args, ok=True):
    r = ctl(node, "mv", event, ref, *args)
    if ok:
        must(r, f"mv {event} {ref} at {node.id}")
    return r


def mv_retry(node, event, ref, *args, timeout=30):
    """mv until it is not refused for a reason that passes (the claim not
    settled yet, the movement not arrived here yet)."""
    last = [None]

    def go():
        r = mv(node, event, ref, *args, ok=False)
        last[0] = r
        if r.returncode == 0:
            return r
        if r.returncode in (3, 65) and re.search(r"not settled|not known|waiting", r.stderr):
            return None
        raise FedError(f"mv {event} {ref} at {node.id}: exit {r.returncode}: "
                       f"{r.stderr.strip()[-400:]}")
    try:
        return wait_for(go, timeout, f"{node.id} to accept mv {event} {ref}", interval=0.3)
    except FedError as e:
        why = last[0].stderr.strip()[-300:] if last[0] else ""
        raise FedError(f"{e}; last: {why}") from None


class Journey:
    """`eportctl trace REF` parsed: header fields, steps, stops, extras."""

    def __init__(self, text):
        self.text, self.head, self.steps, self.stops, self.lines = text, {}, [], {}, []
        for line in text.splitlines():
            if line.startswith("movement "):
                self.head = dict(kv.split("=", 1) for kv in line.split()[2:] if "=" in kv)
                self.ref = line.split()[1]
                continue
            f = line.split()
            if len(f) >= 5 and f[0].isdigit():
                self.steps.append({"n": int(f[0]), "at": f[1], "region": f[2],
                                   "event": f[3], "id": f[4], "rest": " ".join(f[5:])})
            elif len(f) >= 3 and f[0] == "stop":
                self.stops[f[1]] = f[2]
            else:
                self.lines.append(line.strip())

    @property
    def phase(self):
        return self.head.get("phase")

    def events(self):
        return [s["event"] for s in self.steps]

    def path(self):
        """What every node must agree on: (id, event, region) in order."""
        return [(s["id"], s["event"], s["region"]) for s in self.steps]

    def count(self, event):
        return sum(1 for s in self.steps if s["event"] == event)


def trace(node, what):
    """Journey of `what` at node, or None when not known there."""
    r = ctl(node, "trace", what)
    if r.returncode != 0:
        return None
    return Journey(r.stdout)


def wait_phase(node, ref, phase, timeout=30, events=None):
    """Until node's ledger holds ref in phase (and with `events` applied)."""
    def ok():
        j = trace(node, ref)
        if j and j.phase == phase and (events is None or len(j.steps) >= events):
            return j
        return None
    last = trace(node, ref)
    try:
        return wait_for(ok, timeout, f"{ref} to be {phase} at {node.id}", interval=0.2)
    except FedError as e:
        last = trace(node, ref)
        raise FedError(f"{e} (it is {last.phase if last else 'unknown'}: "
                       f"{last.events() if last else []})") from None


def wait_event(node, ref, event, timeout=30):
    return wait_for(lambda: (lambda j: j if j and event in j.events() else None)(trace(node, ref)),
                    timeout, f"{event} of {ref} at {node.id}", interval=0.2)


def alerts(node, kind=None):
    """[(kind, ref, region, line)] newest first."""
    r = ctl(node, "alerts", *(["--kind", kind] if kind else []))
    must(r, f"alerts at {node.id}")
    out = []
    for line in r.stdout.splitlines():
        d = dict(m.groups() for m in re.finditer(r'(\w+)=("[^"]*"|\S+)', line))
        out.append((d.get("kind"), d.get("ref"), d.get("region"), line))
    return out


def verify(node, ref):
    return ctl(node, "verify", ref)


def agree(nodes, ref, phase):
    """Every node in nodes holds ref in phase with the same journey."""
    js = {n.id: wait_phase(n, ref, phase) for n in nodes}
    first = next(iter(js.values()))
    want = len(first.steps)
    for nid, j in js.items():
        if len(j.steps) != want:
            j = wait_phase(next(n for n in nodes if n.id == nid), ref, phase, events=want)
            js[nid] = j
        check(j.path() == first.path(),
              f"{ref}: journey at {nid} {j.path()} differs from {first.path()}")
    return js
