#!/bin/bash
# guest.sh: the steps of the field test, run inside the emulated Debian 12
# system by ft-runner (packaging/field-test.sh sends "guest.sh STEP"). Each
# step prints "ok: ..." for what it checked, "measure: ..." for numbers, and
# exits non-zero with "FAIL: ..." at the first thing that is wrong. Waits
# poll a condition with a deadline; nothing sleeps a fixed time.
set -euo pipefail

share=/mnt/ft
state=/var/lib/ft # the test's own notes, kept across the reboot
mkdir -p "$state"
agent_conf=/etc/posdisplay/agent.toml
screen_default=/etc/default/posdisplay-screen
backend_token=fieldtest-backend-token-0123456789
kiosk=kiosk
serial_dev=/dev/posdisplay-scanner-tty-0403-6001 # qemu's usb-serial is an FTDI FT232 (0403:6001)
hid_dev=/dev/posdisplay-scanner-hid-0627-0001    # qemu's usb-kbd (0627:0001)

ok() { printf 'ok: %s\n' "$*"; }
measure() { printf 'measure: %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*"
	printf -- '--- the agent journal (last 25 lines):\n'
	agent_log -n 25 2>/dev/null || true
	printf -- '--- the screen journal (last 25 lines):\n'
	screen_log -n 25 2>/dev/null || true
	exit 1
}

# wait_for SECONDS WHAT CMD...: run CMD every 0.1 s until it succeeds.
# FT_SCALE (from field-test.sh) stretches SECONDS under software emulation.
wait_for() {
	local secs=$(($1 * ${FT_SCALE:-1})) what=$2 end
	shift 2
	end=$(($(date +%s%N) + secs * 1000000000))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$end" ] || fail "$what: not within $secs s"
		sleep 0.1
	done
}

healthz() { curl -fsS --max-time 2 http://127.0.0.1:7421/healthz; }
healthy() { healthz | grep -q '"status":"ok"'; }
main_pid() { systemctl show -P MainPID posdisplay-agent; }
version_of() { cat "$share/dist/$1/VERSION"; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# Journal of the kiosk's user unit. Root reads every user's journal, but
# --user-unit also matches the caller's uid: match the unit field instead.
screen_unit=_SYSTEMD_USER_UNIT=posdisplay-screen.service
screen_log() { journalctl -q --no-pager -o cat "$@" "$screen_unit"; }
agent_log() { journalctl -q --no-pager -o cat -u posdisplay-agent.service "$@"; }
# mark NAME: remember the journal's end; after NAME: lines since then.
mark() { journalctl -q -n0 --show-cursor | sed -n 's/^-- cursor: //p' >"$state/$1.cursor"; }
after() { printf -- '--after-cursor=%s' "$(cat "$state/$1.cursor")"; }
# logged agent|screen MARK|-b PATTERN [COUNT]: has the journal of the agent
# or the screen at least COUNT (1) lines matching PATTERN since MARK (or in
# this boot, -b)?
logged() {
	local since
	if [ "$2" = -b ]; then since=-b; else since=$(after "$2"); fi
	if [ "$1" = agent ]; then
		[ "$(agent_log "$since" | grep -c -- "$3")" -ge "${4:-1}" ]
	else
		[ "$(screen_log "$since" | grep -c -- "$3")" -ge "${4:-1}" ]
	fi
}
# new_pid OLD: has the agent a main process other than OLD?
new_pid() { local p; p=$(main_pid); [ "$p" != 0 ] && [ "$p" != "$1" ]; }
user_ctl() { runuser -u "$kiosk" -- env XDG_RUNTIME_DIR="/run/user/$(id -u "$kiosk")" systemctl --user "$@"; }

step_system() {
	[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
	ok "PID 1 is systemd $(systemctl --version | head -1 | cut -d' ' -f2), kernel $(uname -r), $(dpkg --print-architecture)"
	s=$(timeout $((120 * ${FT_SCALE:-1})) systemctl is-system-running --wait || true)
	case "$s" in
	running) ok "system state: running" ;;
	*) systemctl --failed --no-legend; fail "system state: $s" ;;
	esac
	wait_for 60 "network (default route)" ip -4 route show default
	ok "network: $(ip -4 -o addr show dev eth0 | awk '{print $4}')"
	grep -h '^deb ' /etc/apt/sources.list | sed 's/^/  apt: /'
}

step_install() {
	local v d
	v=$(version_of v1)
	d=/tmp/ft-debs/v1
	mkdir -p "$d"
	cp "$share/dist/v1/"*.deb "$d/"
	chmod 0644 "$d"/*.deb
	apt-get update -q >/tmp/ft-apt.log 2>&1 || { cat /tmp/ft-apt.log; fail "apt-get update"; }
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "$d/posdisplay-agent_${v}_$(dpkg --print-architecture).deb" \
		"$d/posdisplay-screen_${v}_$(dpkg --print-architecture).deb" >/tmp/ft-apt.log 2>&1; then
		cat /tmp/ft-apt.log
		fail "apt-get install ./posdisplay-agent.deb ./posdisplay-screen.deb"
	fi
	cat /tmp/ft-apt.log
	ok "apt-get install of both .debs $v; $(grep -c '^Get:' /tmp/ft-apt.log || true) packages fetched from the mirror"
	for p in posdisplay-agent posdisplay-screen; do
		[ "$(dpkg-query -W -f='${db:Status-Status} ${Version}' $p)" = "installed $v" ] || fail "$p is not installed at $v"
	done
	[ "$(systemctl is-enabled posdisplay-agent)" = enabled ] || fail "posdisplay-agent is not enabled"
	wait_for 30 "posdisplay-agent active" systemctl is-active posdisplay-agent
	ok "posdisplay-agent.service enabled and active (started by the package's postinst)"
}

step_agent() {
	local pid t0 t1 old n0 n1
	wait_for 30 "/healthz" healthy
	ok "/healthz: $(healthz)"
	pid=$(main_pid)
	# The packaged hardening, as the kernel sees the process.
	[ "$(stat -c %U "/proc/$pid")" = posdisplay ] || fail "runs as $(stat -c %U "/proc/$pid"), not posdisplay"
	grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" || fail "NoNewPrivs is not set"
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" || fail "no seccomp filter (SystemCallFilter)"
	grep -q '^CapBnd:[[:space:]]*0000000000000000' "/proc/$pid/status" || fail "capability bounding set not empty"
	grep -q '^CapEff:[[:space:]]*0000000000000000' "/proc/$pid/status" || fail "effective capabilities not empty"
	id -nG posdisplay | tr ' ' '\n' | grep -qx dialout || fail "posdisplay is not in dialout"
	# ProtectSystem=strict: /usr and /etc are read-only in the service's
	# mount namespace, even for root.
	for d in /usr /etc; do
		if nsenter -t "$pid" -m touch "$d/.ft-probe" 2>/dev/null; then
			rm -f "$d/.ft-probe"
			fail "$d is writable in the service's mount namespace (ProtectSystem=strict)"
		fi
	done
	nsenter -t "$pid" -m touch /var/lib/posdisplay/.ft-probe || fail "the state directory is not writable for the service"
	rm -f /var/lib/posdisplay/.ft-probe
	ok "hardening in effect: user posdisplay, NoNewPrivs, seccomp, no capabilities, read-only system (pid $pid)"
	ok "systemd-analyze security: $(systemd-analyze security posdisplay-agent 2>/dev/null | tail -1 | sed 's/^→ //')"
	agent_log -b | grep -q 'agent started' || fail "no 'agent started' in the journal"
	ok "journal: $(agent_log -b | grep 'agent started' | tail -1 | cut -c1-160)"

	t0=$(ms)
	systemctl restart posdisplay-agent
	wait_for 30 "/healthz after restart" healthy
	t1=$(ms)
	[ "$(main_pid)" != "$pid" ] || fail "systemctl restart kept the same process"
	ok "systemctl restart: new pid $(main_pid), /healthz ok"
	measure "agent: systemctl restart to /healthz ok: $((t1 - t0)) ms"

	old=$(main_pid)
	n0=$(systemctl show -P NRestarts posdisplay-agent)
	t0=$(ms)
	kill -9 "$old"
	wait_for 30 "restart after kill -9" new_pid "$old"
	wait_for 30 "/healthz after kill -9" healthy
	t1=$(ms)
	n1=$(systemctl show -P NRestarts posdisplay-agent)
	[ "$n1" -gt "$n0" ] || fail "NRestarts did not grow ($n0 -> $n1)"
	agent_log -b | grep -q 'status=9/KILL' || fail "the journal does not show the kill"
	ok "kill -9 $old: systemd restarted it (pid $(main_pid), NRestarts $n0 -> $n1)"
	measure "agent: kill -9 to /healthz ok again: $((t1 - t0)) ms (RestartSec=2s)"
}

step_scanner_config() {
	# A scanner of a make the packaged rules do not list: the local rule the
	# documentation tells store IT to add (docs/install.md, Troubleshooting).
	cat >/etc/udev/rules.d/59-posdisplay-local.rules <<'RULES'
SUBSYSTEMS=="usb", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001", ENV{POSDISPLAY_SCANNER}="1"
SUBSYSTEMS=="usb", ATTRS{idVendor}=="0627", ATTRS{idProduct}=="0001", ENV{POSDISPLAY_SCANNER}="1"
RULES
	udevadm control --reload
	# Edits of the conffile, kept across the upgrade later.
	sed -i 's/^# log_level = "info"/log_level = "debug"/' "$agent_conf"
	sed -i "s/^# backend_token = \"\"/backend_token = \"$backend_token\"/" "$agent_conf"
	cat >>"$agent_conf" <<EOT

# Added by the field test.
[[scanner]]
name = "lane1-serial"
kind = "serial"
  [scanner.serial]
  path = "$serial_dev"

[[scanner]]
name = "lane1-hid"
kind = "hid"
  [scanner.hid]
  path = "$hid_dev"
EOT
	runuser -u posdisplay -- posdisplay-agent selfcheck --config "$agent_conf" || fail "selfcheck of the edited agent.toml"
	mark scanners
	systemctl restart posdisplay-agent
	wait_for 30 "/healthz" healthy
	wait_for 30 "agent waits for the scanners" logged agent scanners 'scanner waiting for device'
	ok "agent configured with a serial and a HID scanner, both unplugged: $(agent_log "$(after scanners)" | grep -c 'scanner waiting for device') waiting"
}

step_scanner_plugged() {
	wait_for 60 "udev names $serial_dev" test -e "$serial_dev"
	wait_for 60 "udev names $hid_dev" test -e "$hid_dev"
	lsusb | sed 's/^/  /'
	for d in "$serial_dev:dialout" "$hid_dev:input"; do
		dev=${d%:*}
		want=${d#*:}
		got=$(stat -L -c '%G %a' "$dev")
		[ "$got" = "$want 660" ] || fail "$dev: group and mode $got, want $want 660"
		ok "udev rule fired: $dev -> $(readlink "$dev"), $got"
	done
	udevadm info "$serial_dev" | grep -q 'ID_MM_DEVICE_IGNORE=1' || fail "ModemManager is not told to leave the scanner alone"
	wait_for 30 "agent opens both scanners" logged agent scanners 'scanner connected' 2
	agent_log "$(after scanners)" | grep 'scanner connected' | sed 's/^/  /'
	ok "the agent opened both scanners when they were plugged in"
	mark scan
}

step_scanner_scan() {
	wait_for 30 "the scan in the agent's log" logged agent scan 'scan waits for the POS page'
	ok "scan typed into the emulated USB-serial port reached the agent: $(agent_log "$(after scan)" | grep 'scan waits' | head -1 | cut -c1-160)"
}

step_screen_start() {
	mark screen
	# A new graphical login (what a reboot would do): LightDM logs the kiosk
	# user in, Openbox runs /etc/xdg/autostart, session-start starts the
	# user unit.
	t0=$(ms)
	systemctl restart lightdm
	wait_for 120 "kiosk user unit active" user_ctl is-active posdisplay-screen.service
	wait_for 120 "the screen's first frame" logged screen screen 'first frame'
	t1=$(ms)
	ok "graphical login started the kiosk through the packaged autostart and user unit: $(screen_log "$(after screen)" | grep 'first frame' | tail -1)"
	measure "screen: login to first frame: $((t1 - t0)) ms"
	ps -o user=,args= -p "$(pgrep -d, -f /usr/bin/posdisplay-screen)" | sed 's/^/  /'
	wait_for 120 "a pairing code on the screen" logged screen screen 'pairing code'
	ok "unpaired screen found the agent by mDNS: $(screen_log "$(after screen)" | grep 'pairing code' | tail -1)"
}

step_pair() {
	code=$(screen_log "$(after screen)" | grep 'pairing code' | tail -1 | sed -n 's/.* code=\([^ ]*\).*/\1/p')
	[ -n "$code" ] || fail "no code in the screen's log"
	posdisplay-agent pair "$code"
	wait_for 60 "screen paired" logged screen screen 'msg=paired'
	wait_for 60 "screen live" logged screen screen 'status=live'
	ok "paired with code $code; screen status: $(screen_log "$(after screen)" | grep 'status=live' | tail -1)"
	posdisplay-agent displays list | sed 's/^/  /'
}

step_cart_push() {
	local ans
	# The cart of register/protocol/testdata/golden/rest_cart.json.
	ans=$(curl -sS -X POST http://127.0.0.1:7421/v1/registers/1/cart \
		-H "Authorization: Bearer $backend_token" -H 'Content-Type: application/json' --data-binary @- <<'CART'
{"register":"1","order":"A-1001","currency":"USD","state":"open",
 "lines":[{"id":"l1","sku":"sku-1","barcode":"4006381333931","title":"Apples","quantity":1.25,"unit":"kg","unit_price":299,"discount":0,"total":374},
          {"id":"l2","title":"Milk 1 L","quantity":2,"unit_price":129,"discount":20,"total":238},
          {"id":"l3","title":"Bread","quantity":1,"unit_price":350,"discount":0,"total":350,"note":"day old"}],
 "subtotal":962,"discount":50,"taxes":[{"label":"Sales tax 8%","amount":73}],"total":985}
CART
	) || fail "POST /v1/registers/1/cart"
	case "$ans" in *'"ack"'*) ;; *) fail "cart push answered $ans" ;; esac
	ok "cart pushed through REST: $ans"
}

step_cart_clear() {
	curl -fsS -X DELETE http://127.0.0.1:7421/v1/registers/1/cart -H "Authorization: Bearer $backend_token" >/dev/null ||
		fail "DELETE /v1/registers/1/cart"
	ok "cart cleared"
}

# mono LINE-PATTERN MATCH: monotonic seconds of the first journal line of
# this boot matching PATTERN and the journal MATCH (FIELD=VALUE).
mono() {
	# Through a file: grep -m1 would end journalctl with SIGPIPE (pipefail).
	journalctl -q -b -o short-monotonic "$2" >/tmp/ft-mono.log
	grep -m1 -- "$1" /tmp/ft-mono.log | sed 's/^\[ *\([0-9.]*\)\].*/\1/' || echo unknown
}

step_boot_times() {
	wait_for 150 "screen live after the reboot" logged screen -b 'status=live'
	# Paired, the screen is live before its window is first drawn.
	wait_for 150 "the screen's first frame after the reboot" logged screen -b 'first frame'
	if screen_log -b | grep -q 'pairing code'; then fail "the screen asked to pair again after the reboot"; fi
	ok "after the reboot the screen reconnected with its pairing: $(screen_log -b | grep 'status=live' | head -1)"
	local frame live started exec
	frame=$(mono 'first frame' "$screen_unit")
	live=$(mono 'status=live' "$screen_unit")
	started=$(mono 'agent started' _SYSTEMD_UNIT=posdisplay-agent.service)
	exec=$(systemctl show -P ExecMainStartTimestampMonotonic posdisplay-agent)
	measure "boot (kernel start) to the screen's first frame: $frame s; to the live idle screen: $live s"
	measure "boot (kernel start) to 'agent started': $started s; agent exec to 'agent started': $(awk -v a="$started" -v e="$exec" 'BEGIN{printf "%.0f", a*1000-e/1000}') ms"
	measure "systemd-analyze: $(systemd-analyze time 2>&1 | head -1 || true)"
	wait_for 30 "/healthz" healthy
}

# paired_displays: ID, name and register of each paired display (the
# status column changes when a screen reconnects, which is not a change of
# pairing).
paired_displays() {
	posdisplay-agent displays list | awk 'NR > 1 && /^[[:alnum:]]/ && !/^waiting/ { print $1, $2, $3 }'
}

step_upgrade() {
	local v1 v2 d ids0 ids1
	v1=$(version_of v1)
	v2=$(version_of v2)
	# Store IT's edit of the screen's defaults (the agent.toml edits are
	# from step_scanner_config).
	sed -i 's/^POSDISPLAY_ARGS=$/POSDISPLAY_ARGS="-log-level debug"/' "$screen_default"
	grep -qx 'POSDISPLAY_ARGS="-log-level debug"' "$screen_default" || fail "could not edit $screen_default"
	ids0=$(paired_displays)
	[ -n "$ids0" ] || fail "no paired display before the upgrade: nothing to keep"
	d=/tmp/ft-debs/v2
	mkdir -p "$d"
	cp "$share/dist/v2/"*.deb "$d/"
	chmod 0644 "$d"/*.deb
	old_pid=$(main_pid)
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"$d"/posdisplay-agent_*.deb "$d"/posdisplay-screen_*.deb >/tmp/ft-apt.log 2>&1; then
		cat /tmp/ft-apt.log
		fail "upgrade to $v2"
	fi
	grep -E 'Unpacking|Setting up|Configuration file' /tmp/ft-apt.log | sed 's/^/  /'
	for p in posdisplay-agent posdisplay-screen; do
		[ "$(dpkg-query -W -f='${Version}' $p)" = "$v2" ] || fail "$p not upgraded to $v2"
	done
	ok "upgraded $v1 -> $v2 with apt-get install (--force-confold)"
	grep -qx 'log_level = "debug"' "$agent_conf" || fail "the edit of agent.toml was lost"
	grep -q "^path = \"$serial_dev\"\|^  path = \"$serial_dev\"" "$agent_conf" || fail "the scanners in agent.toml were lost"
	grep -qx 'POSDISPLAY_ARGS="-log-level debug"' "$screen_default" || fail "the edit of $screen_default was lost"
	{ [ -f "$agent_conf.dpkg-dist" ] && [ -f "$screen_default.dpkg-dist" ]; } || fail "the new conffiles were not left as .dpkg-dist"
	ok "edited conffiles kept; the new versions are beside them as .dpkg-dist"
	[ "$(stat -c '%U:%G %a' "$agent_conf")" = "root:posdisplay 640" ] || fail "agent.toml permissions changed"
	wait_for 30 "agent restarted by the upgrade" new_pid "$old_pid"
	wait_for 30 "/healthz after the upgrade" healthy
	agent_log -b | grep 'agent started' | tail -1 | grep -q "version=$v2" || fail "the running agent is not $v2"
	ok "agent restarted by the upgrade, runs $v2"
	ids1=$(paired_displays)
	[ "$ids0" = "$ids1" ] || fail "paired displays changed across the upgrade: '$ids0' -> '$ids1'"
	ok "the agent's paired displays are kept"
}

step_screen_after_upgrade() {
	local v2
	v2=$(version_of v2)
	mark upgraded
	user_ctl restart posdisplay-screen.service
	wait_for 60 "screen $v2 starting" logged screen upgraded "screen starting.*version=$v2"
	wait_for 90 "screen live after the upgrade" logged screen upgraded 'status=live'
	if screen_log "$(after upgraded)" | grep -q 'pairing code'; then fail "the upgraded screen asked to pair again"; fi
	pgrep -a -f /usr/bin/posdisplay-screen | grep -q -- '-log-level debug' || fail "the edited POSDISPLAY_ARGS (-log-level debug) did not reach the screen"
	ok "screen $v2 reconnected with its pairing (no new code), with the edited kiosk settings"
}

step_purge() {
	local left=""
	DEBIAN_FRONTEND=noninteractive apt-get purge -y posdisplay-agent posdisplay-screen >/tmp/ft-apt.log 2>&1 ||
		{ cat /tmp/ft-apt.log; fail "apt-get purge"; }
	for f in /etc/posdisplay /var/lib/posdisplay /usr/bin/posdisplay-agent /usr/bin/posdisplay-screen \
		/usr/lib/systemd/system/posdisplay-agent.service /usr/lib/systemd/user/posdisplay-screen.service \
		/etc/systemd/system/multi-user.target.wants/posdisplay-agent.service \
		/usr/lib/udev/rules.d/60-posdisplay-scanners.rules /etc/xdg/autostart/posdisplay-screen.desktop \
		/etc/default/posdisplay-screen /usr/libexec/posdisplay-screen /usr/share/doc/posdisplay-agent /var/lib/systemd/deb-systemd-helper-enabled/posdisplay-agent.service.dsh-also; do
		[ ! -e "$f" ] || left="$left $f"
	done
	[ -z "$left" ] || fail "left after purge:$left"
	if dpkg-statoverride --list /etc/posdisplay/agent.toml >/dev/null 2>&1; then fail "statoverride left"; fi
	[ "$(systemctl show -P LoadState posdisplay-agent)" = not-found ] || fail "posdisplay-agent.service still loaded"
	if pgrep -f /usr/bin/posdisplay-agent >/dev/null; then fail "posdisplay-agent still running"; fi
	ok "purge removed the packages' files, conffiles, state, unit, udev rule and autostart entry; the agent is stopped"
	if pgrep -f /usr/bin/posdisplay-screen >/dev/null; then
		printf 'note: the kiosk process of the running session survives the purge (its binary is deleted) until the session ends\n'
	fi
	ok "kept by design: user posdisplay ($(id posdisplay)), the kiosk user's pairing in ~$kiosk/.local/state/posdisplay-screen"
}

step=${1:?step}
shift
"step_$step" "$@"
