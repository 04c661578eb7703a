#!/bin/bash
# foreign.sh ROOTFS CMD [ARG...]: runs CMD chrooted in ROOTFS, an arm64 Debian
# root on this amd64 host, the way a native chroot would run it. The
# target's binaries run under qemu-aarch64-static through binfmt_misc: an
# instance of binfmt_misc private to a user namespace made for this command
# (Linux 6.7 and later), so the host's own binfmt_misc (not mounted on these
# machines) is never touched. The namespace maps every uid and gid to
# itself, so files are owned as a native chroot would own them. /proc, /sys
# and /dev of the host are bound into ROOTFS (/proc: the namespace's own) for the command, and unmounted
# with the namespace when it ends.
#
# Exit status: CMD's, or 3 when this kernel cannot give a user namespace its
# own binfmt_misc (image.sh then runs the second stage in an emulated machine).
set -euo pipefail
qemu=/usr/bin/qemu-aarch64-static
if [ "${1:-}" = --in-ns ]; then
	fifo=$2 root=$3
	shift 3
	read -r _ <"$fifo"
	mount --make-rprivate /
	bm=$(mktemp -d)
	mount -t binfmt_misc pdft "$bm" 2>/dev/null || exit 3
	# The ELF header of an aarch64 executable (Debian's qemu-user-static
	# registers the same magic and mask); F: qemu is opened now, so it
	# needs no file inside ROOTFS.
	printf '%s' ':pdft-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:'"$qemu"':F' \
		>"$bm/register" 2>/dev/null || exit 3
	# debootstrap leaves /proc a symlink to itself when it thinks it runs
	# in a container (/.dockerenv): a directory is needed to mount on.
	for m in proc sys dev; do
		[ -L "$root/$m" ] && rm -f "$root/$m"
		mkdir -p "$root/$m"
	done
	mount -t proc proc "$root/proc" # this namespace's own processes
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	exec chroot "$root" "$@"
fi
[ $# -ge 2 ] || { echo "usage: foreign.sh ROOTFS CMD [ARG...]" >&2; exit 2; }
[ -x "$qemu" ] || { echo "foreign.sh: $qemu is missing (apt-get install qemu-user-static)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/go"
unshare --user --mount --pid --fork "$0" --in-ns "$dir/go" "$@" &
pid=$!
# The maps can be written once unshare is in its namespace.
for _ in $(seq 100); do
	[ "$(readlink "/proc/$pid/ns/user" 2>/dev/null)" != "$(readlink /proc/self/ns/user)" ] && break
	sleep 0.05
done
if ! { echo '0 0 4294967295' >"/proc/$pid/uid_map" && echo '0 0 4294967295' >"/proc/$pid/gid_map"; } 2>/dev/null; then
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	exit 3
fi
echo go >"$dir/go"
rc=0
wait "$pid" || rc=$?
exit "$rc"
