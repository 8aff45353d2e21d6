#!/bin/sh
# Runs every unit-test binary, prints the cmocka output and a closing
# "N passed, N failed" line; exits non-zero when anything failed.
pass=0; fail=0; failed=""
for t in "$@"; do
  if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed="$failed $t"; fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "failed suites:$failed"; exit 1; }
