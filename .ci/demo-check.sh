#!/usr/bin/env bash
# demo-check.sh: `make demo` as a newcomer meets it on a register that already
# runs posdisplay-agent (the installed service holds 127.0.0.1:7421/7422).
#
# 1. With DEMO_STRICT_PORTS=1 the demo stops within 2 s naming the port and
#    the process holding it.
# 2. Otherwise it moves its own agent to free ports, prints them, and every
#    URL it prints is live in Chromium (assets/web TestDemoURLs): a sale rung
#    up by hand on its cashier page reaches the web display and the customer
#    screen connects to the demo's agent.
# 3. The other agent saw nothing of the demo: no display, no cart.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { printf 'demo-check: FAIL: %s\n' "$*" >&2; exit 1; }
note() { printf 'demo-check: %s\n' "$*" >&2; }

make -s build >/dev/null
work=$(mktemp -d /tmp/posdisplay-demo-check.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The "installed service": another agent on the default ports, unless
# something already holds them (then that is the other process).
taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
other=""
if ! taken 7421 && ! taken 7422; then
	: >"$work/none.toml"
	bin/posdisplay-agent --config "$work/none.toml" --state-dir "$work" --pos-listen 127.0.0.1:7421 \
		--display-listen 127.0.0.1:7422 --registers other --display-tokens other-token-000000001 2>"$work/other.log" &
	pids+=($!)
	other=$!
	for _ in $(seq 100); do taken 7421 && taken 7422 && break; sleep 0.05; done
fi
taken 7421 && taken 7422 || fail "could not occupy 127.0.0.1:7421 and :7422"

# 1. Strict: stop at once, naming the holder.
t0=$(date +%s%N)
if DEMO_STRICT_PORTS=1 DEMO_NO_WATCH=1 .ci/demo.sh >"$work/strict.out" 2>&1; then
	fail "DEMO_STRICT_PORTS=1 demo started although its ports are taken"
fi
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q '127.0.0.1:7421 is already in use by' "$work/strict.out" || { cat "$work/strict.out" >&2; fail "the strict demo did not name the port and its holder"; }
if [ -n "$other" ]; then
	grep -q "pid $other" "$work/strict.out" || { cat "$work/strict.out" >&2; fail "the strict demo did not name the holder (pid $other)"; }
fi
[ "$ms" -lt 2000 ] || fail "the strict demo took $ms ms to stop (want < 2 s)"
note "strict: stopped in $ms ms: $(head -1 "$work/strict.out")"

# 2. Default: free ports, every URL live.
rm -f out/demo/urls.env
MANUAL=1 DEMO_NO_WATCH=1 DISPLAY= .ci/demo.sh >"$work/demo.out" 2>&1 &
demo=$!
pids+=("$demo")
for _ in $(seq 600); do
	[ -s out/demo/urls.env ] && break
	kill -0 "$demo" 2>/dev/null || { cat "$work/demo.out" >&2; fail "the demo stopped"; }
	sleep 0.05
done
[ -s out/demo/urls.env ] || { cat "$work/demo.out" >&2; fail "the demo did not start within 30 s"; }
grep -q 'instead' "$work/demo.out" || { cat "$work/demo.out" >&2; fail "the demo did not say it moved to other ports"; }
sed -n '/posdisplay demo is running/,/Ctrl-C/p' "$work/demo.out" >&2
PD_DEMO_URLS=$PWD/out/demo/urls.env go test -count=1 -run '^TestDemoURLs$' -v ./assets/web 2>&1 | tail -60 >"$work/test.out" ||
	true
cat "$work/test.out" >&2
grep -q '^--- PASS: TestDemoURLs' "$work/test.out" && grep -q '^ok ' "$work/test.out" || fail "the demo's URLs are not all live (see above; demo log: out/demo/agent.log)"

# 3. The other agent never heard of the demo.
if [ -n "$other" ]; then
	h=$(curl -fsS http://127.0.0.1:7421/healthz)
	grep -q '"displays":0' <<<"$h" && ! grep -q '"1":' <<<"$h" || fail "the other agent saw the demo: $h"
	note "the other agent on 7421/7422 saw no display and no register 1: $h"
fi
note "PASS"
