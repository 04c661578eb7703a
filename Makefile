# posdisplay developer entry points. Two commands matter to a newcomer:
#   make demo   runs the product (agent + simulated cashier + customer screen)
#   make test   runs every test
# Both install what they need first (apt packages where missing, Go modules).

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The screen's build tags: GLES 2 (what a Raspberry Pi's GPU speaks) and no
# bundled colour-emoji font (4 MB of binary and ~13 MB of resident memory;
# emoji in POS text are drawn from the system's fonts when it has them).
# Scripts that build the screen read SCREEN_TAGS with the same default.
export SCREEN_TAGS := gles,no_emoji
# The screen's C code (GLFW) is compiled with the hardening Debian expects,
# as a PIE, with -trimpath: the same in make build, make test and the
# packages, so that one cold compile of that C (minutes) serves all three.
export CGO_CFLAGS := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
SCREEN_BUILD := -tags $(SCREEN_TAGS) -trimpath -buildmode=pie
# The agent's version lives in register/agent, the screen's in its main
# package (it does not link register/agent); the linker ignores the other.
LDFLAGS := -s -w -X github.com/posdisplay/posdisplay/register/agent.Version=$(VERSION) -X main.version=$(VERSION)

.PHONY: all deps build demo test chaos bench screenshots deb field-test fuzz clean

all: build

deps:
	@.ci/deps.sh

build: deps
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/posdisplay-agent ./cmd/posdisplay-agent
	go build $(SCREEN_BUILD) -ldflags '$(LDFLAGS)' -o bin/posdisplay-screen ./cmd/posdisplay-screen

demo: build
	@.ci/demo.sh

test: deps
	@.ci/test.sh

# The long fault suite (crash, full disk, stalled TLS displays, dead links;
# needs root, about 5 minutes). `make test` runs its short variants.
chaos: deps
	@.ci/chaos.sh

# Speed and memory targets: prints the fan-out latency table with baselines.
bench: deps
	@.ci/bench.sh

screenshots: deps
	@.ci/screenshots.sh

deb: deps
	packaging/build-debs.sh --arch all

# The .debs booted under systemd, udev and a kiosk session in an emulated
# Debian 12 (qemu; root; the image is cached in ~/.cache/posdisplay). Not
# part of `make test`. FIELDTEST_ARCH=all (default: amd64 then arm64), amd64 or arm64.
field-test: deps
	packaging/field-test.sh --arch $${FIELDTEST_ARCH:-all}

fuzz: deps
	@FUZZTIME=$${FUZZTIME:-60s} .ci/fuzz.sh

clean:
	rm -rf bin dist out screenshots
