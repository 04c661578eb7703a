#!/usr/bin/env bash
# sysroot.sh: a Debian sysroot for cross-building (and running under qemu)
# the Fyne screen for arm64 or armhf, made without touching the host's
# package set.
#
#   packaging/sysroot.sh ARCH        prints the sysroot's path
#
# The target's -dev packages and their whole dependency closure are resolved
# by a private apt (its own sources, lists, cache and an empty dpkg status:
# nothing is "installed", so nothing is version-locked to the host's
# packages), fetched from Debian and unpacked with dpkg -x. The host installs
# no foreign-architecture package at all; a mirror whose index for one
# architecture lags (a half-synced security suite) gives that sysroot the
# older, self-consistent versions instead of breaking the build.
#
# Cached in $PD_CACHE/sysroot/ARCH (default ~/.cache/posdisplay) and reused
# while the package list, suites and this script are unchanged.
#
# Environment:
#   PD_CACHE                   cache directory
#   PD_SYSROOT_CODENAME        Debian release of the target (bookworm)
#   PD_SYSROOT_SUITES          suites (default: CODENAME CODENAME-updates CODENAME-security)
#   PD_DEBIAN_MIRROR           default: the host's Debian mirror, else deb.debian.org
#   PD_DEBIAN_SECURITY_MIRROR  default: the host's security mirror, else deb.debian.org
#   PD_SYSROOT_ARCHIVES        where downloaded .debs are kept (default: in the cache)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=apt.sh
. "$here/apt.sh"

die() { printf 'sysroot: error: %s\n' "$*" >&2; exit 1; }
note() { printf 'sysroot: %s\n' "$*" >&2; }

arch=${1:-}
case "$arch" in
arm64) triplet=aarch64-linux-gnu ;;
armhf) triplet=arm-linux-gnueabihf ;;
*) die "usage: sysroot.sh arm64|armhf" ;;
esac

codename=${PD_SYSROOT_CODENAME:-bookworm}
suites=${PD_SYSROOT_SUITES:-"$codename $codename-updates $codename-security"}
# What the screen links (Fyne: GL/GLES/EGL, X11 and its extensions) and what
# it loads at run time under qemu (Mesa's software renderer, libX11-xcb).
pkgs=(libc6-dev libgl1-mesa-dev libgles-dev libegl-dev libx11-dev libxcursor-dev libxrandr-dev
	libxinerama-dev libxi-dev libxxf86vm-dev libgl1-mesa-dri libx11-xcb1 libxrender1)

debian_mirrors

cache=${PD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posdisplay}
root=$cache/sysroot/$arch
key=$({
	printf '%s\n' "$arch" "$codename" "$suites" "${pkgs[@]}"
	cat "$0"
} | sha256sum | cut -c1-16)
if [ -f "$root/.posdisplay-sysroot" ] && [ "$(cat "$root/.posdisplay-sysroot")" = "$key" ]; then
	printf '%s\n' "$root"
	exit 0
fi

apt_ensure apt dpkg ca-certificates debian-archive-keyring >&2
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

aptdir=$cache/apt-$arch
archives=${PD_SYSROOT_ARCHIVES:-$aptdir/archives}
mkdir -p "$aptdir/lists/partial" "$archives/partial" "$aptdir/etc/apt.conf.d" "$aptdir/etc/preferences.d"
: >"$aptdir/status"
{
	for s in $suites; do
		case "$s" in
		*-security) printf 'deb [arch=%s signed-by=%s] %s %s main\n' "$arch" "$keyring" "$sec_mirror" "$s" ;;
		*) printf 'deb [arch=%s signed-by=%s] %s %s main\n' "$arch" "$keyring" "$mirror" "$s" ;;
		esac
	done
} >"$aptdir/sources.list"
user=$(id -un)
apt_opts=(
	-o "Dir::State=$aptdir" -o "Dir::State::Lists=$aptdir/lists" -o "Dir::State::status=$aptdir/status"
	-o "Dir::Cache=$aptdir" -o "Dir::Cache::archives=$archives"
	-o "Dir::Etc::SourceList=$aptdir/sources.list" -o "Dir::Etc::SourceParts=$aptdir/etc/none"
	-o "Dir::Etc::Parts=$aptdir/etc/apt.conf.d" -o "Dir::Etc::PreferencesParts=$aptdir/etc/preferences.d"
	-o "Dir::Etc::Preferences=$aptdir/etc/preferences"
	-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
	-o "APT::Sandbox::User=$user" -o Debug::NoLocking=1 -o Acquire::Languages=none
	-o APT::Install-Recommends=0 -o APT::Get::Download-Only=1
)
note "$arch: resolving ${#pkgs[@]} packages against $suites"
apt_update "${apt_opts[@]}"
log=$(mktemp)
apt_run "$log" apt-get "${apt_opts[@]}" -y install "${pkgs[@]}" ||
	die "could not resolve or fetch the $arch packages (apt's reason above)"
rm -f "$log"

# The exact set apt chose, from the cache: one .deb per package (newest).
mapfile -t debs < <(apt-get "${apt_opts[@]}" -s install "${pkgs[@]}" 2>/dev/null |
	awk '/^Inst /{print $2" "$3}' | tr -d '()[]' |
	while read -r name ver; do
		v=${ver//:/%3a}
		f=$(ls "$archives/${name}_${v}_"*.deb 2>/dev/null | head -1)
		[ -n "$f" ] || { note "missing ${name}_${ver} in the cache" && exit 1; }
		printf '%s\n' "$f"
	done)
[ ${#debs[@]} -gt 0 ] || die "apt resolved no packages"

tmp=$root.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
for d in "${debs[@]}"; do dpkg-deb -x "$d" "$tmp"; done
# Absolute symlinks (libfoo.so -> /lib/...) would point into the host:
# make them relative to the sysroot.
while IFS= read -r l; do
	t=$(readlink "$l")
	case "$t" in /*)
		ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$tmp$t")" "$l" ;;
	esac
done < <(find "$tmp" -type l)
# Linker scripts (libc.so, libm.so) name absolute paths: ld resolves them
# inside --sysroot, because the scripts live inside it. Nothing to do.
[ -e "$tmp/usr/lib/$triplet/libGL.so" ] || die "the $arch sysroot has no libGL.so"
printf '%s\n' "$key" >"$tmp/.posdisplay-sysroot"
printf '%s\n' "${debs[@]##*/}" >"$tmp/.posdisplay-packages"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
note "$arch: $root (${#debs[@]} packages)"
printf '%s\n' "$root"
