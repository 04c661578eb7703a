#!/usr/bin/env bash
# Runs every test of posdisplay: static checks, unit and integration tests
# with the race detector, the headless Fyne tests, the screen binary in a
# real Xvfb window, a short run of every fuzz target, the cross build against
# a mirror missing a security index, the demo with its ports taken, and the
# Debian packages (build, lintian, install, upgrade, purge). `make test`
# calls this. It ends with one line counting passed, failed and skipped
# tests over all steps (go tests and subtests, fuzz targets, script checks).
#
# With CI=true a test that lacks a capability it needs (netns, pty, Xvfb,
# Chromium) fails instead of skipping (register/testenv).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }
export LANG=en_US.UTF-8
FUZZTIME=${FUZZTIME:-3s}
SCREEN_TAGS=${SCREEN_TAGS:-gles,no_emoji} # as the Makefile builds the screen
# As the Makefile and build-debs.sh compile the screen's C: one cold compile.
export CGO_CFLAGS=${CGO_CFLAGS:-"-O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong"}

mkdir -p out
counts=$PWD/out/test-counts
rm -f "$counts"
go build -o out/testsum ./.ci/testsum
summary() { out/testsum -counts "$counts" -summary || true; }
trap summary EXIT
# check NAME CMD...: a script step, counted as one test.
check() {
	local name=$1 rc=0
	shift
	"$@" || rc=$?
	if [ "$rc" = 0 ]; then
		printf '{"Action":"pass","Package":"script","Test":"%s"}\n' "$name"
	else
		printf '{"Action":"fail","Package":"script","Test":"%s"}\n' "$name"
	fi | out/testsum -counts "$counts" >/dev/null || true
	return "$rc"
}
# gotest ARGS...: go test -json through testsum.
gotest() { go test -json "$@" 2>&1 | out/testsum -counts "$counts"; }

step "gofmt"
bad=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$bad" ]; then echo "gofmt needed:"; echo "$bad"; exit 1; fi

step "go vet"
go vet $(go list ./... | grep -v /cmd/posdisplay-screen) ./.ci/testsum
go vet -tags "$SCREEN_TAGS" ./cmd/posdisplay-screen

step "unit and integration tests, race detector (all but the GL binary)"
gotest -race -count=1 -timeout 15m $(go list ./... | grep -v /cmd/posdisplay-screen) ./.ci/testsum

step "screen binary (GLES build) and its tests, including a real Xvfb window"
gotest -tags "$SCREEN_TAGS" -trimpath -buildmode=pie -count=1 -timeout 10m ./cmd/posdisplay-screen

step "fuzz targets, ${FUZZTIME} each"
FUZZTIME=$FUZZTIME TESTSUM_COUNTS=$counts .ci/fuzz.sh

step "make demo with its default ports held by another agent; every printed URL live in Chromium"
check "demo-ports-taken" .ci/demo-check.sh

step "cross build with the armhf security index missing (half-synced mirror)"
check "sysroot-half-synced-mirror" packaging/test-sysroot.sh

step "Debian packages: build all six, lintian, install, upgrade, purge"
check "build-debs" packaging/build-debs.sh --arch all
check "test-debs" packaging/test-debs.sh

step "all tests passed"
