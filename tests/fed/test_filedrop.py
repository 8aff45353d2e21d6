"""The file drop of a real eportd (docs/connectors.md, "File drop"): a
partly written file (NAME.tmp) is left alone until renamed, then taken; a
malformed file goes to error/ with NAME.err holding `NAME:LINE:COL: error:`
lines; 1,000 files dropped at once all end in done/, 1,000 messages
stored, none lost or doubled; and eportd killed (-9) in the middle of a
1,000-file drop and restarted takes every file exactly once, storing no
message twice. FED_DROP_N changes the 1,000."""
import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connlib import (ONE, check_stored_once, client, configure, doc_of, drop,  # noqa: E402
                     files, start, waybill)
from fedlib import ROOT, Fed, check, wait_for  # noqa: E402
from fedrun import Group, main  # noqa: E402

N = int(os.environ.get("FED_DROP_N", "1000"))
BAD = os.path.join(ROOT, "mappings/samples/bad/truncated.edi")


def inbox(fed, name):
    return os.path.join(fed.dir, "drop", name)


def make():
    return Fed(ONE)


def setup(fed):
    cq = fed["CQ"]
    conns = [{"name": n, "type": "filedrop", "dir": inbox(fed, n), "client": n}
             for n in ("part", "bad", "many")]
    configure(cq, conns, [client(n, n) for n in ("part", "bad", "many")],
              api={"rate_per_s": 0})
    start(cq)


def test_partial_file(fed):
    cq, d = fed["CQ"], inbox(fed, "part")
    data = waybill(1, "PT")
    with open(os.path.join(d, "w1.json.tmp"), "wb") as f:
        f.write(data[:20])  # half written, and the writer goes on later
    time.sleep(2.5)  # past a rescan
    check(files(d) == ["w1.json.tmp"], f"inbox holds {files(d)}, not the .tmp alone")
    check(not files(os.path.join(d, "done")) and not files(os.path.join(d, "error")),
          "a partly written .tmp was taken")
    with open(os.path.join(d, "w1.json.tmp"), "ab") as f:
        f.write(data[20:])
    os.rename(os.path.join(d, "w1.json.tmp"), os.path.join(d, "w1.json"))
    wait_for(lambda: files(os.path.join(d, "done")) == ["w1.json"], 10,
             "w1.json in done/")
    check(files(d) == [], f"inbox still holds {files(d)}")
    check_stored_once(cq, "part", [doc_of(1, "PT")])


def test_malformed_file(fed):
    cq, d = fed["CQ"], inbox(fed, "bad")
    with open(BAD, "rb") as f:
        drop(d, "broken.edi", f.read())
    err = os.path.join(d, "error")
    wait_for(lambda: files(err) == ["broken.edi", "broken.edi.err"], 10,
             "broken.edi and broken.edi.err in error/")
    with open(os.path.join(err, "broken.edi.err")) as f:
        lines = f.read().splitlines()
    check(lines, "broken.edi.err is empty")
    bad = [l for l in lines if not re.match(r"^broken\.edi:\d+:\d+: error: \S", l)]
    check(not bad, f"lines not NAME:LINE:COL: error: ...: {bad[:2]}")
    check(any(":30:1: error:" in l for l in lines),
          f"the unterminated segment (line 30) is not reported: {lines}")
    check(files(d) == [] and not files(os.path.join(d, "done")),
          "the malformed file is elsewhere too")
    check(check_stored_once(cq, "bad", []) == {}, "a malformed file stored messages")


def test_thousand_files_at_once(fed):
    cq, d = fed["CQ"], inbox(fed, "many")
    stage = os.path.join(fed.dir, "stage")
    os.makedirs(stage)
    names = [f"wb{i:05d}.json" for i in range(N)]
    for i, n in enumerate(names):  # written elsewhere, then moved in at once
        with open(os.path.join(stage, n), "wb") as f:
            f.write(waybill(i, "MN"))
    for n in names:
        os.rename(os.path.join(stage, n), os.path.join(d, n))
    done = os.path.join(d, "done")
    wait_for(lambda: len(files(done)) >= N, 120, f"{N} files in done/",
             interval=0.5)
    time.sleep(0.3)
    check(files(done) == names, f"done/ holds {len(files(done))} files, not the {N} dropped")
    check(files(d) == [] and files(os.path.join(d, "error")) == [],
          "files left in the inbox or in error/")
    check_stored_once(cq, "many", [doc_of(i, "MN") for i in range(N)])


def test_restart_midway():
    with Fed(ONE) as fed:
        cq, d = fed["CQ"], inbox(fed, "edi")
        configure(cq, [{"name": "edi", "type": "filedrop", "dir": d, "client": "edi"}],
                  [client("edi", "edi")], api={"rate_per_s": 0})
        os.makedirs(d)
        start(cq)
        names = [f"r{i:05d}.json" for i in range(N)]
        writer = threading.Thread(target=lambda: [drop(d, n, waybill(i, "RS"))
                                                  for i, n in enumerate(names)])
        writer.start()
        done = os.path.join(d, "done")
        wait_for(lambda: len(files(done)) >= N // 5, 60, f"{N // 5} files in done/",
                 interval=0.05)
        cq.kill()  # kill -9 in the middle of the drop
        killed_at = len(files(done))
        writer.join()
        start(cq)
        wait_for(lambda: len(files(done)) >= N, 120, f"{N} files in done/ after the restart",
                 interval=0.5)
        time.sleep(0.3)
        check(killed_at < N, "every file was done before the kill: nothing tested")
        check(files(done) == names,
              f"done/ holds {len(files(done))} files (a .1 would be a file taken twice): "
              f"{[n for n in files(done) if n not in names][:3]}")
        check(files(d) == [] and files(os.path.join(d, "error")) == [],
              "files left in the inbox or in error/")
        check_stored_once(cq, "edi", [doc_of(i, "RS") for i in range(N)])
        sys.stderr.write(f"restart-midway: killed with {killed_at} of {N} done\n")


if __name__ == "__main__":
    sys.exit(main([Group(make, setup, [test_partial_file, test_malformed_file,
                                       test_thousand_files_at_once]),
                   test_restart_midway]))
