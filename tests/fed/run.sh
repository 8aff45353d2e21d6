#!/bin/sh
# tests/fed/run.sh: the federation tests (real eportd processes, one Redis
# each, tests/fed/*.py). Prints `fed: NAME ok` / `fed: NAME FAILED: why`
# per test and closes with `fed: N passed, M failed`; the node logs of
# failed tests follow their lines, indented, on stderr. FED_KEEP=1 keeps
# each test's directory.
# usage: tests/fed/run.sh [BUILD_DIR]     (default $B, else build)
root=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:-${B:-build}}
case $b in /*) ;; *) b=$root/$b ;; esac
export EPORTD="$b/san/bin/eportd" EPORTCTL="$b/san/bin/eportctl" FEDPROBE="$b/san/fed/fedprobe"

if ! command -v redis-server >/dev/null 2>&1; then
    echo "fed: skipped: redis-server is not installed (make deps)"
    echo "fed: 0 passed, 0 failed"
    exit 0
fi
for f in "$EPORTD" "$EPORTCTL" "$FEDPROBE"; do
    [ -x "$f" ] || { echo "fed: setup FAILED: $f is missing (make B=... test builds it)"
                     echo "fed: 0 passed, 1 failed"; exit 1; }
done

out=$(mktemp "${TMPDIR:-/tmp}/eport-fed.XXXXXX")
err=$(mktemp "${TMPDIR:-/tmp}/eport-fed.XXXXXX")
trap 'rm -f "$out" "$err"' EXIT
trap 'exit 130' INT TERM HUP PIPE
pass=0 fail=0
# Debian's python3 has python3-zmq and python3-msgpack (make deps); a
# python3 earlier on PATH (pyenv) may not
py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3
# the first ones in this order (slowest last), then every other test_*.py
first="test_line test_faults test_security test_clearance test_clearance_faults test_clearance_auto"
rest=$(cd "$root/tests/fed" && ls test_*.py | sed 's/\.py$//' | while read -r t; do
    case " $first " in *" $t "*) ;; *) echo "$t" ;; esac; done)
for t in $first $rest; do
    "$py" "$root/tests/fed/$t.py" >"$out" 2>"$err"
    rc=$?
    grep -v '^fed: [0-9]* passed, [0-9]* failed$' "$out"
    last=$(grep '^fed: [0-9]* passed, [0-9]* failed$' "$out" | tail -n 1)
    p=$(echo "$last" | sed -n 's/^fed: \([0-9]*\) passed.*/\1/p')
    f=$(echo "$last" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
    if [ -z "$p" ]; then   # died before its count line
        echo "fed: $t FAILED: exited $rc without a count"; p=0 f=1
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "fed: $t FAILED: exited $rc"; f=1
    fi
    # node logs and tracebacks of the failures, after the lines they explain
    [ "$f" -eq 0 ] || sed 's/^/    /' "$err" >&2
    pass=$((pass + p)) fail=$((fail + f))
done
echo "fed: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
