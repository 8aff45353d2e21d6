#!/bin/sh
# Runs each libFuzzer target for SECONDS on its seed corpus (copied to a
# scratch folder so the repository's seeds stay as committed). A crash
# leaves its input in the scratch folder and fails the run.
set -u
secs=$1; shift
work=$(mktemp -d "${TMPDIR:-/tmp}/eport-fuzz.XXXXXX")
status=0
for bin in "$@"; do
  name=$(basename "$bin" | sed 's/^fuzz_//')
  mkdir -p "$work/$name"
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/$name/"
  if "$bin" -max_total_time="$secs" -max_len=65536 -artifact_prefix="$work/" \
       "$work/$name" >"$work/$name.log" 2>&1; then
    echo "fuzz $name: ok ($(grep -c '^#' "$work/$name.log") status lines, ${secs}s)"
  else
    echo "fuzz $name: FAILED, see $work/$name.log"; tail -20 "$work/$name.log"; status=1
  fi
done
[ $status -eq 0 ] && rm -rf "$work"
exit $status
