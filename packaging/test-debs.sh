#!/usr/bin/env bash
# test-debs.sh: check the packages that build-debs.sh put in dist/.
#
#   packaging/test-debs.sh [--dist DIR] [--version V] [--arch amd64|all]
#                          [--no-deps] [--force] [--no-lintian]
#
# 1. lintian --pedantic (info tags too) on every package: any tag fails.
# 2. ELF checks: each binary is built for its package's architecture.
# 3. Installs the amd64 packages with dpkg and checks files, modes, the
#    system user and its groups, the conffile statoverride, the service's
#    enablement, and runs the agent's selfcheck with the shipped conffile.
# 4. systemd-analyze verify on the system and user units (offline: PID 1
#    need not be systemd) and the sandbox's exposure score; then store IT's
#    walkthrough (packaging/walkthrough) on the installed programs.
# 5. Edits the conffiles, upgrades to a copy of the packages with a bumped
#    version and a changed conffile (dpkg --force-confdef --force-confold)
#    and checks that the edits survived and the state was kept.
# 6. dpkg -r keeps /var/lib/posdisplay; dpkg -P removes it.
# 7. Runs the arm64 (qemu-aarch64) and armhf (qemu-arm) agents' version and
#    selfcheck.
# 8. Starts the arm64 screen under qemu-aarch64 on Xvfb and checks that it
#    draws (skipped without the arm64 GL libraries, xvfb and imagemagick).
#
# It installs and purges packages on this machine: run it as root on a
# throwaway machine or CI runner. It refuses to touch a posdisplay-agent or
# posdisplay-screen that it did not install itself, unless --force is given.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
dist=$root/dist
version=
arch_opt=all
install_deps=yes
force=no
run_lintian=yes

fail() { printf '\ntest-debs: FAIL: %s\n' "$*" >&2; exit 1; }
note() { printf 'test-debs: %s\n' "$*" >&2; }
usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--dist) dist=${2:?}; shift 2 ;;
	--dist=*) dist=${1#*=}; shift ;;
	--version) version=${2:?}; shift 2 ;;
	--version=*) version=${1#*=}; shift ;;
	--arch) arch_opt=${2:?}; shift 2 ;;
	--arch=*) arch_opt=${1#*=}; shift ;;
	--no-deps) install_deps=no; shift ;;
	--force) force=yes; shift ;;
	--no-lintian) run_lintian=no; shift ;; # quick iteration only
	-h | --help) usage 0 ;;
	*) note "unknown argument: $1"; usage 2 ;;
	esac
done
case "$arch_opt" in
all) arches="amd64 arm64 armhf" ;;
amd64) arches=amd64 ;;
*) fail "--arch $arch_opt: want amd64 or all (amd64 is always needed for the install test)" ;;
esac

[ "$(id -u)" -eq 0 ] || fail "run as root: the test installs and purges packages with dpkg"

# ---- timing -----------------------------------------------------------------

timings=()
t_start=$(date +%s%N)
t_phase=$t_start
phase() {
	local now
	now=$(date +%s%N)
	if [ -n "${phase_name:-}" ]; then
		timings+=("$(printf '%-40s %6.1f s' "$phase_name" "$(((now - t_phase) / 1000000))e-3")")
	fi
	phase_name=$1
	t_phase=$now
	printf '\n== %s\n' "$1" >&2
}

# ---- apt packages -----------------------------------------------------------

# shellcheck source=apt.sh
. "$here/apt.sh"
need=(lintian systemd man-db binutils file)
case "$arches" in *arm64*) need+=(qemu-user xvfb imagemagick) ;; esac
# The screen's runtime Depends (installed before dpkg -i, which does not
# fetch dependencies).
screen_rt=(libgl1 libx11-6 libx11-xcb1 libxcursor1 libxi6 libxinerama1 libxrandr2 libxrender1 libxxf86vm1)
need+=("${screen_rt[@]}" adduser)
if [ "$install_deps" = yes ]; then
	apt_ensure "${need[@]}" || fail "could not install the test tools (apt's reason above)"
else
	APT_NO_INSTALL=1 apt_ensure "${need[@]}" || fail "missing apt packages"
fi

# ---- find the packages ------------------------------------------------------

if [ -z "$version" ]; then
	newest=$(ls -t "$dist"/posdisplay-agent_*_amd64.deb 2>/dev/null | head -1) ||
		true
	[ -n "$newest" ] || fail "no posdisplay-agent_*_amd64.deb in $dist: run packaging/build-debs.sh first"
	version=$(dpkg-deb -f "$newest" Version)
fi
debs=()
for a in $arches; do
	for p in posdisplay-agent posdisplay-screen; do
		f=$dist/${p}_${version}_$a.deb
		[ -f "$f" ] || fail "$f is missing: run packaging/build-debs.sh --arch $arch_opt"
		debs+=("$f")
	done
done
note "testing version $version: ${#debs[@]} packages"

work=$(mktemp -d /tmp/posdisplay-deb-test.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# ---- 1. lintian -------------------------------------------------------------

if [ "$run_lintian" = yes ]; then
phase "lintian --pedantic (${#debs[@]} packages)"
# Overrides shipped in the packages are honoured; every other tag, down to
# info and pedantic, fails. (lintian warns when run as root; harmless.)
if ! lintian --pedantic --display-info --fail-on error,warning,info,pedantic "${debs[@]}" \
	>"$work/lintian.log" 2>&1; then
	grep -v 'running with root privileges' "$work/lintian.log" >&2 || true
	fail "lintian reported tags (above)"
fi
grep -v 'running with root privileges' "$work/lintian.log" >&2 || true
note "lintian: clean"
else
	note "lintian skipped (--no-lintian)"
fi

# ---- 2. ELF architecture ----------------------------------------------------

phase "binary architectures"
for f in "${debs[@]}"; do
	a=$(dpkg-deb -f "$f" Architecture)
	p=$(dpkg-deb -f "$f" Package)
	[ "$(dpkg-deb -f "$f" Version)" = "$version" ] || fail "$f: Version is not $version"
	d=$work/x-$p-$a
	dpkg-deb -x "$f" "$d"
	bin=$d/usr/bin/$p
	[ -x "$bin" ] || fail "$f: no executable /usr/bin/$p"
	m=$(readelf -h "$bin" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')
	case "$a" in
	amd64) want="Advanced Micro Devices X86-64" ;;
	arm64) want="AArch64" ;;
	armhf) want="ARM" ;;
	esac
	[ "$m" = "$want" ] || fail "$f: binary machine is '$m', want '$want'"
	if [ "$a" = armhf ]; then
		readelf -h "$bin" | grep -q 'hard-float' || [ "$p" = posdisplay-agent ] ||
			fail "$f: not a hard-float ARM binary"
	fi
	if [ "$p" = posdisplay-agent ]; then
		readelf -l "$bin" | grep -q INTERP && fail "$f: the agent must be static (CGO_ENABLED=0)"
	else
		readelf -d "$bin" | grep -q 'NEEDED.*libGL' || fail "$f: the screen does not link libGL"
	fi
	printf '  %-20s %-6s %s\n' "$p" "$a" "$(file -b "$bin" | cut -d, -f1-2)" >&2
done

# ---- 3. install -------------------------------------------------------------

agent_deb=$dist/posdisplay-agent_${version}_amd64.deb
screen_deb=$dist/posdisplay-screen_${version}_amd64.deb
marker=/var/lib/posdisplay-deb-test.installed

phase "dpkg -i (amd64)"
for p in posdisplay-agent posdisplay-screen; do
	if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
		if [ -f "$marker" ] || [ "$force" = yes ]; then
			note "purging $p left from an earlier run"
			dpkg -P "$p" >/dev/null
		else
			fail "$p is already installed on this machine and this test would purge it; rerun with --force"
		fi
	fi
done
[ ! -e /var/lib/posdisplay ] || [ -f "$marker" ] || [ "$force" = yes ] ||
	fail "/var/lib/posdisplay exists (state of a real install?); rerun with --force"
rm -rf /var/lib/posdisplay
touch "$marker"

dpkg -i "$agent_deb" "$screen_deb" >"$work/dpkg-install.log" 2>&1 ||
	{ cat "$work/dpkg-install.log" >&2; fail "dpkg -i failed"; }
grep -iE 'warning|error' "$work/dpkg-install.log" >&2 && fail "dpkg -i printed warnings (above)"

phase "files, user, permissions"
# check_mode PATH MODE OWNER:GROUP
check_mode() {
	[ -e "$1" ] || fail "$1 is missing"
	local got
	got=$(stat -c '%a %U:%G' "$1")
	[ "$got" = "$2 $3" ] || fail "$1: got $got, want $2 $3"
}
check_mode /usr/bin/posdisplay-agent 755 root:root
check_mode /usr/bin/posdisplay-screen 755 root:root
check_mode /etc/posdisplay/agent.toml 640 root:posdisplay
check_mode /etc/posdisplay/screen.toml 644 root:root
check_mode /etc/default/posdisplay-screen 644 root:root
check_mode /var/lib/posdisplay 750 posdisplay:posdisplay
check_mode /usr/lib/systemd/system/posdisplay-agent.service 644 root:root
check_mode /usr/lib/systemd/user/posdisplay-screen.service 644 root:root
check_mode /usr/lib/udev/rules.d/60-posdisplay-scanners.rules 644 root:root
check_mode /usr/libexec/posdisplay-screen/kiosk 755 root:root
check_mode /usr/libexec/posdisplay-screen/session-start 755 root:root
check_mode /etc/xdg/autostart/posdisplay-screen.desktop 644 root:root
check_mode /usr/share/man/man8/posdisplay-agent.8.gz 644 root:root
check_mode /usr/share/man/man1/posdisplay-screen.1.gz 644 root:root
for p in posdisplay-agent posdisplay-screen; do
	check_mode "/usr/share/doc/$p/copyright" 644 root:root
	check_mode "/usr/share/doc/$p/changelog.gz" 644 root:root
	gzip -t "/usr/share/doc/$p/changelog.gz" || fail "$p changelog.gz is not gzip"
done
dpkg-query -W -f='${Conffiles}\n' posdisplay-agent | grep -q ' /etc/posdisplay/agent.toml ' ||
	fail "/etc/posdisplay/agent.toml is not a conffile"
for c in /etc/posdisplay/screen.toml /etc/default/posdisplay-screen /etc/xdg/autostart/posdisplay-screen.desktop; do
	dpkg-query -W -f='${Conffiles}\n' posdisplay-screen | grep -q " $c " || fail "$c is not a conffile"
done
dpkg-statoverride --list /etc/posdisplay/agent.toml | grep -qx 'root posdisplay 640 /etc/posdisplay/agent.toml' ||
	fail "no statoverride root:posdisplay 0640 on the conffile"

pw=$(getent passwd posdisplay) || fail "user posdisplay was not created"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
[ "$uid" -lt 1000 ] || fail "posdisplay uid $uid is not a system uid"
[ "$home" = /var/lib/posdisplay ] || fail "posdisplay home is $home, want /var/lib/posdisplay"
[ "$shell" = /usr/sbin/nologin ] || fail "posdisplay shell is $shell, want /usr/sbin/nologin"
[ "$(getent group posdisplay | cut -d: -f3)" = "$gid" ] || fail "posdisplay's primary group is not posdisplay"
for g in dialout input; do
	id -nG posdisplay | tr ' ' '\n' | grep -qx "$g" || fail "posdisplay is not in group $g"
done
[ -L /etc/systemd/system/multi-user.target.wants/posdisplay-agent.service ] ||
	fail "posdisplay-agent.service was not enabled (deb-systemd-helper)"
[ "$(man -w posdisplay-agent)" = /usr/share/man/man8/posdisplay-agent.8.gz ] || fail "man posdisplay-agent not found"
[ "$(man -w posdisplay-screen)" = /usr/share/man/man1/posdisplay-screen.1.gz ] || fail "man posdisplay-screen not found"
if ldd /usr/bin/posdisplay-screen | grep -q 'not found'; then
	ldd /usr/bin/posdisplay-screen >&2
	fail "posdisplay-screen has unresolved libraries"
fi
got=$(posdisplay-agent version) || fail "posdisplay-agent version failed"
[ "$got" = "posdisplay-agent $version" ] || fail "posdisplay-agent version: got '$got', want 'posdisplay-agent $version'"
# The shipped conffile must load (unknown keys are errors) and the state
# directory be writable by the service user.
out=$(runuser -u posdisplay -- posdisplay-agent selfcheck 2>&1) || { echo "$out" >&2; fail "selfcheck as posdisplay with the shipped conffile"; }
note "$out"
# Every documented default and the scanner examples, uncommented, must load
# too: the file documents only keys the agent knows, with values it accepts.
# The sections after the scanners (Redis, pole displays) stay commented: they
# name files and ports of a real store; register/agent tests parse them.
awk -f "$here/uncomment-defaults.awk" /etc/posdisplay/agent.toml >"$work/agent-defaults.toml"
grep -q '^\[\[scanner\]\]' "$work/agent-defaults.toml" || fail "test: scanner examples not found in agent.toml"
out=$(posdisplay-agent selfcheck --config "$work/agent-defaults.toml" --state-dir "$work/state-defaults" 2>&1) ||
	{ echo "$out" >&2; fail "agent.toml with every documented default uncommented does not load"; }
# The conffile is not world-readable (it may hold tokens).
runuser -u nobody -- cat /etc/posdisplay/agent.toml >/dev/null 2>&1 && fail "nobody can read agent.toml"
# udev parses every rules file when it tests a device: our file must give no
# errors ("file:line message").
dev=$(ls -d /sys/class/tty/* 2>/dev/null | head -1)
if [ -n "$dev" ] && command -v udevadm >/dev/null; then
	udevadm test --action=add "$dev" >"$work/udev.log" 2>&1 || true
	grep -q 'Reading rules file: /usr/lib/udev/rules.d/60-posdisplay-scanners.rules' "$work/udev.log" ||
		fail "udevadm test did not read 60-posdisplay-scanners.rules"
	grep '60-posdisplay-scanners.rules:[0-9]' "$work/udev.log" >&2 && fail "udev rules have errors (above)"
else
	note "no udevadm or tty device: udev rules not parsed"
fi
sh -n /usr/libexec/posdisplay-screen/kiosk || fail "kiosk: shell syntax"
sh -n /usr/libexec/posdisplay-screen/session-start || fail "session-start: shell syntax"

phase "systemd-analyze verify"
# Offline: checks syntax, directives, executables and man pages.
systemd-analyze verify /usr/lib/systemd/system/posdisplay-agent.service >"$work/verify.log" 2>&1 ||
	{ cat "$work/verify.log" >&2; fail "systemd-analyze verify posdisplay-agent.service"; }
[ -s "$work/verify.log" ] && { cat "$work/verify.log" >&2; fail "systemd-analyze verify printed warnings"; }
# The user manager needs a runtime directory, even offline.
mkdir -m 0700 "$work/xdg-runtime"
XDG_RUNTIME_DIR=$work/xdg-runtime systemd-analyze --user verify /usr/lib/systemd/user/posdisplay-screen.service \
	>"$work/verify-user.log" 2>&1 ||
	{ cat "$work/verify-user.log" >&2; fail "systemd-analyze --user verify posdisplay-screen.service"; }
[ -s "$work/verify-user.log" ] && { cat "$work/verify-user.log" >&2; fail "systemd-analyze --user verify printed warnings"; }
if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
	score=$(systemd-analyze security --offline=yes /usr/lib/systemd/system/posdisplay-agent.service 2>/dev/null |
		awk '/Overall exposure level/ {print $(NF-2), $(NF-1)}')
	note "agent sandbox exposure (systemd-analyze security): ${score:-unknown}"
fi

# ---- 4b. store IT's first hour on the installed programs ---------------------

phase "store-IT walkthrough (installed binaries, agent as posdisplay)"
# The walkthrough test of packaging/walkthrough, on what dpkg installed: the
# agent as the service user, the screen on Xvfb in a second network
# namespace; pair, REST cart, the register moves, the screen restarts
# without mDNS, revoke, pair again.
if command -v go >/dev/null && command -v Xvfb >/dev/null && command -v ip >/dev/null; then
	(cd "$root" && PD_WALKTHROUGH_BINDIR=/usr/bin go test -count=1 -run '^TestStoreITWalkthrough$' ./packaging/walkthrough/) >"$work/walk.log" 2>&1 ||
		{ cat "$work/walk.log" >&2; fail "store-IT walkthrough on the installed packages"; }
elif [ "${CI:-}" = true ]; then
	fail "store-IT walkthrough needs go, Xvfb and ip"
else
	note "no go, Xvfb or ip: store-IT walkthrough on the installed packages skipped"
fi

# ---- 5. upgrade over edited conffiles ---------------------------------------

phase "upgrade over edited conffiles"
sed -i 's/^# log_level = "info"$/log_level = "debug"/' /etc/posdisplay/agent.toml
grep -qx 'log_level = "debug"' /etc/posdisplay/agent.toml || fail "could not edit agent.toml"
sed -i 's/^POSDISPLAY_ROTATION=.*/POSDISPLAY_ROTATION=left/' /etc/default/posdisplay-screen
echo keep >/var/lib/posdisplay/deb-test-state
chown posdisplay:posdisplay /var/lib/posdisplay/deb-test-state

# The next version: the same packages with a bumped version and a changed
# conffile, so that dpkg has a real conflict to resolve.
up_version=$version+debtest1
# repack DEB CONFFILE: DEB with Version up_version and a line added to
# CONFFILE (a path inside the package); md5sums updated.
repack() {
	local src=$1 conf=$2 d
	d=$work/repack-$(basename "$src" .deb)
	rm -rf "$d"
	dpkg-deb -R "$src" "$d"
	sed -i "s/^Version: .*/Version: $up_version/" "$d/DEBIAN/control"
	printf '# new comment from version %s\n' "$up_version" >>"$d$conf"
	(cd "$d" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
	dpkg-deb --root-owner-group -Znone -b "$d" "$work/$(basename "${src/_${version}_/_${up_version}_}")" >/dev/null
}
repack "$agent_deb" /etc/posdisplay/agent.toml
repack "$screen_deb" /etc/default/posdisplay-screen
up_agent=$work/posdisplay-agent_${up_version}_amd64.deb
up_screen=$work/posdisplay-screen_${up_version}_amd64.deb
dpkg -i --force-confdef --force-confold "$up_agent" "$up_screen" </dev/null >"$work/dpkg-upgrade.log" 2>&1 ||
	{ cat "$work/dpkg-upgrade.log" >&2; fail "upgrade failed"; }
[ "$(dpkg-query -W -f='${Version}' posdisplay-agent)" = "$up_version" ] || fail "agent not upgraded to $up_version"
[ "$(dpkg-query -W -f='${Version}' posdisplay-screen)" = "$up_version" ] || fail "screen not upgraded to $up_version"
grep -qx 'log_level = "debug"' /etc/posdisplay/agent.toml || fail "the edit of agent.toml was lost on upgrade"
grep -qx 'POSDISPLAY_ROTATION=left' /etc/default/posdisplay-screen || fail "the edit of /etc/default/posdisplay-screen was lost"
[ -f /etc/posdisplay/agent.toml.dpkg-dist ] || fail "the new agent.toml was not kept as agent.toml.dpkg-dist"
check_mode /etc/posdisplay/agent.toml 640 root:posdisplay
check_mode /var/lib/posdisplay 750 posdisplay:posdisplay
[ "$(cat /var/lib/posdisplay/deb-test-state)" = keep ] || fail "state was lost on upgrade"
out=$(runuser -u posdisplay -- posdisplay-agent selfcheck 2>&1) || { echo "$out" >&2; fail "selfcheck after upgrade"; }
rm -f /etc/posdisplay/agent.toml.dpkg-dist
note "edits kept, new conffile versions left as .dpkg-dist"

# ---- 6. remove and purge ----------------------------------------------------

phase "dpkg -r keeps state, dpkg -P removes it"
dpkg -r posdisplay-agent posdisplay-screen >"$work/dpkg-remove.log" 2>&1 ||
	{ cat "$work/dpkg-remove.log" >&2; fail "dpkg -r failed"; }
[ ! -e /usr/bin/posdisplay-agent ] || fail "/usr/bin/posdisplay-agent still there after dpkg -r"
[ -f /var/lib/posdisplay/deb-test-state ] || fail "dpkg -r deleted the state directory"
[ -f /etc/posdisplay/agent.toml ] || fail "dpkg -r deleted the conffile"
getent passwd posdisplay >/dev/null || fail "dpkg -r deleted the user"
dpkg -P posdisplay-agent posdisplay-screen >"$work/dpkg-purge.log" 2>&1 ||
	{ cat "$work/dpkg-purge.log" >&2; fail "dpkg -P failed"; }
[ ! -e /var/lib/posdisplay ] || fail "dpkg -P left /var/lib/posdisplay"
[ ! -e /etc/posdisplay/agent.toml ] || fail "dpkg -P left /etc/posdisplay/agent.toml"
[ ! -e /etc/default/posdisplay-screen ] || fail "dpkg -P left /etc/default/posdisplay-screen"
[ ! -e /etc/systemd/system/multi-user.target.wants/posdisplay-agent.service ] || fail "dpkg -P left the enablement symlink"
dpkg-statoverride --list /etc/posdisplay/agent.toml >/dev/null && fail "dpkg -P left the statoverride"
rm -f "$marker"
note "removed: state kept; purged: state, conffiles, statoverride gone (user posdisplay kept by design)"

# ---- 7. foreign architectures under qemu ------------------------------------

for a in $arches; do
	case "$a" in
	arm64) q=qemu-aarch64 ;;
	armhf) q=qemu-arm ;;
	*) continue ;;
	esac
	phase "$a agent under $q"
	command -v "$q" >/dev/null || fail "$q not found (apt-get install qemu-user)"
	d=$work/x-posdisplay-agent-$a
	got=$("$q" "$d/usr/bin/posdisplay-agent" version) || fail "$a agent version under $q"
	[ "$got" = "posdisplay-agent $version" ] || fail "$a agent version: got '$got', want 'posdisplay-agent $version'"
	mkdir -p "$work/state-$a"
	out=$("$q" "$d/usr/bin/posdisplay-agent" selfcheck --config "$d/etc/posdisplay/agent.toml" \
		--state-dir "$work/state-$a" 2>&1) || { echo "$out" >&2; fail "$a agent selfcheck under $q"; }
	note "$a: $out"
done

# ---- 8. arm64 screen renders under qemu-aarch64 + Xvfb -----------------------

# The cross-built Fyne binary starts and draws (software GL) with the arm64
# libraries of the sysroot it was linked against (packaging/sysroot.sh,
# cached by the build): the host has no arm64 package installed.
case "$arches" in *arm64*)
	phase "arm64 screen under qemu-aarch64 + Xvfb"
	d=$work/x-posdisplay-screen-arm64
	sysroot=$("$here/sysroot.sh" arm64) || fail "no arm64 sysroot (see above)"
	{
		dn=97
		while [ -e "/tmp/.X$dn-lock" ]; do dn=$((dn + 1)); done
		Xvfb ":$dn" -screen 0 1024x600x24 -nolisten tcp >/dev/null 2>&1 &
		xvfb=$!
		mkdir -p "$work/home"
		# A fixed, unreachable agent address: the screen must not browse
		# mDNS on this machine's real interfaces (it shows "connecting").
		HOME=$work/home DISPLAY=:$dn LANG=C.UTF-8 LIBGL_DRIVERS_PATH=$sysroot/usr/lib/aarch64-linux-gnu/dri qemu-aarch64 -L "$sysroot" "$d/usr/bin/posdisplay-screen" \
			-config "$d/etc/posdisplay/screen.toml" -agent ws://127.0.0.1:9/v1/display -register 1 -token not-used-here \
			>"$work/screen-arm64.log" 2>&1 &
		scr=$!
		# The screen draws through Mesa's software GL, emulated instruction
		# by instruction: 11 s on an idle 2-core machine, past 30 s under
		# load. The bound is for a screen that never draws, not a pace.
		ok=no
		for _ in $(seq 1 120); do
			sleep 1
			kill -0 "$scr" 2>/dev/null || break
			DISPLAY=:$dn /usr/bin/import -window root "$work/shot.png" 2>/dev/null || continue
			colors=$(/usr/bin/convert "$work/shot.png" -format '%k' info: 2>/dev/null || echo 0)
			if [ "${colors:-0}" -gt 1 ]; then ok=yes; break; fi
		done
		kill "$scr" 2>/dev/null || true
		# It must stop on SIGTERM; do not let a hang block the whole run.
		stopped=no
		for _ in $(seq 1 40); do
			kill -0 "$scr" 2>/dev/null || { stopped=yes; break; }
			sleep 0.5
		done
		if [ "$stopped" != yes ]; then
			kill -9 "$scr" 2>/dev/null || true
			ok=no
			note "the arm64 screen did not stop within 20 s of SIGTERM"
		fi
		wait "$scr" 2>/dev/null || true
		kill "$xvfb" 2>/dev/null || true
		wait "$xvfb" 2>/dev/null || true
		if [ "$ok" != yes ]; then
			cat "$work/screen-arm64.log" >&2
			fail "the arm64 screen did not draw a window within 120 s under qemu-aarch64"
		fi
		note "arm64 screen drew a window ($colors colours)"
	}
	;;
esac

# ---- 9. the host stayed single-architecture ---------------------------------

# Cross builds must not depend on (or install) foreign-architecture packages:
# a half-synced mirror for one architecture would then break every build.
phase "no foreign-architecture packages on the host"
foreign=$(dpkg-query -W -f='${Package}:${Architecture}\n' 2>/dev/null | grep -vE ":($(dpkg --print-architecture)|all)\$" || true)
if [ -n "$foreign" ]; then
	if [ "${CI:-}" = true ]; then
		fail "foreign-architecture packages are installed: $(echo $foreign | head -c 300)"
	fi
	note "foreign-architecture packages are installed (from an older build?): $(echo $foreign | head -c 300)"
else
	note "none installed (foreign architectures configured: $(dpkg --print-foreign-architectures | tr '\n' ' '))"
fi

phase "done"
total=$((($(date +%s%N) - t_start) / 1000000))
printf '\ntest-debs: PASS (%s)\n' "$version" >&2
printf '  %s\n' "${timings[@]}" >&2
printf '  %-40s %6.1f s\n' total "${total}e-3" >&2
