# RoomKit: the two commands are `make demo` and `make test`.
GO      ?= go
BIN     := bin
CMDS    := portal roomd roomctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
ARTIFACTS ?= $(CURDIR)/artifacts

.PHONY: all setup build demo test vet fuzz bench clean

all: build

setup:
	@scripts/setup.sh

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

# The demo: portal + one simulated room kit on loopback.
demo: setup build
	scripts/demo.sh

# Every test: vet and gofmt, unit and integration tests under the race
# detector (the Chromium browser tests included), then short fuzz runs.
test: setup vet
	mkdir -p $(ARTIFACTS)
	ROOMKIT_ARTIFACTS=$(ARTIFACTS) $(GO) test -race -timeout 30m ./...
	scripts/fuzz.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

fuzz:
	FUZZTIME=$${FUZZTIME:-60s} scripts/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN) $(ARTIFACTS)
