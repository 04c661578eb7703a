#!/usr/bin/env bash
# field-test.sh: boot the real Debian packages in an emulated Debian 12
# machine, under systemd as PID 1, with udev and a graphical kiosk session,
# and check what store IT's first boot would do. `make field-test` runs it;
# it is not part of `make test` (it needs root, qemu and about 10 minutes).
#
#   packaging/field-test.sh [--arch amd64] [--keep]
#
# 1. Builds the agent and screen .debs twice (packaging/build-debs.sh): the
#    version under test and a newer build whose conffiles changed.
# 2. Makes (or reuses) a Debian 12 image from Debian's packages
#    (packaging/fieldtest/image.sh, cached under ~/.cache/posdisplay).
# 3. Boots it in qemu (KVM when /dev/kvm works, else TCG) on a throwaway
#    overlay, with user-mode networking to the host's Debian mirror, a USB
#    controller, a VGA display and two virtio channels: a command port to
#    the test system (ft-runner) and QMP to qemu itself.
# 4. Runs the steps of packaging/fieldtest/guest.sh there, one by one, and
#    between them plugs USB devices, types a barcode into the emulated
#    USB-serial scanner and takes screenshots of the emulated display
#    (QMP screendump) into out/fieldtest/.
#
# Every wait is for a marker, with a deadline; nothing sleeps a fixed time.
# Logs: out/fieldtest/ARCH/ (console.log: the serial console; guest.log:
# every command's output). --keep leaves the overlay disk there.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

arches=amd64
keep=no
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arches=${2:?--arch needs a value}; shift 2 ;;
	--arch=*) arches=${1#*=}; shift ;;
	--keep) keep=yes; shift ;;
	-h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) printf 'field-test: unknown argument %s\n' "$1" >&2; exit 2 ;;
	esac
done
[ "$arches" = all ] && arches="amd64 arm64"
case "$arches" in amd64 | arm64 | "amd64 arm64") ;; *) printf 'field-test: --arch %s: want amd64, arm64 or all\n' "$arches" >&2; exit 2 ;; esac

fail() { printf '\nfield-test: FAIL: %s\n' "$*" >&2; exit 1; }
note() { printf 'field-test: %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap and chroot build the image)"

# shellcheck source-path=SCRIPTDIR source=apt.sh
. "$here/apt.sh"
# Every tool of image.sh too: with both architectures, the arm64 image is
# made while amd64 is tested, and two apt-get at once would fight over
# dpkg's lock.
tools=(qemu-system-x86 qemu-utils debootstrap debian-archive-keyring e2fsprogs imagemagick)
case "$arches" in *arm64*) tools+=(qemu-system-arm qemu-user-static cpio kmod) ;; esac
apt_ensure "${tools[@]}" ||
	fail "could not install qemu and its tools (apt's reason above)"

out=$root/out/fieldtest
results=()
result() { results+=("$*"); printf 'field-test: %s\n' "$*" >&2; }

# ---- packages ---------------------------------------------------------------

# build_debs ARCH DIR: the version under test in DIR/v1, a newer build with
# changed conffiles in DIR/v2 (a real upgrade: dpkg has a conffile conflict
# to resolve, and the new binaries report the new version).
build_debs() {
	local a=$1 d=$2 v1 v2 f
	rm -rf "$d"
	mkdir -p "$d/v1" "$d/v2"
	note "$a: building the packages"
	"$here/build-debs.sh" --arch "$a" --out "$d/v1" >"$d/build.log" 2>&1 || { cat "$d/build.log" >&2; fail "build-debs.sh failed"; }
	f=$(ls "$d"/v1/posdisplay-agent_*_"$a".deb)
	v1=$(dpkg-deb -f "$f" Version)
	v2=$v1+fieldtest2
	"$here/build-debs.sh" --arch "$a" --out "$d/v2.build" --version "$v2" >>"$d/build.log" 2>&1 ||
		{ cat "$d/build.log" >&2; fail "build-debs.sh (newer build) failed"; }
	repack "$d/v2.build/posdisplay-agent_${v2}_$a.deb" /etc/posdisplay/agent.toml "$d/v2"
	repack "$d/v2.build/posdisplay-screen_${v2}_$a.deb" /etc/default/posdisplay-screen "$d/v2"
	rm -rf "$d/v2.build"
	printf '%s\n' "$v1" >"$d/v1/VERSION"
	printf '%s\n' "$v2" >"$d/v2/VERSION"
}

# repack DEB CONFFILE DIR: DEB with a line added to CONFFILE, into DIR.
repack() {
	local src=$1 conf=$2 dst=$3 t
	t=$(mktemp -d)
	dpkg-deb -R "$src" "$t/x"
	printf '# changed in the newer build (field test)\n' >>"$t/x$conf"
	(cd "$t/x" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
	dpkg-deb --root-owner-group -b "$t/x" "$dst/$(basename "$src")" >/dev/null
	rm -rf "$t"
}

# ---- qemu -------------------------------------------------------------------

# kvm_usable IMAGE: does a guest make progress under KVM? Opening /dev/kvm
# is not enough: on some nested hosts qemu starts with -accel kvm but the
# guest kernel never gets past its real-mode setup (its vCPU spins). So
# boot the image's kernel for a moment and look for its first line.
kvm_usable() {
	local log pid deadline rc=1
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	log=$(mktemp)
	qemu-system-x86_64 -accel kvm -cpu host -M q35 -m 256 -kernel "$1/vmlinuz" \
		-append "console=ttyS0 earlyprintk=serial edd=off panic=-1" -display none -monitor none \
		-serial "file:$log" -no-reboot </dev/null >/dev/null 2>&1 &
	pid=$!
	deadline=$(($(now_ms) + 20000))
	while [ "$(now_ms)" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do
		if grep -q 'Linux version' "$log"; then rc=0; break; fi
		sleep 0.2
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ "$rc" = 0 ] || note "KVM: /dev/kvm opens but a guest kernel printed nothing in 20 s under it; using TCG"
	rm -f "$log"
	return "$rc"
}

qemu_pid=
scale=1
ft_w='' ft_r='' qmp_w='' qmp_r='' scan_w=''
stop_qemu() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	qemu_pid=
}
arm64_image=
# A failed run stops the arm64 image build it started (nothing of it is
# cached: image.sh keeps only finished images).
trap 'stop_qemu; [ -z "$arm64_image" ] || kill "$arm64_image" 2>/dev/null || true' EXIT

# boot ARCH IMAGE RUN: start qemu on an overlay of IMAGE; fifos in RUN.
boot() {
	local a=$1 img=$2 run=$3 accel cpu p console
	rm -f "$run/disk.qcow2"
	qemu-img create -q -f qcow2 -b "$img/root.img" -F raw "$run/disk.qcow2"
	for p in ft qmp scan; do
		rm -f "$run/$p.in" "$run/$p.out"
		mkfifo "$run/$p.in" "$run/$p.out"
	done
	# Machine per architecture; `scale` stretches the guest steps'
	# deadlines under software emulation.
	local -a machine
	case "$a" in
	amd64)
		if kvm_usable "$img"; then accel=kvm cpu=host scale=1; else accel=tcg cpu=max scale=4; fi
		machine=(qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -M q35 -vga std)
		console=ttyS0 ;;
	arm64)
		# No KVM for a foreign architecture: multi-threaded TCG.
		accel=tcg scale=6
		machine=(qemu-system-aarch64 -accel "tcg,thread=multi" -cpu cortex-a72 -M virt -device virtio-gpu-pci)
		console=ttyAMA0 ;;
	esac
	result "$a: accelerator $accel"
	: >"$run/console.log"
	# nice: two cores are shared with other work on this machine.
	nice -n 10 "${machine[@]}" -m 2048 -smp 2 \
		-kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
		-append "root=/dev/vda rw console=$console net.ifnames=0 systemd.show_status=1" \
		-drive "file=$run/disk.qcow2,if=virtio,format=qcow2" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
		-virtfs "local,path=$run/share,mount_tag=ft,security_model=none,id=ft" \
		-device virtio-serial-pci -chardev "pipe,id=ft,path=$run/ft" -device virtserialport,chardev=ft,name=ft \
		-chardev "pipe,id=qmp,path=$run/qmp" -mon chardev=qmp,mode=control \
		-chardev "pipe,id=scan,path=$run/scan" \
		-device qemu-xhci,id=xhci \
		-display none -serial "file:$run/console.log" \
		</dev/null >"$run/qemu.log" 2>&1 &
	qemu_pid=$!
	# Read-write opens of the fifos never block, whether qemu has them
	# open yet or not.
	exec {ft_w}<>"$run/ft.in" {ft_r}<>"$run/ft.out" {qmp_w}<>"$run/qmp.in" {qmp_r}<>"$run/qmp.out" {scan_w}<>"$run/scan.in"
	qmp_handshake
}

# read_line FD DEADLINE_MS: one line into $line; 1 on timeout or qemu gone.
read_line() {
	local fd=$1 deadline=$2 left
	while :; do
		left=$(((deadline - $(now_ms)) / 1000))
		[ "$left" -gt 0 ] || return 1
		[ "$left" -le 5 ] || left=5
		if IFS= read -r -t "$left" -u "$fd" line; then return 0; fi
		kill -0 "$qemu_pid" 2>/dev/null || { note "qemu exited: $(tail -5 "$run/qemu.log")"; return 1; }
	done
}

qmp_handshake() {
	local deadline
	deadline=$(($(now_ms) + 30000))
	read_line "$qmp_r" "$deadline" || fail "no QMP greeting from qemu: $(cat "$run/qemu.log")"
	qmp '{"execute":"qmp_capabilities"}' >/dev/null
}

# qmp JSON: one QMP command; prints its answer; 1 on an error answer.
qmp() {
	local deadline
	deadline=$(($(now_ms) + 60000))
	printf '%s\n' "$1" >&"$qmp_w"
	while read_line "$qmp_r" "$deadline"; do
		case "$line" in
		*'"event"'*) continue ;;
		*'"return"'*) printf '%s\n' "$line"; return 0 ;;
		*'"error"'*) printf '%s\n' "$line"; return 1 ;;
		esac
	done
	fail "no QMP answer to $1"
}

# wait_ready TIMEOUT_S: wait for ft-runner's FT-READY; prints the guest's
# uptime at that moment.
wait_ready() {
	local deadline
	deadline=$(($(now_ms) + $1 * 1000))
	while read_line "$ft_r" "$deadline"; do
		case "$line" in FT-READY*) printf '%s\n' "${line#FT-READY }"; return 0 ;; esac
	done
	tail -30 "$run/console.log" >&2
	fail "the test system did not come up within $1 s (serial console above)"
}

# guest TIMEOUT_S STEP [ARGS...]: run guest.sh STEP in the test system; its
# output goes to guest.log and (lines "ok:", "measure:", "FAIL:") here.
seq_id=0
guest() {
	local timeout=$(($1 * scale)) deadline id
	shift
	seq_id=$((seq_id + 1))
	id=c$seq_id
	deadline=$(($(now_ms) + timeout * 1000))
	printf '\n### %s guest.sh %s\n' "$id" "$*" >>"$run/guest.log"
	printf '%s FT_SCALE=%s bash /mnt/ft/guest.sh %s\n' "$id" "$scale" "$*" >&"$ft_w"
	while read_line "$ft_r" "$deadline"; do
		case "$line" in
		"FT-END $id "*)
			[ "${line##* }" = 0 ] && return 0
			tail -40 "$run/guest.log" >&2
			fail "guest step '$*' failed (exit ${line##* }; output above, all in $run/guest.log)" ;;
		FT-END*) continue ;;
		esac
		printf '%s\n' "$line" >>"$run/guest.log"
		case "$line" in
		ok:* | FAIL:*) printf '  %s\n' "$line" >&2 ;;
		measure:*) result "$arch: ${line#measure: }" ;;
		esac
	done
	tail -40 "$run/guest.log" >&2
	fail "guest step '$*' timed out after $timeout s (output above)"
}

# shot NAME: screendump of the emulated display into out/fieldtest/NAME.png.
shot() {
	local f=$out/$1.png
	rm -f "$f"
	qmp "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$f\",\"format\":\"png\"}}" >/dev/null ||
		fail "screendump failed"
	[ -s "$f" ] || fail "screendump wrote nothing to $f"
}

# differs A B: number of pixels that differ between two PNGs (compare
# prints large counts as 1.2e+06).
differs() {
	local n
	n=$(compare -metric AE "$1" "$2" null: 2>&1 >/dev/null | cut -d' ' -f1 || true)
	printf '%.0f\n' "${n:-0}" 2>/dev/null || echo 0
}

# panel_shown PNG: is the cart's summary panel (theme colour "panel",
# #1b212b) at 95 % of the width and 90 % of the height? The idle and
# pairing screens have the background (#11151c) there. Their animations
# (the shimmering name, the clock) change enough pixels that an image
# difference alone cannot tell the cart from the idle screen.
panel_shown() {
	local w h
	read -r w h < <(identify -format '%w %h' "$1")
	[ "$(convert "$1" -format "%[hex:p{$((w * 95 / 100)),$((h * 90 / 100))}]" info:)" = 1B212B ]
}

# shot_cart NAME TIMEOUT_S: screendumps until the cart is drawn.
shot_cart() {
	local deadline
	deadline=$(($(now_ms) + $2 * 1000))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		shot "$1"
		panel_shown "$out/$1.png" && return 0
	done
	fail "the cart did not appear on the display within $2 s (last: $out/$1.png)"
}

# shot_until NAME REF MIN_PIXELS TIMEOUT_S: screendumps until one differs
# from REF in at least MIN_PIXELS pixels (the frame after a change is drawn
# asynchronously); keeps it as NAME.
shot_until() {
	local name=$1 ref=$2 min=$3 deadline n
	deadline=$(($(now_ms) + $4 * 1000))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		shot "$name"
		n=$(differs "$out/$name.png" "$ref")
		[ "$n" -ge "$min" ] && return 0
	done
	fail "the display did not change from $(basename "$ref") within $4 s (last: $out/$name.png, $n pixels differ)"
}

# ---- the test ---------------------------------------------------------------

# With both architectures the arm64 image, the longer build (its second
# stage runs under emulation), is made while amd64 is tested.
if [ "$arches" = "amd64 arm64" ]; then
	mkdir -p "$out"
	"$here/fieldtest/image.sh" arm64 >"$out/arm64-image.path" 2>"$out/arm64-image.log" &
	arm64_image=$!
	t_arm64_image=$(now_ms)
	note "arm64: making the image meanwhile (log: $out/arm64-image.log)"
fi

for arch in $arches; do
	run=$out/$arch
	mkdir -p "$run/share"
	rm -f "$run/guest.log"
	t_all=$(now_ms)
	# FIELDTEST_REUSE_DEBS=1: keep the packages of the last run (iterating
	# on the test itself).
	if [ -n "${FIELDTEST_REUSE_DEBS:-}" ] && [ -f "$run/share/dist/v2/VERSION" ]; then
		note "$arch: reusing the packages in $run/share/dist"
	else
		build_debs "$arch" "$run/share/dist"
	fi
	cp "$here/fieldtest/guest.sh" "$run/share/guest.sh"
	t0=$(now_ms)
	if [ "$arch" = arm64 ] && [ -n "$arm64_image" ]; then
		rc=0
		wait "$arm64_image" || rc=$?
		arm64_image=
		[ "$rc" -eq 0 ] || { cat "$out/arm64-image.log" >&2; fail "no arm64 image (its log above)"; }
		img=$(cat "$out/arm64-image.path")
		result "$arch: image $img (made in $((($(now_ms) - t_arm64_image) / 1000)) s, $((($(now_ms) - t0) / 1000)) s of it after amd64)"
	else
		img=$("$here/fieldtest/image.sh" "$arch") || fail "no $arch image (see above)"
		result "$arch: image $img ($((($(now_ms) - t0) / 1000)) s)"
	fi

	t0=$(now_ms)
	boot "$arch" "$img" "$run"
	up=$(wait_ready $((300 * scale)))
	result "$arch: first boot to the command runner: $((($(now_ms) - t0) / 1000)) s wall (guest uptime $up s)"

	guest 60 system
	guest 600 install
	guest 120 agent
	guest 60 scanner_config
	qmp '{"execute":"device_add","arguments":{"driver":"usb-serial","chardev":"scan","bus":"xhci.0","id":"scanserial"}}' >/dev/null ||
		fail "could not plug the USB-serial scanner"
	qmp '{"execute":"device_add","arguments":{"driver":"usb-kbd","bus":"xhci.0","id":"scankbd"}}' >/dev/null ||
		fail "could not plug the USB keyboard"
	guest 120 scanner_plugged
	# A scan: the emulated FTDI adapter's chardev is this fifo.
	printf '4006381333931\r\n' >&"$scan_w"
	guest 60 scanner_scan 4006381333931

	shot "$arch-desktop"
	guest 300 screen_start
	# The window is drawn a moment after the screen logs its first frame.
	shot_until "$arch-pairing" "$out/$arch-desktop.png" 20000 $((60 * scale))
	guest 120 pair
	shot_until "$arch-idle" "$out/$arch-pairing.png" 2000 $((60 * scale))
	guest 30 cart_push
	! panel_shown "$out/$arch-idle.png" || fail "the idle screenshot already shows a cart panel"
	shot_cart "$arch-cart" $((60 * scale))
	result "$arch: screenshots $out/$arch-{desktop,pairing,idle,cart}.png"

	guest 30 cart_clear
	t0=$(now_ms)
	printf 'r%s systemctl reboot\n' "$seq_id" >&"$ft_w"
	up=$(wait_ready $((300 * scale)))
	result "$arch: reboot to the command runner: $((($(now_ms) - t0) / 1000)) s wall"
	guest 180 boot_times
	# The screen is drawn, not only live: the idle screen fills the desktop.
	shot_until "$arch-after-reboot" "$out/$arch-desktop.png" 20000 $((60 * scale))

	guest 600 upgrade
	guest 120 screen_after_upgrade
	guest 300 purge
	printf 'p%s systemctl poweroff\n' "$seq_id" >&"$ft_w"
	deadline=$(($(now_ms) + 120000))
	while kill -0 "$qemu_pid" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do
		read_line "$ft_r" "$((deadline < $(now_ms) + 1000 ? deadline : $(now_ms) + 1000))" || true
	done
	stop_qemu
	[ "$keep" = yes ] || rm -f "$run/disk.qcow2"
	result "$arch: passed in $((($(now_ms) - t_all) / 1000)) s"
done

printf '\nfield-test: all passed\n'
printf '  %s\n' "${results[@]}"
