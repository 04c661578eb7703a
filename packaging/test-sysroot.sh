#!/usr/bin/env bash
# test-sysroot.sh: the cross build survives a half-synced mirror.
#
# Reproduces what broke fresh machines: the armhf index of the security suite
# cannot be fetched (here: its mirror is an address nothing listens on), so
# armhf sees only the base suite's library versions while the host may
# already run newer security ones. With multiarch -dev packages apt refused
# ("held broken packages"). The sysroot resolves armhf on its own, so it
# must build; a cgo program using GL, GLES, EGL and X11 is then linked
# against it and its ELF header checked. The host must gain no foreign
# architecture. Uses its own throwaway apt state; the .debs already fetched
# by the build's sysroot are reused.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/apt.sh"
fail() { printf 'test-sysroot: FAIL: %s\n' "$*" >&2; exit 1; }
note() { printf 'test-sysroot: %s\n' "$*" >&2; }

apt_ensure gcc-arm-linux-gnueabihf pkg-config binutils file || fail "could not install the cross compiler"
work=$(mktemp -d /tmp/posdisplay-sysroot-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
foreign_before=$(dpkg --print-foreign-architectures | sort | tr '\n' ' ')

# Security suite unreachable for armhf: only base + updates indexes arrive.
shared=${PD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posdisplay}/apt-armhf/archives
sysroot=$(PD_CACHE=$work/cache PD_SYSROOT_ARCHIVES=$shared APT_RETRY_PAUSE=1 PD_DEBIAN_SECURITY_MIRROR=http://127.0.0.1:9/debian-security \
	"$here/sysroot.sh" armhf 2>"$work/log") || { cat "$work/log" >&2; fail "sysroot.sh armhf failed with the security index missing"; }
grep -q 'going on with the indexes it got' "$work/log" || { cat "$work/log" >&2; fail "the security index was fetched: the fault was not reproduced"; }
host_libc=$(dpkg-query -W -f='${Version}' libc6 2>/dev/null || echo none)
root_libc=$(sed -n 's/^libc6_\([^_]*\)_armhf.deb$/\1/p' "$sysroot/.posdisplay-packages" | sed 's/%3a/:/')
note "security index missing for armhf: sysroot libc6 $root_libc, host libc6 $host_libc"

cat >"$work/main.go" <<'GO'
package main

// #cgo pkg-config: gl glesv2 egl x11 xcursor xrandr xinerama xi xxf86vm
// #include <GLES2/gl2.h>
// #include <X11/Xlib.h>
// static void *f(void) { return (void *)glGetString; }
// static void *g(void) { return (void *)XOpenDisplay; }
import "C"

func main() { println(C.f() != nil, C.g() != nil) }
GO
printf 'module sysroottest\ngo 1.22\n' >"$work/go.mod"
(
	cd "$work"
	export PKG_CONFIG_SYSROOT_DIR=$sysroot PKG_CONFIG_PATH=
	export PKG_CONFIG_LIBDIR=$sysroot/usr/lib/arm-linux-gnueabihf/pkgconfig:$sysroot/usr/share/pkgconfig
	CGO_ENABLED=1 GOOS=linux GOARCH=arm GOARM=7 CC="arm-linux-gnueabihf-gcc --sysroot=$sysroot" \
		go build -o prog . 2>&1
) || fail "linking against the armhf sysroot failed"
file "$work/prog" | grep -q 'ARM, EABI5' || fail "not an armhf binary: $(file "$work/prog")"
readelf -d "$work/prog" | grep -qE 'NEEDED.*libX11' || fail "the binary does not link libX11"
readelf -d "$work/prog" | grep -qE 'NEEDED.*lib(GL|GLESv2)\.so' || fail "the binary does not link GL"

foreign_after=$(dpkg --print-foreign-architectures | sort | tr '\n' ' ')
[ "$foreign_before" = "$foreign_after" ] || fail "foreign architectures changed: '$foreign_before' -> '$foreign_after'"
note "PASS: armhf sysroot built and linked with the security index missing; host architectures unchanged ('$foreign_after')"
