"""Hostile frames at a running node. tests/fed/fedprobe pretends to be SC,
a configured peer of CQ, and sends CQ what a forger, a replayer or a
broken peer would (docs/protocol.md section 9). Each must be refused with
a log line `event=refused reason=<code>` and a dead letter with that
reason, nothing of it delivered; and CQ must go on serving: the probe
follows each mode with a good record, which must arrive.

Only CQ runs (SC and SH are configured but down), with
delivery.max_frame_bytes 65536 so that a small frame is oversized."""
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedlib  # noqa: E402
from fedlib import LINE, Fed, FedError, Inbox, check, wait_for  # noqa: E402
from fedrun import Group, main  # noqa: E402

MAX_FRAME = 65536


def probe(fed, mode, *extra, as_="SC"):
    """Run fedprobe; its `frame` lines as dicts, and its closing line's."""
    argv = [fedlib.FEDPROBE, mode, "--pki", fed.pki, "--as", as_, "--target", "CQ",
            "--endpoint", fed["CQ"].endpoint, "--timeout-ms", "3000", *extra]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"fedprobe {mode} exited {r.returncode}: {r.stderr.strip()}")
    lines = [dict(kv.split("=", 1) for kv in l.split()[1:]) for l in r.stdout.splitlines()]
    frames = [d for d, l in zip(lines, r.stdout.splitlines()) if l.startswith("frame ")]
    summary = [d for d, l in zip(lines, r.stdout.splitlines()) if l.startswith("probe ")]
    check(summary, f"fedprobe {mode} printed no summary: {r.stdout!r}")
    return frames, summary[0]


class Watch:
    """What CQ logs, dead-letters and delivers from now on."""

    def __init__(self, node):
        self.node, self.log_at, self.dlq0 = node, len(node.log_text()), set(node.dlq())
        self.inbox = Inbox(node)
        self.inbox.poll()
        self.before = {e[1] for e in self.inbox.entries}

    def new_log(self):
        return self.node.log_text()[self.log_at:].splitlines()

    def new_dlq(self):
        return [l for k, l in self.node.dlq().items() if k not in self.dlq0]

    def delivered(self):
        self.inbox.poll()
        return {e[1] for e in self.inbox.entries} - self.before


def has_reason(line, code):
    return re.search(r'\breason="?' + re.escape(code) + r'(\b|:|")', line) is not None


def expect_refused(fed, mode, code, *extra, dead_letter=True):
    cq = fed["CQ"]
    w = Watch(cq)
    frames, summary = probe(fed, mode, "--then-good", *extra)
    check(summary["up"] == "1", f"{mode}: the probe's link to CQ never came up")
    bad = [f for f in frames if f["mode"] == mode]
    good = [f for f in frames if f["mode"] == "good"]
    check(bad and good, f"{mode}: the probe sent {frames}")
    check(good[-1]["ack"] == good[-1]["pos"],
          f"{mode}: CQ did not take the good record after it: {good[-1]}")
    wait_for(lambda: good[-1]["id"] in w.delivered(), 10,
             f"CQ to deliver the good record after {mode} (still serving)")
    bad_id = bad[-1]["id"]
    check(bad_id == "-" or bad_id not in w.delivered(), f"{mode}: CQ delivered {bad_id}")
    def refused():
        return [l for l in w.new_log() if "event=refused" in l and has_reason(l, code)]
    if dead_letter:
        try:
            lines = wait_for(refused, 5, f"CQ to log event=refused reason={code}")
        except FedError as e:
            raise FedError(f"{mode}: {e}; new lines: {w.new_log()[-5:]}")
        check(bad_id == "-" or any(bad_id in l for l in lines),
              f"{mode}: refusal does not name id {bad_id}: {lines}")
        dl = lambda: [l for l in w.new_dlq() if has_reason(l, code)]  # noqa: E731
        try:
            wait_for(dl, 5, f"a dead letter with reason={code}")
        except FedError as e:
            raise FedError(f"{mode}: {e}; new dead letters: {w.new_dlq()}")
    return w, frames


def security_fed():
    return Fed(LINE, delivery={"max_frame_bytes": MAX_FRAME}, extra_certs=[("GZ", "GD")])


def test_good(fed):
    w = Watch(fed["CQ"])
    frames, _ = probe(fed, "good")
    check(frames and frames[-1]["ack"] == frames[-1]["pos"], f"good: not acked: {frames}")
    wait_for(lambda: frames[-1]["id"] in w.delivered(), 10, "the control record at CQ")


def test_forged_sig(fed):
    expect_refused(fed, "forged-sig", "bad-signature")


def test_tampered_payload(fed):
    expect_refused(fed, "tampered-payload", "bad-signature")


def test_unknown_signer(fed):
    expect_refused(fed, "unknown-signer", "unknown-sender", "--signer", "ZZ")


def test_malformed(fed):
    expect_refused(fed, "malformed", "malformed")


def test_replay(fed):
    w = Watch(fed["CQ"])
    frames, _ = probe(fed, "replay")
    check(len(frames) >= 3, f"replay: expected 3 sends, got {frames}")
    check(all(f["ack"] != "none" and f["gap"] == "0" for f in frames[-3:]),
          f"replay: a send was not acked in order: {frames[-3:]}")
    rid = frames[-1]["id"]
    wait_for(lambda: rid in w.delivered(), 10, "the replayed record's first copy at CQ")
    time.sleep(0.5)
    w.inbox.poll()
    n = sum(1 for e in w.inbox.entries if e[1] == rid)
    check(n == 1, f"replay: record {rid} delivered {n} times")


def test_oversized(fed):
    # over delivery.max_frame_bytes but under the protocol's 16 MiB cap: it
    # reaches the checks, is refused (logged, dead-lettered) and the link
    # moves on past it, so it is acked and the good record after it arrives
    _, frames = expect_refused(fed, "oversized", "oversized", "--size", str(MAX_FRAME * 2),
                               "--timeout-ms", "1500")
    big = [f for f in frames if f["mode"] == "oversized"]
    check(big[-1]["ack"] != "none", f"oversized: CQ never answered the frame: {big}")


def test_unknown_key(fed):
    w = Watch(fed["CQ"])
    frames, summary = probe(fed, "unknown-key", "--then-good", "--timeout-ms", "1500")
    check(summary["up"] == "0" and not frames,
          f"unknown-key: a CURVE key of no peer got a link: {summary} {frames}")
    wait_for(lambda: any("event=zap_refused" in l for l in w.new_log()), 5,
             "CQ to log event=zap_refused")
    check(not w.new_dlq(), f"unknown-key: dead letters for a refused handshake: {w.new_dlq()}")


def test_revoked_control(fed):
    """GZ, not a peer of CQ, reaches it through SC while its certificate
    is valid: so what follows is refused for the revocation alone."""
    w = Watch(fed["CQ"])
    frames, _ = probe(fed, "good", "--signer", "GZ")
    check(frames and frames[-1]["ack"] == frames[-1]["pos"], f"GZ control: {frames}")
    wait_for(lambda: frames[-1]["id"] in w.delivered(), 10,
             "CQ to accept a record signed by GZ before revocation")


def test_revoked_sighup(fed):
    fed.pki_run("revoke", "GZ")
    fed["CQ"].reload()  # SIGHUP: reloads, CRL included
    time.sleep(1.5)
    expect_refused(fed, "revoked", "cert-revoked", "--signer", "GZ")


def test_revoked_restart(fed):
    fed["CQ"].stop()
    fed["CQ"].start()  # the CRL is read at start
    expect_refused(fed, "revoked", "cert-revoked", "--signer", "GZ")


def test_wrong_region():
    """SN's certificate says region SH; CQ's configuration expects SN. CQ
    must not take SN for a peer: either it refuses to start, naming the
    region, or it runs and nothing from SN gets in."""
    topo = dict(LINE, CQ=("CQ", ["SC", "SH", "SN"], {}), SN=("SH", ["CQ"], {}))
    with Fed(topo) as fed:
        cq = fed["CQ"]
        cq.peer_regions["SN"] = "SN"
        cq.write_config()
        cq.start(wait=False)
        try:
            wait_for(cq._listening, 15, "CQ to listen")
        except FedError:
            check(not cq.running(), "CQ neither listens nor exits")
            out = open(cq.out, errors="replace").read() + cq.log_text()
            check("region" in out, f"CQ exited without naming the region: {out[-500:]}")
            return
        w = Watch(cq)
        frames, summary = probe(fed, "wrong-region", as_="SN")
        check(not any(f["id"] in w.delivered() for f in frames if f["id"] != "-"),
              "CQ delivered a record from SN, whose certificate is for another region")
        check(any("event=zap_refused" in l or "event=refused" in l for l in w.new_log()),
              f"wrong-region: nothing logged; new lines: {w.new_log()[-5:]}")
        frames, _ = probe(fed, "good")
        wait_for(lambda: frames[-1]["id"] in w.delivered(), 10, "CQ still serving SC")


def replay_fed():
    return Fed(LINE, extra_certs=[("XM", "FJ")])


def hide_xm(fed):
    """XM's certificate is not in CQ's directory yet when CQ starts."""
    crt = os.path.join(fed.pki, "XM.crt")
    os.rename(crt, crt + ".later")
    fed["CQ"].start()


def test_dlq_replay(fed):
    """A record from XM refused while CQ lacked XM's certificate is
    delivered once its certificate is there and an operator replays it."""
    cq = fed["CQ"]
    w = Watch(cq)
    frames, _ = probe(fed, "good", "--signer", "XM")
    rid = frames[-1]["id"]
    letters = wait_for(lambda: [l for l in w.new_dlq() if has_reason(l, "unknown-sender")],
                       5, "a dead letter for XM's record")
    dl_id = letters[0].split()[0]
    check(rid not in w.delivered(), "CQ delivered a record from a signer it had no certificate for")
    crt = os.path.join(fed.pki, "XM.crt")
    os.rename(crt + ".later", crt)
    cq.reload()  # a fresh directory; without it, within 10 s anyway
    time.sleep(1)
    r = cq.ctl("dlq", "replay", dl_id)
    check("replayed" in r.stdout, f"dlq replay said {r.stdout!r}")
    wait_for(lambda: rid in w.delivered(), 10, "the replayed record at CQ")
    check(dl_id not in cq.dlq(), "the replayed dead letter is still listed")
    again = cq.ctl("dlq", "replay", dl_id, ok=False)
    check(again.returncode == 65, f"replaying it twice exited {again.returncode}, not 65")
    time.sleep(0.5)
    w.inbox.poll()
    n = sum(1 for e in w.inbox.entries if e[1] == rid)
    check(n == 1, f"replayed record delivered {n} times")


def test_still_serving(fed):
    test_good(fed)


MODES = [test_good, test_forged_sig, test_tampered_payload, test_unknown_signer,
         test_malformed, test_replay, test_oversized, test_unknown_key,
         test_still_serving]

if __name__ == "__main__":
    start_cq = lambda fed: fed["CQ"].start()  # noqa: E731
    sys.exit(main([Group(security_fed, start_cq, MODES),
                   Group(security_fed, start_cq,
                         [test_revoked_control, test_revoked_sighup, test_revoked_restart]),
                   Group(replay_fed, hide_xm, [test_dlq_replay]),
                   test_wrong_region]))
