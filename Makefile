# ocirun: build, demo, tests and benchmark. `make help` lists the targets.
# On a fresh machine, as root: `make demo` then `make test`.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := ocirun

GO           ?= go
RUNTIME      ?= ./ocirun
TEST_TIMEOUT ?= 30m
VERSION      := $(shell cat VERSION 2>/dev/null || echo unknown)
COMMIT       := $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
LDFLAGS      := -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT)
# urfave_cli_no_docs drops urfave/cli's man/markdown generation and with it blackfriday, whose
# package init ran in every exec of ocirun, `ocirun init` included.
BUILDTAGS    ?= urfave_cli_no_docs
export CGO_ENABLED := 1
export GO

# The demo and the bench build ./ocirun only when they are to run it (RUNTIME=/usr/sbin/runc
# runs them against runc instead).
RUNTIME_DEP := $(if $(filter ./ocirun ocirun $(CURDIR)/ocirun,$(RUNTIME)),ocirun,deps)

.PHONY: all ocirun deps demo test test-cgroup2 test-systemd unit integration conformance bench fmt vet lint clean help

all: ocirun

help:
	@echo "make [ocirun]  build ./ocirun (version $(VERSION), commit $(COMMIT))"
	@echo "make demo      build, then run one container from a busybox bundle made here"
	@echo "make test      unit tests, the integration suite, then test-cgroup2 and test-systemd (root)"
	@echo "make test-cgroup2  integration tests in a cgroup-v2-only qemu VM (root; CGROUP2_VM_RUN=regexp)"
	@echo "make test-systemd  --systemd-cgroup tests in a qemu VM running systemd (root)"
	@echo "make conformance  the OCI runtime-tools validation suite against ./ocirun (root)"
	@echo "make bench     ocirun beside runc and crun: run, create/start/delete, peak RSS (root)"
	@echo "make fmt|vet|lint|clean|deps"
	@echo "RUNTIME=/usr/sbin/runc make demo|bench  runs the demo or bench with another runtime"

# Installs (as root, with apt-get) or names what the build and the tests need.
deps:
	@scripts/deps.sh build

ocirun: deps
	$(GO) build -trimpath -tags "$(BUILDTAGS)" -ldflags "$(LDFLAGS)" -o ocirun .

demo: $(RUNTIME_DEP)
	RUNTIME=$(RUNTIME) scripts/demo.sh

test: deps
	@if [ "$$(id -u)" -ne 0 ]; then \
		echo "make test: the tests run real containers and must run as root (sudo make test)" >&2; \
		exit 1; \
	fi
	pkgs=$$($(GO) list ./... | grep -v /tests/integration); $(GO) test $$pkgs
	$(GO) test -count=1 -v -timeout $(TEST_TIMEOUT) ./tests/integration/
	scripts/cgroup2-vm/run.sh
	SYSTEMD_VM_CGROUP=unified scripts/systemd-vm/run.sh
	SYSTEMD_VM_CGROUP=hybrid scripts/systemd-vm/run.sh

# Boots a cgroup2-only kernel under qemu and runs the integration tests inside it; see the script.
# `make test` runs it too, after the tests on this host.
test-cgroup2: deps
	scripts/cgroup2-vm/run.sh

# Boots Debian with systemd under qemu (cgroup2, then hybrid) and runs the --systemd-cgroup tests
# there; it uses the kernel test-cgroup2 downloads. `make test` runs it too.
test-systemd: deps
	@[ -n "$$(ls -d build/cgroup2-vm/cache/linux-image-*/ 2>/dev/null)" ] || scripts/cgroup2-vm/run.sh
	SYSTEMD_VM_CGROUP=unified scripts/systemd-vm/run.sh
	SYSTEMD_VM_CGROUP=hybrid scripts/systemd-vm/run.sh

# The runtime-tools validation programs, built from the module at the commit pinned in
# tests/conformance/run.sh, run one by one against $(RUNTIME); the result is checked against
# tests/conformance/expected-failures (each entry argued there).
conformance: $(RUNTIME_DEP)
	tests/conformance/run.sh $(abspath $(RUNTIME))

bench: $(RUNTIME_DEP)
	RUNTIME=$(RUNTIME) scripts/bench.sh

fmt:
	gofmt -s -w .

vet: deps
	$(GO) vet ./...

lint: vet
	@files=$$(gofmt -s -l .); \
	if [ -n "$$files" ]; then echo "gofmt -s needed on:"; echo "$$files"; exit 1; fi

clean:
	rm -rf ocirun bench-results build
