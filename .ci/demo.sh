#!/usr/bin/env bash
# make demo: runs the agent with a simulated cashier, the customer screen in
# a window (under Xvfb with screenshots in out/demo/ when there is no
# DISPLAY), the web display and demo cashier page, and a terminal watcher
# that prints the live cart. Ctrl-C stops everything.
#   MANUAL=1 make demo        drive register 1 yourself from the demo cashier page
#   DEMO_STRICT_PORTS=1       fail (naming the holder) instead of moving to free
#                             ports when 127.0.0.1:7421 or :7422 is taken
#   DEMO_NO_WATCH=1           no terminal watcher: wait for Ctrl-C (used by tests)
#
# The demo only ever talks to the agent it started: it reads the addresses
# and the stream epoch that agent logged, and checks /healthz answers with
# that epoch before printing anything.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=en_US.UTF-8
out=out/demo
rm -rf "$out/state"
mkdir -p "$out/state" "$out/shots"
rm -f "$out/urls.env"
token=demo-display-token-0001
pos=127.0.0.1:7421
disp=127.0.0.1:7422

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# holder PORT: who listens on 127.0.0.1:PORT (or on every address).
holder() {
	local pid exe
	pid=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
	if [ -z "$pid" ]; then
		printf 'an unknown process (ss -ltnp shows none: another user'"'"'s, without root?)'
		return
	fi
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null || ps -o comm= -p "$pid" 2>/dev/null || true)
	printf '%s (pid %s)' "${exe:-?}" "$pid"
}
taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

moved=""
for hp in "$pos" "$disp"; do
	p=${hp##*:}
	if taken "$p"; then
		[ -z "${DEMO_STRICT_PORTS:-}" ] || die "127.0.0.1:$p is already in use by $(holder "$p"); stop it or unset DEMO_STRICT_PORTS to use free ports"
		moved+="127.0.0.1:$p is in use by $(holder "$p"); "
	fi
done
if [ -n "$moved" ]; then
	# Let the kernel choose: no race with another program picking the same.
	pos=127.0.0.1:0 disp=127.0.0.1:0
fi

agent_flags=(--config "$out/none.toml" --state-dir "$out/state" --pos-listen "$pos" --display-listen "$disp"
	--display-tokens "$token" --demo-page --registers 1)
if [ -z "${MANUAL:-}" ]; then agent_flags+=(--demo); fi
: >"$out/none.toml"
: >"$out/agent.log"
bin/posdisplay-agent "${agent_flags[@]}" 2>"$out/agent.log" &
agent=$!
pids+=("$agent")

# Wait for the agent's start line (it takes about 0.1 s; the 15 s bound is
# for a loaded machine); stop at once if it died.
started=""
for _ in $(seq 300); do
	started=$(grep -m1 'msg="agent started"' "$out/agent.log" || true)
	[ -n "$started" ] && break
	kill -0 "$agent" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$started" ]; then
	cat "$out/agent.log" >&2
	if grep -q 'address already in use' "$out/agent.log"; then
		p=$(grep -o '127.0.0.1:[0-9]*: bind: address already in use' "$out/agent.log" | head -1 | cut -d: -f2)
		die "the demo agent could not listen on 127.0.0.1:$p: in use by $(holder "$p")"
	fi
	die "the demo agent did not start within 15 s (log above, $out/agent.log)"
fi
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$started"; }
pos=$(field pos) disp=$(field display) epoch=$(field epoch)
[ -n "$pos" ] && [ -n "$disp" ] && [ -n "$epoch" ] || die "cannot read the agent's addresses from: $started"
# The agent answering there must be ours (same stream epoch).
health=$(curl -fsS --max-time 2 "http://$pos/healthz") || die "http://$pos/healthz does not answer"
grep -q "\"epoch\":\"$epoch\"" <<<"$health" || die "http://$pos/healthz is not the demo's agent (epoch $epoch): $health"

screen_flags=(--agent "ws://$disp/v1/display" --register 1 --token "$token")
if [ -z "${DISPLAY:-}" ]; then
	n=97
	while [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
	Xvfb ":$n" -screen 0 1024x600x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
	DISPLAY=":$n" bin/posdisplay-screen "${screen_flags[@]}" --screenshot-dir "$out/shots" --screenshot-every 5s 2>"$out/screen.log" &
	pids+=($!)
	shots="no DISPLAY: the screen runs under Xvfb; screenshots every 5 s in $out/shots/"
else
	bin/posdisplay-screen "${screen_flags[@]}" --windowed 2>"$out/screen.log" &
	pids+=($!)
	shots="the customer screen is open in a window"
fi

display_url="http://$disp/display#register=1&token=$token"
cashier_url="http://$pos/demo/#register=1"

cat <<MSG

  posdisplay demo is running.${moved:+
  - ports: ${moved}the demo agent listens on $pos (POS) and $disp (displays) instead}
  - ${shots}
  - web display (tablets):  $display_url
  - demo cashier page:      $cashier_url   $([ -z "${MANUAL:-}" ] && echo "(the simulated cashier also rings up: use MANUAL=1 make demo to drive it yourself)")
  - health:                 http://$pos/healthz    metrics: http://$pos/metrics
  - logs:                   $out/agent.log, $out/screen.log
  The live cart, as a display sees it, follows. Ctrl-C stops the demo.

MSG
# Written after the message above and renamed into place: whoever waits for
# this file (demo-check.sh) finds the message complete and the file whole.
cat >"$out/urls.env.tmp" <<ENV
DEMO_DISPLAY_URL='$display_url'
DEMO_CASHIER_URL='$cashier_url'
DEMO_HEALTH_URL='http://$pos/healthz'
DEMO_METRICS_URL='http://$pos/metrics'
DEMO_EPOCH='$epoch'
DEMO_MANUAL='${MANUAL:-}'
ENV
mv "$out/urls.env.tmp" "$out/urls.env"
if [ -n "${DEMO_NO_WATCH:-}" ]; then
	wait "$agent"
	die "the demo agent stopped (log: $out/agent.log)"
fi
bin/posdisplay-agent watch --agent "ws://$disp/v1/display" --register 1 --token "$token"
