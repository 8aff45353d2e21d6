"""Faults in the middle of a stream SC -> CQ -> SH: CQ killed (kill -9)
and restarted, CQ's Redis stopped and restarted, CQ frozen (SIGSTOP) past
its peers' heartbeat timeout and thawed. After each, every record arrives
exactly once at SH, none lost. Records are sent in two halves: the first
is in flight when the fault hits, the second is sent during the fault."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import Fed, Inbox, check, check_exactly_once, record, wait_for  # noqa: E402
from fedrun import main  # noqa: E402

N = int(os.environ.get("FED_FAULT_N", "2000"))


def through_fault(inject, recover, down_s):
    with Fed() as fed:
        sc, cq, sh = fed["SC"], fed["CQ"], fed["SH"]
        fed.start_all()
        first = sc.send(["SH"], N // 2, record("first half"))
        ib = Inbox(sh)
        wait_for(lambda: ib.poll() > 0, 60, "the first records to reach SH")
        inject(fed)
        second = sc.send(["SH"], N - N // 2, record("second half"))
        time.sleep(down_s)
        recover(fed)
        check(cq.running(), "CQ's eportd died during the fault")
        ib.wait(N, timeout=90)
        time.sleep(1)  # anything past N would be a duplicate
        ib.poll()
        check(len(ib.entries) == N, f"SH holds {len(ib.entries)} records, sent {N}")
        check_exactly_once(ib, [first, second], "SC")


def test_kill9_hop():
    through_fault(lambda f: f["CQ"].kill(), lambda f: f["CQ"].start(), 1)


def test_hop_redis_restart():
    through_fault(lambda f: f["CQ"].redis.stop(), lambda f: f["CQ"].redis.start(), 2)


def test_sigstop_hop():
    # 3 s frozen: past heartbeat_timeout_ms (1 s in fedlib.FAST_DELIVERY)
    through_fault(lambda f: f["CQ"].pause(), lambda f: f["CQ"].resume(), 3)


if __name__ == "__main__":
    sys.exit(main([test_kill9_hop, test_hop_redis_restart, test_sigstop_hop]))
