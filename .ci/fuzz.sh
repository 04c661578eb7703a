#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME (default 3s) each.
# The seed corpora live in each package's testdata/fuzz.
# TESTSUM_COUNTS=FILE: count each target as a test in make test's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-3s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
count() {
  [ -n "${TESTSUM_COUNTS:-}" ] || return 0
  printf '{"Action":"%s","Package":"%s","Test":"%s (fuzz)"}\n' "$1" "$2" "$3" |
    out/testsum -counts "$TESTSUM_COUNTS" >/dev/null || true
}
for pkg in $(go list ./... | grep -v /cmd/posdisplay-screen); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    printf 'fuzz %-55s %s\n' "$pkg" "$fz"
    for attempt in 1 2; do
      if go test -run='^$' -fuzz="^${fz}\$" -fuzztime="$FUZZTIME" "$pkg" >"$log" 2>&1; then
        count pass "$pkg" "$fz"
        break
      fi
      # Go's fuzz coordinator sometimes reports "context deadline exceeded"
      # when -fuzztime ends while a worker is busy on a loaded machine; that
      # is not a finding (no failing input is written). Try once more.
      if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
        echo "  (fuzz coordinator timed out, not a finding; again)"
        continue
      fi
      cat "$log"
      count fail "$pkg" "$fz"
      exit 1
    done
  done
done
