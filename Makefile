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
# the check that the generated completions are up to date.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -tags $(TAGS) ./...

demo:
	rm -rf build/demo
	$(GO) run -tags $(TAGS) ./cmd/allot demo --dir build/demo

# Whole-process figures against DESIGN.md's budgets, and Go benchmarks.
bench: build
	scripts/bench

# Fuzz every reader for a bounded time each (FUZZTIME, default 30s).
fuzz:
	scripts/fuzz

generate:
	$(GO) run -tags $(TAGS) ./cmd/allot completion bash > completions/allot.bash
	$(GO) run -tags $(TAGS) ./cmd/allot completion zsh > completions/_allot
	$(GO) run -tags $(TAGS) ./cmd/allot completion fish > completions/allot.fish
	$(GO) run -tags $(TAGS) ./cmd/allot completion powershell > completions/allot.ps1

install:
	$(GO) install -tags $(TAGS) ./cmd/allot ./cmd/allot-verify

clean:
	rm -rf $(BIN) build
