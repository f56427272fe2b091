# RoomKit: the two commands are `make demo` and `make test`.
GO      ?= go
BIN     := bin
CMDS    := portal roomd roomctl roomkit-flash roomkit-image roomkit-release
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
ARTIFACTS ?= $(CURDIR)/artifacts

.PHONY: all setup setup-test build demo test vet cross image test-kernel update-test powercut fuzz bench bench-fleet bench-fleet-pg clean

all: build

# What the demo needs (Go modules, LiveKit, the join page's npm package).
setup:
	@scripts/setup.sh

# What the tests need on top: Chromium, QEMU and the image tools, the static
# cgo toolchain.
setup-test:
	@scripts/setup-test.sh

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

# The demo: portal + one simulated room kit on loopback.
demo: setup build
	scripts/demo.sh

# Every test: vet, gofmt and go.mod tidy, then (scripts/test.sh) unit and
# integration tests under the race detector (the Chromium browser tests;
# the QEMU tests of ./images from the start, beside the rest), the static
# cross build, the test kernel's smoke boot and short fuzz runs; it prints
# each part's time.
test: setup-test vet
	ARTIFACTS=$(ARTIFACTS) scripts/test.sh

# Static kit binaries: builds a static libasound for amd64 and arm64, then
# checks that roomd, roomctl and the ALSA driver's test binary are static
# ELFs (no interpreter, no shared libraries) and runs the amd64 one on
# miniaudio's null backend.
cross:
	@scripts/setup-cross.sh
	ROOMKIT_CROSS=1 $(GO) test -run TestStaticCrossBuild -v -timeout 20m ./drivers/audio/alsa

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod or go.sum is not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }

# The kit image for an installer: make image TARGET=rpi4|amd64 [SETTINGS=settings.json] [OUT=file]
# (TARGET=amd64-testdevices: the QEMU test kit, with the test kernel)
image:
	@test -n "$(TARGET)" || { echo "usage: make image TARGET=rpi4|amd64 [SETTINGS=file] [OUT=file]"; exit 2; }
	@scripts/setup.sh
	@scripts/setup-image.sh
	@scripts/setup-cross.sh
	$(GO) run -ldflags '$(LDFLAGS)' ./cmd/roomkit-image -target $(TARGET) -out $(or $(OUT),roomkit-$(TARGET).img) $(if $(SETTINGS),-settings $(SETTINGS))

# Rebuilds the QEMU test kernel (images/kernel/testdevices, ~15 minutes)
# and says whether it is bit-for-bit the committed vmlinuz.
test-kernel:
	images/kernel/testdevices/check.sh

# The QEMU over-the-air update test alone (part of make test; about half
# an hour; images/README.md).
update-test:
	@scripts/setup-image.sh
	@mkdir -p artifacts
	ROOMKIT_ARTIFACTS=$(CURDIR)/artifacts $(GO) test -run '^TestQEMUUpdate$$' -v -timeout 90m ./images

# Power cuts (kill -9 of QEMU) at random moments of over-the-air updates on
# the QEMU kit, N of them (default 10): prints "N runs: N booted a good
# root, M finished the update later" (images/ota_test.go). The series runs
# for hours: follow artifacts/TestQEMUPowerCut.log.
powercut:
	@scripts/setup-image.sh
	@mkdir -p artifacts
	ROOMKIT_ARTIFACTS=$(CURDIR)/artifacts $(GO) test -run '^TestQEMUPowerCut$$' -v -timeout 0 ./images -powercut.n $(or $(N),10)

fuzz:
	FUZZTIME=$${FUZZTIME:-60s} scripts/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The fleet simulator against a throw-away SQLite portal on loopback
# (bench/fleet.sh prints the table); ARGS go to bench/fleet, e.g.
# make bench-fleet ARGS='-kits 100 -replay 24h'. docs/benchmarks.md § Fleet scale.
bench-fleet:
	GO=$(GO) bench/fleet.sh $(or $(ARGS),-kits 1000 -duration 20s)

# The same against two portal replicas sharing a throw-away PostgreSQL:
# make bench-fleet-pg ARGS='-kits 10000 -duration 60s'.
bench-fleet-pg:
	GO=$(GO) bench/fleet-pg.sh $(or $(ARGS),-kits 1000 -duration 20s)

clean:
	rm -rf $(BIN) $(ARTIFACTS)
