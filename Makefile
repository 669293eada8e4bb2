# mirrord: `make demo` runs a whole mirroring cycle; `make test` runs every test against a
# throwaway PostgreSQL that it starts (and installs, where missing) itself.
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with "context deadline
# exceeded" when a -fuzztime duration ends while a worker is mid-call (go.dev/issue/75804, fixed in
# Go 1.27); a count has no deadline to race. Minimization is bounded by a count for the same reason.
FUZZEXECS ?= 200000

.PHONY: all build test test-inner test-mssql fuzz bench demo clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

test:
	$(MAKE) --no-print-directory tools
	scripts/with-postgres.sh $(MAKE) --no-print-directory test-inner

test-inner:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) --no-print-directory fuzz

# Each fuzz target runs briefly on top of its committed seed corpus.
fuzz:
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$t $$f"; \
			$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZEXECS)x -fuzzminimizetime=500x $$t || exit 1; \
		done; \
	done

# The SQL Server suites need a server elsewhere: MIRRORD_TEST_MSSQL_DSN=sqlserver://user:pass@host:1433?database=master
test-mssql:
	MIRRORD_TEST_MSSQL_DSN=$${MIRRORD_TEST_MSSQL_DSN:?set MIRRORD_TEST_MSSQL_DSN, e.g. sqlserver://sa:Passw0rd!@127.0.0.1:1433?database=master} \
		$(GO) test -race -count=1 ./bulk/mssql

# Release binaries: static, stamped as build stamps them, for each of PLATFORMS, with SHA256SUMS.
DIST_DIR ?= dist
PLATFORMS ?= linux/amd64 linux/arm64 windows/amd64
.PHONY: dist
dist:
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' DIST_DIR='$(DIST_DIR)' PLATFORMS='$(PLATFORMS)' GO='$(GO)' scripts/dist.sh

# What some tests use, where it can be installed as root with apt-get (promtool for deploy/,
# chromium for the status page); never fails: a test whose tool is missing skips and says so.
.PHONY: tools
tools:
	@scripts/tools.sh

bench:
	scripts/with-postgres.sh $(GO) test -run='^$$' -bench=. -benchmem ./bench/... ./bulk/...

demo: build
	scripts/demo.sh

clean:
	rm -rf $(BIN) dist
