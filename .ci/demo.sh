#!/usr/bin/env bash
# make demo: runs the agent with a simulated cashier, the customer screen in
# a window (under Xvfb with screenshots in out/demo/ when there is no
# DISPLAY), the web display and demo cashier page, and a terminal watcher
# that prints the live cart. Ctrl-C stops everything.
#   MANUAL=1 make demo   drive register 1 yourself from the demo cashier page
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=en_US.UTF-8
out=out/demo
mkdir -p "$out/state" "$out/shots"
token=demo-display-token-0001
pos=127.0.0.1:7421
disp=127.0.0.1:7422

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

agent_flags=(--config "$out/none.toml" --state-dir "$out/state" --pos-listen "$pos" --display-listen "$disp"
  --display-tokens "$token" --demo-page --registers 1)
if [ -z "${MANUAL:-}" ]; then agent_flags+=(--demo); fi
: >"$out/none.toml"
bin/posdisplay-agent "${agent_flags[@]}" 2>"$out/agent.log" &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://$pos/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

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

cat <<MSG

  posdisplay demo is running.
  - ${shots}
  - web display (tablets):  http://$disp/display#register=1&token=$token
  - demo cashier page:      http://$pos/demo/   $( [ -z "${MANUAL:-}" ] && echo "(the simulated cashier also rings up: use MANUAL=1 make demo to drive it yourself)")
  - health:                 http://$pos/healthz    metrics: http://$pos/metrics
  - logs:                   $out/agent.log, $out/screen.log
  The live cart, as a display sees it, follows. Ctrl-C stops the demo.

MSG
bin/posdisplay-agent watch --agent "ws://$disp/v1/display" --register 1 --token "$token"
