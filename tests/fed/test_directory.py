"""The signed federation directory (docs/pki.md, "Signed directory").

CQ is given only the CA certificate and its own files: every other
node's certificate, and the CRL, come from the directory `deploy/pki
directory` publishes, served over HTTP here as the national center will
serve it. tests/fed/fedprobe plays SC, CQ's peer, and signs records as SC
or as GZ (a member that is nobody's peer, reaching CQ through SC).

- CQ starts on the directory: SC links, GZ's records are verified;
- a tampered directory is refused (logged), CQ keeps the one it has;
- an older one (a rollback) is refused;
- GZ revoked in a newly published directory: once CQ has refreshed
  (directory_refresh_s: 1), GZ's records are dead-lettered, cert-revoked;
- restarted with the directory out of reach, CQ starts on the copy it
  kept in Redis, revocation included;
- SIGHUP fetches at once: SC revoked loses its link to CQ."""
import functools
import http.server
import os
import re
import shutil
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import LINE, Fed, check, wait_for  # noqa: E402
from fedrun import Group, main  # noqa: E402
from test_security import Watch, expect_refused, probe  # noqa: E402


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Publisher:
    """What the national center serves: DIR/directory.json and .sig."""

    def __init__(self, root):
        self.dir = os.path.join(root, "pub")
        os.makedirs(self.dir)
        handler = functools.partial(Quiet, directory=self.dir)
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/directory.json"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def put(self, data, sig):
        for name, b in (("directory.json.sig", sig), ("directory.json", data)):
            tmp = os.path.join(self.dir, name + ".tmp")
            with open(tmp, "wb") as f:
                f.write(b)
            os.replace(tmp, os.path.join(self.dir, name))

    def withdraw(self):
        for name in ("directory.json", "directory.json.sig"):
            os.unlink(os.path.join(self.dir, name))

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


class DirFed(Fed):
    """LINE and GZ; CQ configured with pki.directory_url, no CRL file and
    no certificate files but its own."""

    def __init__(self, refresh):
        super().__init__(LINE, extra_certs=[("GZ", "GD")])
        self.refresh, self.pub = refresh, None

    def __enter__(self):
        super().__enter__()
        try:
            self.pub = Publisher(self.dir)
            self.members = os.path.join(self.dir, "federation.txt")
            with open(self.members, "w") as f:
                for nid, n in self.nodes.items():
                    f.write(f"{nid} {n.region} provincial {n.endpoint} 127.0.0.1:{n.http}\n")
                f.write("GZ GD provincial tcp://127.0.0.1:1 -\n")
            self.pki_run("directory", "--members", self.members)
            self.publish()
            self._configure_cq()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, et, ev, tb):
        if self.pub:
            self.pub.stop()
        return super().__exit__(et, ev, tb)

    def _configure_cq(self):
        cq = self["CQ"]
        own = os.path.join(cq.dir, "pki")
        os.makedirs(own)
        for f in ("ca.crt", "CQ.crt", "CQ.key", "CQ.curve.pub", "CQ.curve.key"):
            shutil.copy2(os.path.join(self.pki, f), own)
        with open(cq.conf) as f:
            lines = f.read().replace(self.pki + "/", own + "/").splitlines()
        lines = [l for l in lines if not l.startswith("  crl:")]
        at = lines.index("pki:") + 1
        lines[at:at] = [f"  directory_url: {self.pub.url}",
                        f"  directory_refresh_s: {self.refresh}"]
        with open(cq.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def published(self):
        """DIR/directory.json and .sig as deploy/pki wrote them."""
        with open(os.path.join(self.pki, "directory.json"), "rb") as f:
            data = f.read()
        with open(os.path.join(self.pki, "directory.json.sig"), "rb") as f:
            return data, f.read()

    def publish(self, data=None, sig=None):
        if data is None:
            data, sig = self.published()
        self.pub.put(data, sig)
        return serial_of(data)


def serial_of(data):
    return int(re.search(rb'"serial": (\d+)', data).group(1))


def wait_log(node, since, pattern, what, timeout=10):
    """The first line of node's log after byte `since` matching pattern."""
    def find():
        m = re.search(pattern, node.log_text()[since:])
        return m.group(0) if m else None
    return wait_for(find, timeout, f"{node.id} to log {what}")


def delivered(fed, signer):
    cq = fed["CQ"]
    w = Watch(cq)
    frames, summary = probe(fed, "good", "--signer", signer)
    check(summary["up"] == "1", f"the probe (SC) got no link to CQ: {summary}")
    rid = frames[-1]["id"]
    wait_for(lambda: rid in w.delivered(), 10, f"CQ to deliver a record signed by {signer}")


# ---- refreshed every second -------------------------------------------------


def test_start_on_directory(fed):
    cq = fed["CQ"]
    serial = serial_of(fed.published()[0])
    line = wait_log(cq, 0, r"event=directory serial=\d+ .*", "the directory in use")
    check(f"serial={serial}" in line and "nodes=4" in line and "revoked=0" in line,
          f"CQ's directory line: {line}")
    delivered(fed, "SC")  # SC's certificate, for the link and the signature
    delivered(fed, "GZ")  # GZ's: in no file CQ has


def test_tampered_refused(fed):
    cq = fed["CQ"]
    data, sig = fed.published()
    at = len(cq.log_text())
    port = str(fed["SC"].port).encode()
    bad = data.replace(port, str(fed["SC"].port + 1).encode(), 1)
    check(bad != data, "the tamper changed nothing")
    fed.publish(bad, sig)
    line = wait_log(cq, at, r"event=directory_refused .*", "the tampered directory refused")
    check("signature does not verify with CA" in line, f"refusal: {line}")
    check("event=directory serial=" not in cq.log_text()[at:], "CQ applied a tampered directory")
    delivered(fed, "GZ")  # on the directory it had
    fed.publish(data, sig)


def test_rollback_refused(fed):
    cq = fed["CQ"]
    old = fed.published()
    time.sleep(1.1)  # a new serial anyway, but one a second apart reads better
    fed.pki_run("directory")
    at = len(cq.log_text())
    new = fed.publish()
    check(new > serial_of(old[0]), f"deploy/pki directory: serial {new} not above {serial_of(old[0])}")
    wait_log(cq, at, rf"event=directory serial={new} ", f"directory serial {new} in use")
    at = len(cq.log_text())
    fed.publish(*old)
    line = wait_log(cq, at, r"event=directory_refused .*", "the older directory refused")
    check(f"directory serial {serial_of(old[0])} is older than the one in use ({new})" in line,
          f"refusal: {line}")
    fed.publish()


def test_revoked_refused(fed):
    cq = fed["CQ"]
    fed.pki_run("revoke", "GZ", "--reason", "keyCompromise")
    fed.pki_run("directory")
    at = len(cq.log_text())
    serial = fed.publish()
    wait_log(cq, at, rf"event=directory serial={serial} .*revoked=1", "GZ's revocation in use")
    expect_refused(fed, "revoked", "cert-revoked", "--signer", "GZ")
    delivered(fed, "SC")


def test_restart_on_kept_copy(fed):
    cq = fed["CQ"]
    cq.stop()
    fed.pub.withdraw()  # the national center out of reach
    at = len(cq.log_text())
    cq.start()
    wait_log(cq, at, r"event=directory_fetch .*", "the failed fetch")
    wait_log(cq, at, r"level=warn .*event=directory .*kept in Redis", "the kept copy in use")
    expect_refused(fed, "revoked", "cert-revoked", "--signer", "GZ")
    delivered(fed, "SC")
    fed.publish()


# ---- refreshed hourly: SIGHUP ----------------------------------------------


def test_sighup_revoked_peer(fed):
    cq = fed["CQ"]
    delivered(fed, "SC")
    fed.pki_run("revoke", "SC")
    fed.pki_run("directory")
    at = len(cq.log_text())
    serial = fed.publish()
    time.sleep(1.5)
    check("event=directory serial=" not in cq.log_text()[at:],
          "CQ fetched the directory before the SIGHUP (refresh is an hour)")
    cq.reload()
    wait_log(cq, at, rf"event=directory serial={serial} .*revoked=1", "the new directory")
    line = wait_log(cq, at, r"event=peer_refused peer=SC .*", "SC refused")
    check("revoked" in line, f"SC refused for another reason: {line}")
    w = Watch(cq)
    frames, summary = probe(fed, "good", "--timeout-ms", "1500")
    check(summary["up"] == "0" and not frames, f"revoked SC still has a link: {summary} {frames}")
    wait_for(lambda: any("event=zap_refused" in l for l in w.new_log()), 5, "CQ to log zap_refused")


def start_cq(fed):
    fed["CQ"].start()


if __name__ == "__main__":
    sys.exit(main([Group(lambda: DirFed(1), start_cq,
                         [test_start_on_directory, test_tampered_refused, test_rollback_refused,
                          test_revoked_refused, test_restart_on_kept_copy]),
                   Group(lambda: DirFed(3600), start_cq, [test_sighup_revoked_peer])]))
