#!/usr/bin/env bash
# image.sh: a Debian 12 system image for the field test (packaging/field-test.sh),
# made only from Debian's packages: debootstrap, Debian's kernel and its
# initramfs, systemd, udev, and a graphical session of the kind a store
# screen has (Xorg, LightDM logging a kiosk user in, Openbox, which runs
# the XDG autostart entries).
#
#   packaging/fieldtest/image.sh amd64|arm64     prints the image's directory
#
# The directory holds root.img (raw ext4, the whole system), vmlinuz and
# initrd.img (Debian's, from /boot of that system), booted directly by
# qemu. Nothing of posdisplay is in it: the test installs the packages.
# ft-runner reads shell commands from a virtio-serial port and answers with
# their output and an end marker (see field-test.sh).
#
# amd64: debootstrap, then provision.sh in a chroot on the host.
# arm64: debootstrap --foreign on the host, then the second stage and
# provision.sh in a chroot whose arm64 programs run under qemu-user
# (foreign.sh: binfmt_misc in a user namespace of its own, Linux 6.7 and
# later; the host's binfmt_misc is not mounted here and is never touched).
# Where the kernel cannot do that, qemu-system-aarch64 boots Debian's arm64
# kernel with a small initramfs made here from Debian's busybox-static and
# the kernel's own modules, which runs the same two steps in the emulated
# machine and powers off (slower: 40 to 90 minutes on 2 cores). Either way
# the kernel and the initramfs initramfs-tools made are Debian's own.
#
# Cached in $PD_CACHE/fieldtest/ARCH-KEY (default ~/.cache/posdisplay),
# KEY a hash of the package lists, the mirrors and these scripts; the
# downloaded .debs in $PD_CACHE/fieldtest/debs-ARCH.
#
# Environment: PD_CACHE, PD_DEBIAN_MIRROR, PD_DEBIAN_SECURITY_MIRROR (as
# packaging/sysroot.sh: default the host's mirrors, else deb.debian.org).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../apt.sh
. "$here/../apt.sh"

die() { printf 'fieldtest image: error: %s\n' "$*" >&2; exit 1; }
note() { printf 'fieldtest image: %s\n' "$*" >&2; }

arch=${1:-}
case "$arch" in
amd64 | arm64) ;;
*) die "usage: image.sh amd64|arm64" ;;
esac
codename=bookworm

# The base system, and the graphical session a store screen runs. The
# posdisplay packages' own dependencies are not listed: apt fetches what is
# missing from the mirror when the test installs the .debs.
base_pkgs=(systemd-sysv udev dbus libpam-systemd "linux-image-$arch" initramfs-tools iproute2 curl
	ca-certificates procps kmod locales usbutils busybox-static)
session_pkgs=(xserver-xorg-core xserver-xorg-input-libinput lightdm lightdm-gtk-greeter openbox
	python3-xdg x11-xserver-utils)

debian_mirrors

cache=${PD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posdisplay}/fieldtest
key=$({
	printf '%s\n' "$arch" "$codename" "$mirror" "$sec_mirror" "${base_pkgs[@]}" "${session_pkgs[@]}"
	cat "$0" "$here/ft-runner" "$here/provision.sh" "$here/foreign.sh"
} | sha256sum | cut -c1-16)
dir=$cache/$arch-$key
if [ -f "$dir/.done" ]; then
	printf '%s\n' "$dir"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "building the image needs root (debootstrap, chroot)"
tools=(debootstrap debian-archive-keyring e2fsprogs)
[ "$arch" = arm64 ] && tools+=(qemu-user-static qemu-system-arm cpio kmod)
apt_ensure "${tools[@]}" >&2 || die "could not install ${tools[*]} (apt's reason above)"

mkdir -p "$cache/debs-$arch"
work=$dir.tmp.$$
rootfs=$work/rootfs
mounted=()
unmount_all() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
	mounted=()
}
qemu_pid=
cleanup() {
	unmount_all
	[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$rootfs"
t0=$(date +%s)
log=$work/build.log

foreign=()
[ "$arch" = amd64 ] || foreign=(--foreign)
note "$arch: debootstrap ${foreign[*]} $codename from $mirror"
if ! debootstrap "${foreign[@]}" --arch "$arch" --include="$(IFS=,; echo "${base_pkgs[*]}")" \
	--cache-dir="$cache/debs-$arch" --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
	"$codename" "$rootfs" "$mirror" >"$log" 2>&1; then
	tail -40 "$log" >&2
	[ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -40 "$rootfs/debootstrap/debootstrap.log" >&2
	die "debootstrap failed (its log above)"
fi
install -D -m 0755 "$here/ft-runner" "$rootfs/usr/local/sbin/ft-runner"
install -m 0755 "$here/provision.sh" "$rootfs/provision.sh"
if [ "$arch" = arm64 ]; then
	# initramfs-tools with the drivers of qemu's virt machine only
	# (MODULES=list): its default, every storage driver (MODULES=most),
	# took over 10 minutes to collect under emulation.
	mkdir -p "$rootfs/etc/initramfs-tools/conf.d" "$rootfs/usr/share/initramfs-tools/modules.d"
	printf 'MODULES=list\n' >"$rootfs/etc/initramfs-tools/conf.d/fieldtest.conf"
	printf '%s\n' virtio_pci virtio_mmio virtio_blk virtio_net virtio_console ext4 crc32c_generic \
		>"$rootfs/usr/share/initramfs-tools/modules.d/fieldtest"
fi

# finish RUN...: provision.sh run in the root by RUN (a chroot command);
# then Debian's kernel and initramfs are copied out and the root made into
# root.img.
finish() {
	cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
	note "$arch: provisioning in a chroot (${session_pkgs[*]})"
	"$@" /bin/bash /provision.sh "$mirror" "$sec_mirror" "${session_pkgs[@]}" >"$log" 2>&1 ||
		{ tail -60 "$log" >&2; die "provision.sh failed (log above)"; }
	rm -f "$rootfs/provision.sh"
	kver=$(find "$rootfs/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)
	cp "$rootfs/boot/vmlinuz-$kver" "$work/vmlinuz"
	cp "$rootfs/boot/initrd.img-$kver" "$work/initrd.img"
	note "$arch: making root.img (ext4)"
	truncate -s 6G "$work/root.img"
	mkfs.ext4 -q -F -L root -d "$rootfs" "$work/root.img" >"$log" 2>&1 || { cat "$log" >&2; die "mkfs.ext4 -d failed"; }
}

# host_chroot CMD...: a native chroot in the root, /proc /sys /dev mounted
# for CMD.
host_chroot() {
	local m rc=0
	for m in proc sys dev dev/pts; do
		[ -L "$rootfs/$m" ] && rm -f "$rootfs/$m"
		mkdir -p "$rootfs/$m"
		case $m in
		proc) mount -t proc proc "$rootfs/proc" ;;
		sys) mount -t sysfs sys "$rootfs/sys" ;;
		dev) mount --bind /dev "$rootfs/dev" ;;
		dev/pts) mount -t devpts devpts "$rootfs/dev/pts" ;;
		esac
		mounted+=("$rootfs/$m")
	done
	chroot "$rootfs" "$@" || rc=$?
	unmount_all
	return "$rc"
}

# Can the target's programs run here under qemu-user (foreign.sh)?
user_emu=0
[ "$arch" = amd64 ] || "$here/foreign.sh" "$rootfs" /bin/true 2>>"$log" || user_emu=$?
if [ "$arch" = amd64 ]; then
	finish host_chroot
elif [ "$user_emu" -eq 0 ]; then
	note "$arch: debootstrap second stage under qemu-user"
	# container=lxc: a user namespace may not mknod; debootstrap then
	# checks the target and sets /dev up as it does in a container.
	if ! "$here/foreign.sh" "$rootfs" /usr/bin/env container=lxc /debootstrap/debootstrap --second-stage >"$log" 2>&1; then
		tail -40 "$log" >&2
		[ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -40 "$rootfs/debootstrap/debootstrap.log" >&2
		die "the second stage under qemu-user failed (log above)"
	fi
	finish "$here/foreign.sh" "$rootfs"
else
	note "$arch: qemu-user cannot run here (foreign.sh exit $user_emu; exit 3: this kernel gives a user namespace no binfmt_misc of its own); the second stage runs in an emulated machine"
	# The kernel and busybox of the target, from the .debs debootstrap
	# fetched; a few of the kernel's modules into a small initramfs.
	archives=$rootfs/var/cache/apt/archives
	kdeb=$(find "$archives" -name 'linux-image-[0-9]*-arm64_*.deb' | sort -V | tail -1)
	bdeb=$(find "$archives" -name 'busybox-static_*.deb' | head -1)
	{ [ -n "$kdeb" ] && [ -n "$bdeb" ]; } || die "debootstrap did not fetch the kernel or busybox-static"
	dpkg-deb -x "$kdeb" "$work/k"
	dpkg-deb -x "$bdeb" "$work/bb"
	kver=$(find "$work/k/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -1)
	cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz.stage2"
	ird=$work/initramfs
	mkdir -p "$ird/bin" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/root" "$ird/lib/modules/$kver/kernel"
	cp "$work/bb/bin/busybox" "$ird/bin/busybox"
	ln -s busybox "$ird/bin/sh"
	for p in fs/ext4 fs/jbd2 fs/mbcache.ko lib crypto drivers/virtio drivers/block/virtio_blk.ko \
		drivers/net/virtio_net.ko drivers/net/net_failover.ko net/core/failover.ko; do
		src=$work/k/lib/modules/$kver/kernel/$p
		[ -e "$src" ] || continue
		mkdir -p "$(dirname "$ird/lib/modules/$kver/kernel/$p")"
		cp -r "$src" "$ird/lib/modules/$kver/kernel/$p"
	done
	depmod -b "$ird" "$kver" 2>>"$log" || die "depmod of the initramfs modules failed"
	cat >"$ird/init" <<'INIT'
#!/bin/sh
# The field test's first boot of a foreign debootstrap: second stage, then
# provision.sh, then power off. Messages on the console end with a marker.
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t sysfs sys /sys
$b mount -t devtmpfs dev /dev
for m in virtio_pci virtio_mmio virtio_blk virtio_net ext4 crc32c_generic; do $b modprobe $m 2>/dev/null; done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do $b sleep 0.1; n=$((n + 1)); done
$b mount -t ext4 /dev/vda /root || { echo "FT-PROVISION-FAIL no root"; $b poweroff -f; }
$b ip link set lo up
$b ip link set eth0 up
$b ip addr add 10.0.2.15/24 dev eth0
$b ip route add default via 10.0.2.2
for m in proc sys dev; do $b mkdir -p /root/$m; done
$b mount -t proc proc /root/proc
$b mount -t sysfs sys /root/sys
$b mount -t devtmpfs dev /root/dev
$b mkdir -p /root/dev/pts && $b mount -t devpts devpts /root/dev/pts
if $b chroot /root /debootstrap/debootstrap --second-stage &&
	echo 'nameserver 10.0.2.3' >/root/etc/resolv.conf &&
	$b chroot /root /bin/bash /provision.sh $(cat /root/provision.args); then
	$b rm -f /root/provision.sh /root/provision.args
	echo FT-PROVISION-OK
else
	echo FT-PROVISION-FAIL
	[ -f /root/debootstrap/debootstrap.log ] && $b tail -30 /root/debootstrap/debootstrap.log
fi
$b umount /root/dev/pts /root/dev /root/sys /root/proc
$b sync
$b umount /root
$b poweroff -f
INIT
	chmod 0755 "$ird/init"
	(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.stage2"
	printf '%s %s %s\n' "$mirror" "$sec_mirror" "${session_pkgs[*]}" >"$rootfs/provision.args"
	note "$arch: making root.img (ext4)"
	truncate -s 6G "$work/root.img"
	mkfs.ext4 -q -F -L root -d "$rootfs" "$work/root.img" >"$log" 2>&1 || { cat "$log" >&2; die "mkfs.ext4 -d failed"; }
	rm -rf "$rootfs" "$work/k" "$work/bb" "$ird"
	note "$arch: second stage and provisioning in qemu-system-aarch64 (software emulation; 20 to 60 minutes)"
	nice -n 10 qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 2048 -accel tcg,thread=multi \
		-kernel "$work/vmlinuz.stage2" -initrd "$work/initramfs.stage2" -append "console=ttyAMA0 panic=-1" \
		-drive "file=$work/root.img,if=virtio,format=raw" -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
		-display none -serial "file:$work/console.log" -monitor none -no-reboot </dev/null >"$log" 2>&1 &
	qemu_pid=$!
	wait "$qemu_pid" || { cat "$log" >&2; die "qemu-system-aarch64 failed"; }
	qemu_pid=
	grep -q FT-PROVISION-OK "$work/console.log" || { tail -60 "$work/console.log" >&2; die "the second stage or provision.sh failed (console above)"; }
	# Debian's kernel and the initramfs initramfs-tools made in there.
	debugfs -R "dump /boot/vmlinuz-$kver $work/vmlinuz" "$work/root.img" >>"$log" 2>&1
	debugfs -R "dump /boot/initrd.img-$kver $work/initrd.img" "$work/root.img" >>"$log" 2>&1
	{ [ -s "$work/vmlinuz" ] && [ -s "$work/initrd.img" ]; } || die "no /boot/vmlinuz-$kver or initrd.img-$kver in the image"
	rm -f "$work/vmlinuz.stage2" "$work/initramfs.stage2"
fi

rm -rf "$rootfs"
printf '%s\n' "$key" >"$work/.done"
rm -rf "$dir"
mv "$work" "$dir"
trap - EXIT
note "$arch: image ready in $(($(date +%s) - t0)) s: $dir"
printf '%s\n' "$dir"
