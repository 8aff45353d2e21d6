"""A line of three nodes, SC - CQ - SH: 10,000 records from SC to SH
through CQ arrive exactly once, in their order of creation, with their
signatures holding end to end, and every one is receipted back to SC.
FED_LINE_N changes the number (for a quick run while developing)."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import Fed, FedError, check, check_exactly_once, record, refusals, wait_for  # noqa: E402
from fedrun import main  # noqa: E402

N = int(os.environ.get("FED_LINE_N", "10000"))
BATCHES = 10  # one content per batch: digests differ between batches


def first_disorder(ids):
    for i in range(len(ids) - 1):
        if ids[i] >= ids[i + 1]:
            return i
    return None


def test_line():
    with Fed() as fed:
        sc, sh = fed["SC"], fed["SH"]
        size = N // BATCHES
        # the first batch while no daemon runs: enqueued durably, sent later
        batches = [sc.send(["SH"], size, record(0), ref="line-0")]
        fed.start_all()
        for b in range(1, BATCHES):
            batches.append(sc.send(["SH"], size, record(b), ref=f"line-{b}"))
        total = size * BATCHES
        ib = fed.wait_inbox("SH", total, timeout=90)
        time.sleep(0.5)  # anything past the count would be a duplicate
        ib.poll()
        check(len(ib.entries) == total, f"SH holds {len(ib.entries)} records, sent {total}")
        check_exactly_once(ib, batches, "SC")
        ids = [e[1] for e in ib.entries]
        bad = first_disorder(ids)
        if bad is not None:
            raise FedError(f"out of creation order at inbox entry {bad}: {ids[bad:bad + 2]}")
        for nid in ("CQ", "SH"):
            r = refusals(fed[nid])
            check(not r, f"{nid} refused messages: {r[:2]}")
        wait_for(lambda: sc.awaiting() == 0, 30,
                 "SC to hold a receipt for every message (eportctl peers awaiting=0)",
                 interval=0.5)


if __name__ == "__main__":
    sys.exit(main([test_line]))
