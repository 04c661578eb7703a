#!/usr/bin/env bash
# make bench: the speed and memory targets, as benchmarks.
#  1. agent fan-out table (POS accepted -> delta at every display, p50/p99/max,
#     1/10/100/1000 displays, 50 changes/s and a burst of 500, agent CPU and
#     peak RSS) against a bare relay and AJAX polling, measured in one run,
#     with the agent's polling transport beside its WebSocket rows (up to
#     100 displays);
#     then the same through Redis (XADD) beside REST, 1 and 200 registers,
#     over redis:// and rediss:// (TLS: latency and agent CPU per change);
#  2. discovery: agent start -> paired screen live (real mDNS in a private
#     network namespace);
#  3. the screen idle in a real window under Xvfb: CPU, memory, first frame;
#  4. scanner, stream, client, pole and screen micro-benchmarks.
# Extra arguments go to the fan-out run (e.g. -short for a smoke run).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== fan-out (register/loadtest)"
register/loadtest/bench.sh "$@"
echo
echo "== Redis feed vs REST: backend change -> delta at every display, same run (register/redisfeed)"
go test -run '^$' -bench 'BenchmarkRedisVsREST' -benchtime 1x ./register/redisfeed 2>&1 | grep -vE '^(redis: |goos|goarch|pkg|cpu|PASS|ok)'
echo
echo "== discovery: agent start -> screen live (display/enroll)"
go test -run '^$' -bench 'BenchmarkDiscoveryConnect' -benchtime 10x ./display/enroll | grep -E 'Benchmark|ms/'
echo
echo "== screen idle in a real window (Xvfb, software GL): CPU % of one core, RSS, first frame"
LANG=en_US.UTF-8 go test -tags "${SCREEN_TAGS:-gles,no_emoji}" -run '^$' -bench 'BenchmarkIdleWindow' -benchtime 1x ./cmd/posdisplay-screen | grep -E '^Benchmark'
echo
echo "== micro-benchmarks"
{
  go test -run '^$' -bench 'Latency|Decode' -benchmem -benchtime 20000x ./scanner
  go test -run '^$' -bench 'TwoScanners20PerSecond' -benchtime 5x ./scanner # each op is one second of scans
  go test -run '^$' -bench . -benchmem ./register/stream ./register/cart ./display/client
  go test -run '^$' -bench 'BurstToDisplays' -benchtime 20x ./register/hub # a rate-limit burst (100 changes) -> every display
  go test -run '^$' -bench 'CartToWire' -benchtime 3000x ./register/pole # cart change -> pole bytes written (pty)
  go test -run '^$' -bench 'PublishWithStalledPole' -benchmem ./register/pole
  go test -run '^$' -bench . -benchmem ./display
} 2>&1 | grep -E '^(Benchmark|ok|FAIL)'
