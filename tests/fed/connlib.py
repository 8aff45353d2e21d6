"""connlib: what the connectors' federation tests share (test_filedrop,
test_zmq_ingress, test_outbound, tests/bench/filedrop.py), on top of
fedlib: one node with connectors and clients in its configuration, files
dropped the way docs/connectors.md tells writers to, what the node stored
read back from its Redis, and a webhook target that can be down.

    with Fed(ONE) as fed:
        cq = fed["CQ"]
        configure(cq, [{"name": "edi", "type": "filedrop", "dir": inbox,
                        "client": "edi"}], [client("edi", "edi")])
        start(cq)
        drop(inbox, "a.json", waybill(1))

Python stdlib only (the ZeroMQ tests import zmq and msgpack themselves).
"""
import hashlib
import http.client
import http.server
import json
import os
import threading

from fedlib import check, port_open, wait_for

# One node, no peers: the connectors need nothing else.
ONE = {"CQ": ("CQ", [], {})}


def key_hash(key):
    """What clients[].key_sha256 holds for an API key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _flow(v):
    """v as YAML flow text (dicts, lists, numbers, strings quoted)."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def client(cid, connector, key=None, kinds=("*",), parties=("*",)):
    c = {"id": cid, "connector": connector, "kinds": list(kinds),
         "parties": list(parties)}
    if key:
        c["key_sha256"] = key_hash(key)
    return c


def configure(node, connectors, clients=(), api=None):
    """Rewrites node's configuration with these connectors, clients and
    api keys (fedlib writes `connectors: []`)."""
    with open(node.conf) as f:
        text = f.read()
    block = "connectors:\n" + "".join(f"  - {_flow(c)}\n" for c in connectors)
    block += ("clients:\n" + "".join(f"  - {_flow(c)}\n" for c in clients)
              if clients else "clients: []\n")
    if api:
        block += f"api: {_flow(api)}\n"
    check("connectors: []\n" in text, f"{node.conf}: no 'connectors: []' to replace")
    with open(node.conf, "w") as f:
        f.write(text.replace("connectors: []\n", block))


def api(node, method, path, key, data=None, headers=None):
    """One request to node's HTTP API with API key key: (status, the JSON
    answer, or {"raw": text} when it is not JSON)."""
    c = http.client.HTTPConnection("127.0.0.1", node.http, timeout=30)
    c.request(method, path, data, {"Authorization": f"Bearer {key}", **(headers or {})})
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        return r.status, json.loads(raw or b"{}")
    except ValueError:
        return r.status, {"raw": raw.decode(errors="replace")}


def start(node):
    """Starts eportd and waits for its HTTP API too (the connectors run)."""
    node.start()
    wait_for(lambda: port_open(node.http), 15, f"{node.id}'s HTTP API on {node.http}")


# ---- files ------------------------------------------------------------------


def waybill(n, tag="FD"):
    """A small JSON rail waybill (mapping json-rail) numbered n: one record."""
    return json.dumps({"waybillNo": f"{tag}{n:07d}", "trainNo": "X1",
                       "from": {"locode": "CNXIY"}, "to": {"locode": "DEHAM"}},
                      separators=(",", ":")).encode()


def doc_of(n, tag="FD"):
    """The `doc` the node keeps for waybill(n, tag)."""
    return f"rail_waybill:{tag}{n:07d}"


def drop(inbox, name, data):
    """Writes name.tmp, then renames it to name: the writers' convention."""
    tmp = os.path.join(inbox, name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(inbox, name))


def files(d):
    """Visible regular files of directory d (sorted), [] if d is missing."""
    try:
        return sorted(n for n in os.listdir(d) if not n.startswith(".")
                      and os.path.isfile(os.path.join(d, n)))
    except FileNotFoundError:
        return []


# ---- what the node stored ---------------------------------------------------


def prefix(node):
    return f"eport:{node.id}:"


def _fields(flat):
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}


def events(node, name=None, after="-"):
    """Entries of the node's v1:events as (pos, ev, json dict), oldest
    first; only event `name` when given."""
    out = []
    for pos, flat in node.redis.cmd("XRANGE", prefix(node) + "v1:events", after, "+") or []:
        f = _fields(flat)
        ev = f.get("ev", b"").decode()
        if name is None or ev == name:
            out.append((pos.decode(), ev, json.loads(f.get("j", b"{}"))))
    return out


def accepted(node, conn):
    """The `accepted` events of connector conn: one per message stored."""
    return [j for _, _, j in events(node, "accepted") if j.get("conn") == conn]


_MSGS = ("local out = {}\n"
         "for _, k in ipairs(redis.call('KEYS', ARGV[1] .. 'v1:msg:*')) do\n"
         "  local h = redis.call('HMGET', k, 'conn', 'doc')\n"
         "  if h[1] == ARGV[2] then\n"
         "    out[#out + 1] = string.sub(k, #ARGV[1] + 8) .. ' ' .. (h[2] or '')\n"
         "  end\n"
         "end\n"
         "return out\n")


def messages(node, conn):
    """{message id: doc} of every v1:msg:<id> of connector conn."""
    rows = node.redis.cmd("EVAL", _MSGS, 0, prefix(node), conn) or []
    return dict(r.decode().split(" ", 1) for r in rows)


def check_stored_once(node, conn, docs):
    """Connector conn stored exactly one message per doc in docs: one
    v1:msg each, one `accepted` event each, no id twice, nothing else."""
    msgs = messages(node, conn)
    got = sorted(msgs.values())
    dup = len(got) - len(set(got))
    check(dup == 0, f"{dup} documents stored under two message ids")
    missing, extra = set(docs) - set(got), set(got) - set(docs)
    check(not missing, f"{len(missing)} of {len(docs)} documents not stored, "
          f"e.g. {sorted(missing)[:3]}")
    check(not extra, f"{len(extra)} documents nobody sent, e.g. {sorted(extra)[:3]}")
    acc = [j["id"] for j in accepted(node, conn)]
    check(len(acc) == len(set(acc)), f"{len(acc) - len(set(acc))} ids accepted twice")
    check(set(acc) == set(msgs), f"accepted events ({len(acc)}) and stored "
          f"messages ({len(msgs)}) differ")
    return msgs


# ---- a webhook target -------------------------------------------------------


class Target:
    """An HTTP server on port recording each POST (X-Eport-Id,
    X-Eport-Event, Content-Type, body) and answering 200; start() and
    stop() at will, the records are kept across. keep_alive=False closes
    each connection after its answer (HTTP/1.0), so that stop() is an
    outage at once: no kept-alive connection goes on being served."""

    def __init__(self, port, keep_alive=True):
        self.port, self.got, self.srv, self.thread = port, [], None, None
        self.keep_alive = keep_alive
        self.lock = threading.Lock()

    def start(self):
        target = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if target.keep_alive else "HTTP/1.0"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with target.lock:
                    target.got.append((self.headers.get("X-Eport-Id"),
                                       self.headers.get("X-Eport-Event"),
                                       self.headers.get("Content-Type"), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.srv.daemon_threads = True
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None

    def records(self):
        with self.lock:
            return list(self.got)


def pos_key(pos):
    """A stream position "ms-seq" as a sortable tuple."""
    ms, seq = pos.split("-")
    return int(ms), int(seq)
