# allot: `make demo` runs the whole flow, `make test` runs every test.
GO      ?= go
TAGS    := urfave_cli_no_docs
BIN     := bin
SHELLS  := bash zsh fish powershell

.PHONY: all build test demo bench fuzz generate install clean check-generated

all: build

build:
	$(GO) build -tags $(TAGS) -o $(BIN)/ ./cmd/allot ./cmd/allot-verify

# Every test: formatting, vet, unit and end-to-end (testscript) tests, and
# the check that the generated completions and man pages are up to date.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -tags $(TAGS) ./...
	@# The device-side packages again on a 32-bit platform, where int
	@# arithmetic on quotas could wrap.
	GOARCH=386 $(GO) test ./pkg/verify ./pkg/bundle ./pkg/licensekey ./pkg/cert ./pkg/payload ./cmd/internal/verifycli

demo:
	rm -rf build/demo
	$(GO) run -tags $(TAGS) ./cmd/allot demo --dir build/demo

# Whole-process figures against DESIGN.md's budgets, and Go benchmarks.
bench: build
	scripts/bench

# Fuzz every reader for a bounded time each (FUZZTIME, default 30s).
fuzz:
	scripts/fuzz

# The completion scripts and the man pages (section 1), from the command
# definitions; a test fails when the checked-in ones are stale.
MAN1 := completions/man/man1
generate:
	$(GO) generate ./pkg/catalog
	$(GO) build -tags $(TAGS) -o $(BIN)/allot ./cmd/allot
	$(BIN)/allot completion bash > completions/allot.bash
	$(BIN)/allot completion zsh > completions/_allot
	$(BIN)/allot completion fish > completions/allot.fish
	$(BIN)/allot completion powershell > completions/allot.ps1
	rm -rf $(MAN1) && mkdir -p $(MAN1)
	for p in $$($(BIN)/allot man); do $(BIN)/allot man $$p > $(MAN1)/$$p.1 || exit 1; done

install:
	$(GO) install -tags $(TAGS) ./cmd/allot ./cmd/allot-verify

clean:
	rm -rf $(BIN) build
