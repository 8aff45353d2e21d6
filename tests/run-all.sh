#!/bin/sh
# make test: every unit suite (cmocka, one binary per module), the golden
# samples and the federation tests (tests/fed/run.sh, real processes; the
# build dir comes from $B), then one closing line counting every test case.
# usage: tests/run-all.sh EPORTCTL UNIT_BINARY...
ctl=$1; shift
log=$(mktemp "${TMPDIR:-/tmp}/eport-test.XXXXXX")
status=0
sh tests/run-unit.sh "$@" >"$log" 2>&1 || status=1
cat "$log"
unit_pass=$(grep -o 'PASSED  \] [0-9]*' "$log" | awk '{s += $3} END {print s + 0}')
unit_fail=$(grep -c '^\[  FAILED  \] [a-z]' "$log")
python3 tests/golden/run.py "$ctl" >"$log" 2>&1 || status=1
cat "$log"
gold=$(tail -n 1 "$log")
g_pass=$(echo "$gold" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
g_fail=$(echo "$gold" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
[ -n "$g_pass" ] || { g_pass=0; g_fail=1; status=1; }
sh tests/fed/run.sh "${B:-build}" >"$log" 2>&1 || status=1
cat "$log"
fed=$(grep '^fed: [0-9]* passed' "$log" | tail -n 1)
f_pass=$(echo "$fed" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
f_fail=$(echo "$fed" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
rm -f "$log"
[ -n "$f_pass" ] || { f_pass=0; f_fail=1; status=1; }
# a suite that died (a sanitizer abort) names no failed test: count it
[ $status -ne 0 ] && [ $((unit_fail + g_fail + f_fail)) -eq 0 ] && unit_fail=1
echo "tests: $((unit_pass + g_pass + f_pass)) passed, $((unit_fail + g_fail + f_fail)) failed"
exit $status
