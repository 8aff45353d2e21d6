"""eportctl over a node's HTTP API, against real eportd processes: CQ with
an http connector `rail` (mapping iftmin-rail, forward [SH]) and its
clients, SH its peer. `eportctl submit` of a good IFTMIN prints the ids and
`eportctl status ID` shows them forwarded to SH with SH's receipts; a
malformed file exits 65 with the `FILE:LINE:COL: error:` lines; no key, an
unknown key and a client not allowed the kind exit 77; an unknown id 66, a
node not listening 69; `eportctl tail` sees the accepted and dispatched
events, and follows new ones; `eportctl key` hashes as the node does; a
SIGHUP restarts the connectors on the new configuration. Then
a burst of records with CQ killed -9 while it dispatches them and started
again: each arrives at SH exactly once."""
import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import (EPORTCTL, ROOT, Fed, FedError, Inbox, check, free_port,  # noqa: E402
                    port_open, wait_for)
from fedrun import Group, main  # noqa: E402

PAIR = {"CQ": ("CQ", ["SH"], {}), "SH": ("SH", ["CQ"], {})}
KEY = "test-key-rail-0123456789"
KEY_LIMITED = "test-key-status-only-987654"
KEY_NEW = "test-key-added-by-reload-42"
SAMPLE = os.path.join(ROOT, "mappings/samples/iftmin-rail/cq-rail-01.edi")
BULK_FILES, BULK_MSGS = 4, 256  # records of the kill -9 burst: 1,024


def sha(k):
    return hashlib.sha256(k.encode()).hexdigest()


def connectors_yaml():
    return "\n".join([
        "connectors:",
        "  - name: rail",
        "    type: http",
        "    mapping: iftmin-rail",
        "    forward: [SH]",
        "clients:",
        "  - id: cq-rail",
        "    connector: rail",
        f"    key_sha256: {sha(KEY)}",
        "    kinds: [waybill, status]",
        '    parties: ["*"]',
        "  - id: cq-status-only",
        "    connector: rail",
        f"    key_sha256: {sha(KEY_LIMITED)}",
        "    kinds: [status]",
        '    parties: ["*"]',
    ])


def make():
    return Fed(PAIR)


def start(fed):
    cq = fed["CQ"]
    with open(cq.conf) as f:
        text = f.read()
    check("connectors: []" in text, "fedlib's config has no 'connectors: []' line")
    with open(cq.conf, "w") as f:
        f.write(text.replace("connectors: []", connectors_yaml()))
    fed.start_all()
    wait_for(lambda: port_open(cq.http), 15, f"CQ's HTTP API on {cq.http}")
    fed.url = f"http://127.0.0.1:{cq.http}"
    fed.home = os.path.join(fed.dir, "home")  # no user's config file here
    os.makedirs(fed.home)


def ctl(fed, *args, key=KEY, node=True, timeout=60, stdin=None):
    """eportctl ARGS [--node URL] [--key KEY]: CompletedProcess."""
    argv = [EPORTCTL, *args]
    if node:
        argv += ["--node", fed.url]
    if key:
        argv += ["--key", key]
    env = {k: v for k, v in os.environ.items()
           if k not in ("EPORT_NODE", "EPORT_KEY", "XDG_CONFIG_HOME")}
    env["HOME"] = fed.home
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          input=stdin, env=env)


def submitted_ids(r, what):
    check(r.returncode == 0, f"{what}: exit {r.returncode}: {r.stderr.strip()[-500:]}")
    lines = [l.split() for l in r.stdout.splitlines() if l.strip()]
    check(lines and all(len(l) >= 2 and len(l[0]) == 26 for l in lines),
          f"{what}: not 'ID KIND' lines: {r.stdout!r}")
    return [l[0] for l in lines]


def status_json(fed, mid):
    r = ctl(fed, "status", "--json", mid)
    check(r.returncode == 0, f"status {mid}: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


# ---- the tests ----------------------------------------------------------


def test_key(fed):
    """`key new` prints a key and the hash of it; `key hash` hashes as the
    node does (SHA-256, lower-case hex), also reading the key on stdin."""
    r = ctl(fed, "key", "new", key=None, node=False)
    check(r.returncode == 0, f"key new: exit {r.returncode}: {r.stderr}")
    kv = dict(l.split(": ", 1) for l in r.stdout.splitlines())
    check(len(kv.get("key", "")) >= 40, f"key new printed {r.stdout!r}")
    check(kv.get("key_sha256") == sha(kv["key"]), "key new: key_sha256 is not the key's")
    r = ctl(fed, "key", "hash", KEY, key=None, node=False)
    check(r.stdout.strip() == f"key_sha256: {sha(KEY)}", f"key hash printed {r.stdout!r}")
    r = ctl(fed, "key", "hash", key=None, node=False, stdin=KEY + "\n")
    check(r.stdout.strip() == f"key_sha256: {sha(KEY)}", f"key hash (stdin) printed {r.stdout!r}")


def test_submit_good(fed):
    """Three IFTMIN messages: three ids; each forwarded to SH, which
    receipts it (`status` human and --json, and from the config file)."""
    ids = submitted_ids(ctl(fed, "submit", SAMPLE), "submit good")
    check(len(ids) == 3, f"3 messages in the sample, {len(ids)} ids")
    fed.good_ids = ids

    def receipted():
        js = [status_json(fed, i) for i in ids]
        return all(j.get("status") == "forwarded" and j.get("receipts") for j in js) and js
    js = wait_for(receipted, 30, "the 3 messages forwarded and receipted by SH")
    for j in js:
        check(j["dests"] == "SH" and j["kind"] == "waybill" and j["conn"] == "rail",
              f"status of {j['id']}: {j}")
        rc = j["receipts"][0]
        check(rc["from"] == "SH" and rc["status"] == "stored", f"receipt {rc}")
    # human text, with node and key from ~/.config/eport/config.yaml
    cfgdir = os.path.join(fed.home, ".config", "eport")
    os.makedirs(cfgdir, exist_ok=True)
    with open(os.path.join(cfgdir, "config.yaml"), "w") as f:
        f.write(f"node: {fed.url}\nkey: {KEY}\n")
    r = ctl(fed, "status", ids[0], key=None, node=False)
    os.remove(os.path.join(cfgdir, "config.yaml"))
    check(r.returncode == 0 and "forwarded" in r.stdout and "SH stored" in r.stdout,
          f"status (config file): exit {r.returncode}: {r.stdout!r} {r.stderr!r}")
    inbox = Inbox(fed["SH"])
    inbox.wait(3, 30)
    fwd = {j["fwd"] for j in js}
    check({e[1] for e in inbox.entries} == fwd, "SH's inbox is not the 3 forwarded ids")


def test_submit_refused(fed):
    """Malformed 65 with its error lines, oversized 65 (413); no key, an
    unknown key and a client not allowed waybills 77; an unknown id 66;
    nobody listening 69."""
    bad = os.path.join(fed.dir, "bad.edi")
    with open(SAMPLE, encoding="utf-8") as f:
        text = f.read()
    with open(bad, "w", encoding="utf-8") as f:
        f.write(text.replace("DTM+137:202403051402:203", "DTM+137:2024030514XX:203"))
    r = ctl(fed, "submit", bad)
    check(r.returncode == 65, f"malformed: exit {r.returncode}, not 65: {r.stderr}")
    check(f"{bad}:5:1: error: segment 3 (DTM)" in r.stderr,
          f"malformed: no FILE:LINE:COL error line: {r.stderr!r}")
    big = os.path.join(fed.dir, "big.edi")  # over api.max_body_bytes (4 MiB)
    with open(big, "w", encoding="utf-8") as f:
        f.write(text * (5 * 2**20 // len(text.encode()) + 1))
    r = ctl(fed, "submit", big)
    check(r.returncode == 65 and "HTTP 413" in r.stderr,
          f"oversized: exit {r.returncode}, not 65 with HTTP 413: {r.stderr}")
    for key, why in ((None, "no key"), ("wrong-key-000", "an unknown key"),
                     (KEY_LIMITED, "a client not allowed waybills")):
        r = ctl(fed, "submit", SAMPLE, key=key)
        check(r.returncode == 77, f"{why}: exit {r.returncode}, not 77: {r.stderr}")
    check("may not send waybill" in r.stderr, f"403 without its reason: {r.stderr!r}")
    r = ctl(fed, "status", "01J0000000000000000000000A")
    check(r.returncode == 66, f"unknown id: exit {r.returncode}, not 66: {r.stderr}")
    r = subprocess.run([EPORTCTL, "status", "--node", f"127.0.0.1:{free_port()}",
                        "01J0000000000000000000000A"], capture_output=True,
                       text=True, timeout=30, env=dict(os.environ, HOME=fed.home))
    check(r.returncode == 69, f"nobody listening: exit {r.returncode}, not 69: {r.stderr}")


def test_tail(fed):
    """The feed holds accepted and dispatched of the good submission; a
    tail following it sees a new submission's two events as they come."""
    r = ctl(fed, "tail", "--after", "0", "--no-follow", "--json")
    check(r.returncode == 0, f"tail: exit {r.returncode}: {r.stderr}")
    evs = [json.loads(l) for l in r.stdout.splitlines()]
    for i in fed.good_ids:
        got = [e["ev"] for e in evs if e.get("id") == i]
        check(got[:2] == ["accepted", "dispatched"], f"feed events of {i}: {got}")
    follow = subprocess.Popen(
        [EPORTCTL, "tail", "--lines", "0", "--count", "2", "--node", fed.url,
         "--key", KEY], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, HOME=fed.home))
    try:
        time.sleep(1.0)  # it has caught up and waits
        xa = os.path.join(ROOT, "mappings/samples/iftmin-rail/xa-rail-02.edi")
        new = submitted_ids(ctl(fed, "submit", xa), "submit xa")
        out, err = follow.communicate(timeout=30)
    finally:
        follow.kill()
    lines = out.splitlines()
    check(follow.returncode == 0 and len(lines) == 2,
          f"tail --count 2: exit {follow.returncode}: {out!r} {err!r}")
    check(" accepted " in lines[0] and f"id={new[0]}" in lines[0], f"first: {lines[0]!r}")
    check(" dispatched " in lines[1] and "status=forwarded" in lines[1], f"second: {lines[1]!r}")


def test_reload(fed):
    """SIGHUP with a client added to the config: the connectors restart on
    the new configuration (the new key is taken) on the same port, and
    the node goes on dispatching."""
    cq = fed["CQ"]
    r = ctl(fed, "submit", SAMPLE, key=KEY_NEW)
    check(r.returncode == 77, f"a key not configured yet: exit {r.returncode}")
    with open(cq.conf) as f:
        text = f.read()
    with open(cq.conf, "w") as f:
        f.write(text.replace("clients:\n", "clients:\n  - id: cq-new\n"
                             "    connector: rail\n"
                             f"    key_sha256: {sha(KEY_NEW)}\n"
                             "    kinds: [waybill]\n"
                             '    parties: ["*"]\n', 1))
    cq.reload()
    wait_for(lambda: ctl(fed, "status", fed.good_ids[0]).returncode == 0
             and "connectors_restarted" in cq.log_text(), 15,
             "CQ to restart its connectors after SIGHUP")
    ids = submitted_ids(ctl(fed, "submit", SAMPLE, key=KEY_NEW), "submit (new key)")
    wait_for(lambda: status_json(fed, ids[0]).get("status") == "forwarded", 30,
             "a record of the new client forwarded")


def bulk_file(fed, n, tag):
    """One IFTMIN interchange of n messages (distinct document numbers)."""
    with open(SAMPLE, encoding="utf-8") as f:
        src = f.read().split("\n")
    out = src[:2]
    for i in range(n):
        out.append("\n".join(src[2:45]).replace("CQX24030601", f"CX{tag}{i:06d}")
                   .replace("CQ24030601", f"CQ{tag}{i:06d}"))
    out.append(f"UNZ+{n}+CQX0305160201'")
    return ("\n".join(out) + "\n").encode()


def post(fed, body):
    c = http.client.HTTPConnection("127.0.0.1", fed["CQ"].http, timeout=60)
    c.request("POST", "/v1/messages", body, {"Authorization": f"Bearer {KEY}"})
    r = c.getresponse()
    data = r.read()
    c.close()
    check(r.status == 202, f"bulk POST: {r.status} {data[:300]!r}")
    return [m["id"] for m in json.loads(data)["messages"]]


def test_forward_once_kill9(fed):
    """1,024 records accepted in a burst; CQ killed -9 as soon as its
    dispatch has started (some done, some not), started again: SH holds
    each record once, under the forwarded id its status names."""
    cq, r = fed["CQ"], fed["CQ"].redis
    bodies = [bulk_file(fed, BULK_MSGS, f"K{k}") for k in range(BULK_FILES)]
    ids, lock = [], threading.Lock()

    def send(b):
        got = post(fed, b)
        with lock:
            ids.extend(got)
    before = int(r.cmd("XLEN", "eport:CQ:v1:local") or 0)
    check(before == 0, f"v1:local holds {before} before the burst")
    wait_for(lambda: cq.awaiting() == 0, 30, "SH's receipts for the other tests' records")
    inbox = Inbox(fed["SH"])
    inbox.poll()
    earlier = len(inbox.entries)  # the other tests' records
    pos0 = r.cmd("GET", "eport:CQ:v1:local:pos")
    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(len(ids) == BULK_FILES * BULK_MSGS, f"{len(ids)} ids accepted")
    # the kill: once a batch's forwards are queued but before it is marked
    # dispatched, when the poll catches that; else once one batch is done
    script = ("return {#redis.call('KEYS', ARGV[1]), redis.call('XLEN', KEYS[1]),"
              " redis.call('GET', KEYS[2])}")

    def mid_batch():
        seen, left, pos = r.cmd("EVAL", script, 2, "eport:CQ:v1:local",
                                "eport:CQ:v1:local:pos", "eport:CQ:v1:seen:*")
        ahead = seen - earlier - (len(ids) - left)
        return ahead > 0 or (pos != pos0 and time.monotonic() > give_up)
    give_up = time.monotonic() + 5
    wait_for(mid_batch, 30, "CQ to dispatch the burst", interval=0.001)
    cq.kill()
    pending = int(r.cmd("XLEN", "eport:CQ:v1:local") or 0)
    sent = len(r.cmd("KEYS", "eport:CQ:v1:seen:*"))  # forwards submitted
    cq.start()
    wait_for(lambda: port_open(cq.http), 15, "CQ's HTTP API again")
    wait_for(lambda: int(r.cmd("XLEN", "eport:CQ:v1:local") or 0) == 0, 60,
             "CQ to dispatch everything after the restart")
    fwd = {}
    c = http.client.HTTPConnection("127.0.0.1", cq.http, timeout=30)
    for i in ids:
        c.request("GET", f"/v1/messages/{i}", headers={"Authorization": f"Bearer {KEY}"})
        j = json.loads(c.getresponse().read())
        check(j.get("status") == "forwarded", f"{i}: {j}")
        fwd[i] = j["fwd"]
    c.close()
    check(len(set(fwd.values())) == len(ids), "two messages share a forwarded id")
    total = earlier + len(ids)
    inbox.wait(total, 60)
    time.sleep(1.0)  # anything past the count would be a duplicate
    inbox.poll()
    got = [e[1] for e in inbox.entries]
    check(len(got) == len(set(got)), f"{len(got) - len(set(got))} records arrived twice at SH")
    check(len(got) == total, f"SH holds {len(got)} records, {total} were sent")
    missing = set(fwd.values()) - set(got)
    check(not missing, f"{len(missing)} forwarded records never arrived at SH")
    # forwards submitted but not marked dispatched when killed: sent again
    # after the restart, refused by the store as sent before
    again = sent - earlier - (len(ids) - pending)
    print(f"fed: forward-once-kill9: killed with {pending} of {len(ids)} not "
          f"dispatched, {again} of them forwarded already", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main([Group(make, start, [test_key, test_submit_good, test_submit_refused,
                                       test_tail, test_reload, test_forward_once_kill9])]))
