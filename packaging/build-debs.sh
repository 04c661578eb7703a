#!/usr/bin/env bash
# build-debs.sh: build the posdisplay-agent and posdisplay-screen Debian
# packages for amd64, arm64 and armhf into dist/.
#
#   packaging/build-debs.sh [--arch amd64|arm64|armhf|all] [--version V]
#                           [--out DIR] [--only agent|screen] [--no-deps]
#
# The agent is pure Go (CGO_ENABLED=0). The screen is Fyne (cgo, with the
# Makefile's SCREEN_TAGS), cross-compiled with Debian's cross compilers against
# a sysroot of the target's -dev packages (packaging/sysroot.sh): the host
# installs no foreign-architecture package.
# Missing apt packages are installed (as root) unless --no-deps is given.
# nfpm comes from the pinned tools module packaging/tools (built once into
# packaging/tools/bin, which git ignores).
#
# Version: --version, else $PD_VERSION, else from git: a tag vX.Y.Z gives
# X.Y.Z; commits after it X.Y.Z+gitN.gSHA; with no tag the base version in
# packaging/VERSION gives BASE~gitN.gSHA (N = commit count, so later builds
# always upgrade earlier ones).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

arch_opt=all
version=${PD_VERSION:-}
out=$root/dist
only=
install_deps=yes
maintainer=${PD_MAINTAINER:-"posdisplay maintainers <maintainers@posdisplay.org>"}

die() { printf 'build-debs: error: %s\n' "$*" >&2; exit 1; }
note() { printf 'build-debs: %s\n' "$*" >&2; }
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch_opt=${2:?--arch needs a value}; shift 2 ;;
	--arch=*) arch_opt=${1#*=}; shift ;;
	--version) version=${2:?--version needs a value}; shift 2 ;;
	--version=*) version=${1#*=}; shift ;;
	--out) out=${2:?--out needs a value}; shift 2 ;;
	--out=*) out=${1#*=}; shift ;;
	--only) only=${2:?--only needs agent or screen}; shift 2 ;;
	--only=*) only=${1#*=}; shift ;;
	--no-deps) install_deps=no; shift ;;
	-h | --help) usage 0 ;;
	*) note "unknown argument: $1"; usage 2 ;;
	esac
done

case "$arch_opt" in
all) arches="amd64 arm64 armhf" ;;
amd64 | arm64 | armhf) arches=$arch_opt ;;
*) die "--arch $arch_opt: want amd64, arm64, armhf or all" ;;
esac
case "$only" in
"" | agent | screen) ;;
*) die "--only $only: want agent or screen" ;;
esac
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

# ---- apt packages -----------------------------------------------------------

# shellcheck source=apt.sh
. "$here/apt.sh"

# Host tools only. The arm64/armhf screens are linked against a sysroot of
# the target's Debian packages (packaging/sysroot.sh), never against
# foreign-architecture packages installed on the host.
base_pkgs=(git gzip ca-certificates binutils)
fyne_dev=(libgl1-mesa-dev libgles-dev libegl-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev)
deps=("${base_pkgs[@]}")
for a in $arches; do
	want screen || continue
	case "$a" in
	amd64) deps+=(gcc pkg-config "${fyne_dev[@]}") ;;
	arm64) deps+=(gcc-aarch64-linux-gnu pkg-config) ;;
	armhf) deps+=(gcc-arm-linux-gnueabihf pkg-config) ;;
	esac
done
if [ "$install_deps" = yes ]; then
	apt_ensure "${deps[@]}" || die "could not install the build tools (apt's reason above)"
else
	APT_NO_INSTALL=1 apt_ensure "${deps[@]}" || die "missing apt packages (run without --no-deps as root to install them)"
fi

command -v go >/dev/null || die "go is not on PATH (Go 1.26 is needed)"

# ---- version ----------------------------------------------------------------

if [ -z "$version" ]; then
	base=$(tr -d ' \n' <"$here/VERSION")
	if desc=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
		# vX.Y.Z-N-gSHA
		tag=${desc%-*-g*}
		rest=${desc#"$tag"-}
		n=${rest%%-*}
		sha=${rest#*-}
		version=${tag#v}
		[ "$n" = 0 ] || version="$version+git$n.$sha"
	elif n=$(git rev-list --count HEAD 2>/dev/null) && sha=$(git rev-parse --short=7 HEAD 2>/dev/null); then
		version="$base~git$n.g$sha"
	else
		version=$base
	fi
fi
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "version $version: must start with a digit and use only A-Z a-z 0-9 . + ~"

# ---- tools ------------------------------------------------------------------

nfpm=$here/tools/bin/nfpm
if [ ! -x "$nfpm" ] || [ "$here/tools/go.mod" -nt "$nfpm" ]; then
	note "building nfpm (packaging/tools)"
	go -C "$here/tools" build -trimpath -o bin/nfpm github.com/goreleaser/nfpm/v2/cmd/nfpm
fi

# ---- build ------------------------------------------------------------------

mkdir -p "$out"
work=$root/out/packaging
mkdir -p "$work"

# Reproducible timestamps: the last commit's date.
if ! SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null); then
	SOURCE_DATE_EPOCH=$(date +%s)
fi
export SOURCE_DATE_EPOCH
changelog_date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")

# changelog PKG DEST: the Debian changelog, with a snapshot entry on top when
# this version is not a released one; gzip -9n.
changelog() {
	local pkg=$1 dest=$2 tmp
	tmp=$(mktemp)
	if ! grep -q "^@PACKAGE@ ($version)" "$here/common/changelog.in"; then
		{
			printf '%s (%s) unstable; urgency=medium\n\n' "$pkg" "$version"
			printf '  * Snapshot build from git %s.\n\n' "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
			printf ' -- %s  %s\n\n' "$maintainer" "$changelog_date"
		} >"$tmp"
	fi
	sed "s/@PACKAGE@/$pkg/g; s|^ -- .*>  | -- $maintainer  |" "$here/common/changelog.in" >>"$tmp"
	gzip -9n <"$tmp" >"$dest"
	rm -f "$tmp"
}

gz() { gzip -9n <"$1" >"$2"; }

# retry CMD...: run a go build; run it once more when it failed with the
# transient "could not import X (open : no such file or directory)" that a
# build cache shared with concurrent builds sometimes gives.
retry() {
	local log
	log=$(mktemp)
	if "$@" 2>"$log"; then rm -f "$log"; return 0; fi
	if grep -q 'could not import .*(open : no such file or directory)' "$log"; then
		note "transient build cache error, retrying once"
		rm -f "$log"
		"$@"
		return
	fi
	cat "$log" >&2
	rm -f "$log"
	return 1
}

ldflags_version="-X github.com/posdisplay/posdisplay/register/agent.Version=$version -X main.version=$version"

build_agent() {
	local a=$1 stage=$2 goarch goarm=""
	case "$a" in amd64) goarch=amd64 ;; arm64) goarch=arm64 ;; armhf) goarch=arm goarm=7 ;; esac
	[ -d cmd/posdisplay-agent ] || die "cmd/posdisplay-agent does not exist"
	CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
		retry go build -trimpath -buildvcs=false -ldflags "-s -w -buildid= $ldflags_version" \
		-o "$stage/posdisplay-agent" ./cmd/posdisplay-agent
}

build_screen() {
	local a=$1 stage=$2 goarch goarm="" cc pkgconfig
	case "$a" in
	amd64) goarch=amd64 cc=gcc pkgconfig=pkg-config ;;
	arm64) goarch=arm64 cc=aarch64-linux-gnu-gcc pkgconfig=pkg-config ;;
	armhf) goarch=arm goarm=7 cc=arm-linux-gnueabihf-gcc pkgconfig=pkg-config ;;
	esac
	local sysroot="" triplet=${cc%-gcc} ccflags=""
	local -a pcenv=()
	if [ "$a" != amd64 ]; then
		sysroot=$("$here/sysroot.sh" "$a") || die "no $a sysroot (see above)"
		ccflags="--sysroot=$sysroot"
		pcenv=(PKG_CONFIG_SYSROOT_DIR="$sysroot"
			PKG_CONFIG_LIBDIR="$sysroot/usr/lib/$triplet/pkgconfig:$sysroot/usr/share/pkgconfig"
			PKG_CONFIG_PATH=)
	fi
	# PD_SCREEN_DIR (testing only): build the main package in that directory
	# instead, e.g. a placeholder module while cmd/posdisplay-screen is absent.
	local dir=${PD_SCREEN_DIR:-$root/cmd/posdisplay-screen}
	[ -d "$dir" ] || die "$dir does not exist"
	# The hardening Debian expects of a dynamically linked executable: PIE,
	# full RELRO, fortified and stack-protected C (GLFW, cgo glue).
	(
	[ ${#pcenv[@]} -eq 0 ] || export "${pcenv[@]}"
	CGO_ENABLED=1 GOOS=linux GOARCH=$goarch GOARM=$goarm CC="$cc${ccflags:+ $ccflags}" PKG_CONFIG=$pkgconfig \
		CGO_CFLAGS="-O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong" \
		retry go -C "$dir" build -tags "${SCREEN_TAGS:-gles,no_emoji}" -trimpath -buildvcs=false -buildmode=pie \
		-ldflags "-s -w -buildid= $ldflags_version -extldflags=-Wl,-z,relro,-z,now" \
		-o "$stage/posdisplay-screen" .
	) || return 1
	# As dh_strip does: drop the compiler's .comment and .note sections.
	"${cc%gcc}strip" --remove-section=.comment --remove-section=.note "$stage/posdisplay-screen"
}

# libc_dep BINARY: "libc6 (>= X.Y)" for the newest GLIBC_X.Y symbol version
# the binary needs.
libc_dep() {
	local v
	v=$(readelf --version-info --wide "$1" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*[0-9]' | sed 's/GLIBC_//' | sort -uV | tail -1)
	[ -n "$v" ] || v=2.17
	printf 'libc6 (>= %s)' "$v"
}

screen_conf=$root/cmd/posdisplay-screen/screen.toml.example
[ -f "$screen_conf" ] || screen_conf=$here/screen/screen.toml.fallback

export PD_VERSION=$version PD_MAINTAINER=$maintainer
built=()
for a in $arches; do
	stage=$work/stage-$a
	rm -rf "$stage"
	mkdir -p "$stage"
	export PD_ARCH=$a PD_STAGE=$stage
	gz docs/install.md "$stage/install.md.gz" 2>/dev/null || die "docs/install.md is missing"
	gz docs/pole.md "$stage/pole.md.gz" 2>/dev/null || die "docs/pole.md is missing"

	if want agent; then
		t0=$(date +%s)
		build_agent "$a" "$stage"
		gz "$here/agent/posdisplay-agent.8" "$stage/posdisplay-agent.8.gz"
		changelog posdisplay-agent "$stage/changelog.gz"
		if [ -f scanner/scanners.example.toml ]; then
			cp scanner/scanners.example.toml "$stage/scanners.toml"
		else
			printf '# No scanner examples in this build.\n' >"$stage/scanners.toml"
		fi
		deb=$out/posdisplay-agent_${version}_$a.deb
		"$nfpm" package --config "$here/agent/nfpm.yaml" --packager deb --target "$deb" >"$work/nfpm.log" 2>&1 || { cat "$work/nfpm.log" >&2; die "nfpm failed for posdisplay-agent $a"; }
		built+=("$deb")
		note "$(basename "$deb") ($(($(date +%s) - t0)) s)"
	fi

	if want screen; then
		t0=$(date +%s)
		build_screen "$a" "$stage"
		gz "$here/screen/posdisplay-screen.1" "$stage/posdisplay-screen.1.gz"
		changelog posdisplay-screen "$stage/changelog.gz"
		export PD_LIBC_DEP PD_SCREEN_CONF=$screen_conf
		PD_LIBC_DEP=$(libc_dep "$stage/posdisplay-screen")
		deb=$out/posdisplay-screen_${version}_$a.deb
		"$nfpm" package --config "$here/screen/nfpm.yaml" --packager deb --target "$deb" >"$work/nfpm.log" 2>&1 || { cat "$work/nfpm.log" >&2; die "nfpm failed for posdisplay-screen $a"; }
		built+=("$deb")
		note "$(basename "$deb") ($(($(date +%s) - t0)) s)"
	fi
done

printf '%s\n' "${built[@]}"
