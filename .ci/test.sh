#!/usr/bin/env bash
# Runs every test of posdisplay: static checks, unit and integration tests
# with the race detector, the headless Fyne tests, the screen binary in a
# real Xvfb window, a short run of every fuzz target, and the Debian packages
# (build, lintian, install, upgrade, purge). `make test` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }
export LANG=en_US.UTF-8
FUZZTIME=${FUZZTIME:-3s}
SCREEN_TAGS=${SCREEN_TAGS:-gles,no_emoji} # as the Makefile builds the screen

step "gofmt"
bad=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$bad" ]; then echo "gofmt needed:"; echo "$bad"; exit 1; fi

step "go vet"
go vet $(go list ./... | grep -v /cmd/posdisplay-screen)
go vet -tags "$SCREEN_TAGS" ./cmd/posdisplay-screen

step "unit and integration tests, race detector (all but the GL binary)"
go test -race -count=1 -timeout 15m $(go list ./... | grep -v /cmd/posdisplay-screen)

step "screen binary (GLES build) and its tests, including a real Xvfb window"
go test -tags "$SCREEN_TAGS" -count=1 -timeout 10m ./cmd/posdisplay-screen

step "fuzz targets, ${FUZZTIME} each"
FUZZTIME=$FUZZTIME .ci/fuzz.sh

step "Debian packages: build all six, lintian, install, upgrade, purge"
packaging/build-debs.sh --arch all
packaging/test-debs.sh

step "all tests passed"
