"""bench filedrop: one real node (eportd + its redis-server) taking files
from a file drop connector.

Prints `bench filedrop files_per_s=.. n=.. bytes=..`: N copies of an IFTMIN
rail waybill (mappings/samples/iftmin-rail/dui-rail-03.edi, one record,
1.3 KB) are written outside the inbox, then renamed into it as fast as
Python can; the figure is N over the time from the first rename until all
N are in done/ (each read, hashed, translated, stored durably in Redis and
moved). Afterwards every file must be in done/ and stored exactly once, so
the figure cannot count a lost or doubled file.

Binaries: the release build, bin/eportd and bin/eportctl (env EPORTD,
EPORTCTL override). Env: BENCH_DROP_N (5000). Prints `bench filedrop
skipped: why` when redis-server or the binaries are missing; exit 1 on a
failed check. Python stdlib only."""
import os
import shutil
import sys
import time

sys.dont_write_bytecode = True
import benchlib  # noqa: E402
from benchlib import ROOT  # noqa: E402
from connlib import ONE, client, configure, files, messages, start  # noqa: E402
from fedlib import Fed, check, wait_for  # noqa: E402

N = int(os.environ.get("BENCH_DROP_N", "5000"))
SAMPLE = os.path.join(ROOT, "mappings/samples/iftmin-rail/dui-rail-03.edi")


def run():
    with open(SAMPLE, "rb") as f:
        data = f.read()
    with Fed(ONE) as fed:
        cq = fed["CQ"]
        inbox, stage = os.path.join(fed.dir, "inbox"), os.path.join(fed.dir, "stage")
        configure(cq, [{"name": "edi", "type": "filedrop", "dir": inbox, "client": "edi"}],
                  [client("edi", "edi")], api={"rate_per_s": 0})
        start(cq)
        os.makedirs(stage)
        names = [f"iftmin{i:06d}.edi" for i in range(N)]
        for n in names:
            with open(os.path.join(stage, n), "wb") as f:
                f.write(data)
        done = os.path.join(inbox, "done")
        t0 = time.monotonic()
        for n in names:
            os.rename(os.path.join(stage, n), os.path.join(inbox, n))
        t_moved = time.monotonic() - t0
        wait_for(lambda: len(os.listdir(done)) >= N, 600, f"{N} files in done/",
                 interval=0.02)
        dt = time.monotonic() - t0
        check(files(done) == names and files(inbox) == [], "a file is missing or left")
        check(len(messages(cq, "edi")) == N, "not one message stored per file")
        shutil.rmtree(stage, ignore_errors=True)
    sys.stderr.write(f"filedrop: {N} renamed in {t_moved:.2f}s, all done in {dt:.2f}s\n")
    print(f"bench filedrop files_per_s={N / dt:.0f} n={N} bytes={len(data)}", flush=True)


def main():
    return benchlib.main("filedrop", run)


if __name__ == "__main__":
    sys.exit(main())
