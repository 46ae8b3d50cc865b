# hvfctl — build, test and demo targets. `make test` is what CI runs.

GO        ?= go
BIN       ?= bin/hvfctl
STATICCHECK_VERSION ?= v0.8.2
FUZZTIME  ?= 30s
DEMO_DIR  ?= $(CURDIR)/.demo
# A token of the real shape (29 upper-case letters and digits) that the
# embedded fake accepts; it is a placeholder, not a credential.
DEMO_TOKEN ?= AAAAAAAAAAAAAAAAAAAAAAAAAAAAA

.PHONY: all build test vet fmt-check tidy-check gotest recipe-test recipe-lint lint bench fuzz demo clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/hvfctl

## test: formatting, vet, the Go tests with the race detector, the recipe
## tests, and recipe formatting and lint.
test: fmt-check tidy-check vet gotest recipe-test recipe-lint

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## tidy-check: go.mod and go.sum must be exactly what `go mod tidy` writes.
tidy-check:
	@$(GO) mod tidy -diff >/dev/null 2>&1 || { echo "go.mod/go.sum are not tidy; run: go mod tidy"; $(GO) mod tidy -diff; exit 1; }

vet:
	$(GO) vet ./...

# The exhaustive batteries (a fault at every command, an interruption at
# every step, every hostile planting before a run and in the middle of one,
# the secret canary through every recipe test, 24 runner instances down to
# one) replay the whole recipe many
# times, and the audit's budget tests (a hostile workflow, a thousand
# unknowns) push one single-threaded search to its bounds. They test
# hvfctl's logic, not its concurrency, and every code path they reach is
# also run under the race detector by the other tests, so they run once
# without -race, which makes them several times faster. They run in
# local directory mode, so their counts ("N/N plantings safe", "N/N mid-run
# plantings safe", "N/N faults recovered") are shown.
BATTERIES ?= ^(TestFaultAtEveryCommand|TestInterruption|TestHostileRunner|TestMidRunPlanting|TestSecretCanaryCLI|TestManyRunnersToOne|TestHostileWorkflowBounded|TestManyUnknownsFail|TestBadInput|TestWorkflowRenderCases)$$
# The packages that hold batteries and otherwise run under -race (the
# batteries of NORACE_PKGS run with the rest of their tests).
BATTERY_DIRS ?= cmd/hvfctl
# Packages whose tests all run once without -race, beside the batteries:
# - the recipe tests replay m4.star on the fake, one goroutine at a time,
#   through the engine and fake whose concurrency the race run covers in
#   their own packages (engine, builtins/fakemac, cmd/hvfctl); under -race
#   they cost five times the CPU for no extra coverage;
# - parsers and checkers whose code and tests start no goroutine (no go
#   statement, no t.Parallel) and call no package that does: the workflow
#   audit, renderer and expression language, the workflow loader, the
#   recipe formatter, the ACL and tar readers. The race detector can only
#   report accesses from two goroutines, so it finds nothing there, and a
#   race binary per package cost a second of CPU to link and run. A
#   package that starts goroutines goes back to the race run.
NORACE_PKGS ?= ./recipes ./workflow/audit ./workflow/render ./workflow/expr ./workflow \
	./cmd/hvfctl/internal/starfmt ./builtins/kauth ./builtins/tarcheck

# The race run starts the packages whose tests take longest first (go
# test runs them in the order given, two at a time on two cores): started
# last, cmd/hvfctl's tests ran alone for most of a minute after the rest.
RACE_FIRST ?= ./cmd/hvfctl ./ghapi ./builtins/fakemac ./engine

# -trimpath keeps directories out of the build cache's keys, so a fresh
# clone (CI's) reuses what the same sources compiled to anywhere on the
# machine instead of compiling every package of the project again (about
# 80 CPU seconds).
export GOFLAGS := $(strip $(GOFLAGS) -trimpath)

# The tests' heaps are small (tens of MB; the in-process runs keep
# hvfctl's default heap limit of 1 GiB, and the engine's heap-guard tests
# set their own): collecting at five times the live heap instead of twice
# cuts the collector's share of the CPU (a fifth of the recipe tests' and
# the batteries') for some more memory. It applies to the go command and
# the compiler too; a GOGC already set is kept. Subprocesses the tests
# start get a minimal environment without it.
export GOGC ?= 400

# A race-detector binary sleeps a second when it exits (ThreadSanitizer's
# atexit_sleep_ms, for reports from goroutines still running), once per
# package run under -race (a second of wall time each, half a dozen
# seconds on two cores): 50 ms keeps the wait for a late report
# (https://go.dev/doc/articles/race_detector#Options, golang/go#20364).
export GORACE := $(strip $(GORACE) atexit_sleep_ms=50)

# The race run and the batteries run side by side (the batteries in the
# background, their output shown after the race run's): cmd/hvfctl's race
# run, the longest, starts first, and the batteries and the other packages
# share the second core. Both must pass. The tests that run hvfctl as a subprocess run bin/hvfctl, which
# the recipe tests run too (HVFCTL_TEST_BINARY; cmd/hvfctl's relBuild).
gotest: build
	@out=$$(mktemp -d) || exit 1; trap 'rm -rf "$$out"' EXIT; \
	export HVFCTL_TEST_BINARY=$(abspath $(BIN)); \
	( for d in $(BATTERY_DIRS); do \
		echo "cd $$d && $(GO) test -count=1 -timeout 15m -run '$(BATTERIES)'"; \
		( cd $$d && $(GO) test -count=1 -timeout 15m -run '$(BATTERIES)' ) || touch "$$out/failed"; \
	done; \
	echo "$(GO) test -count=1 -timeout 15m $(NORACE_PKGS)"; \
	$(GO) test -count=1 -timeout 15m $(NORACE_PKGS) || touch "$$out/failed" ) >"$$out/batteries" 2>&1 & \
	$(GO) list $(NORACE_PKGS) >"$$out/norace" || exit 1; \
	pkgs=$$($(GO) list $(RACE_FIRST) ./... | grep -v -x -F -f "$$out/norace"); \
	echo "$(GO) test -race -count=1 -timeout 15m -skip '$(BATTERIES)' ./... (all but $(NORACE_PKGS))"; \
	$(GO) test -race -count=1 -timeout 15m -skip '$(BATTERIES)' $$pkgs; race=$$?; \
	wait; cat "$$out/batteries"; \
	test $$race -eq 0 && test ! -e "$$out/failed"

recipe-test: build
	./$(BIN) test recipes/

# The .star files meant to be formatted: the stdlib, the recipes and their
# tests, and the well-formed test inputs (testdata/engine/cli/broken.star
# and testdata/hostile/ are bad on purpose).
RECIPE_FMT_PATHS ?= stdlib recipes testdata/engine/cli/drift.star testdata/engine/cli/power.star testdata/engine/cli/destroy.star \
	testdata/engine/cli/tests_pass testdata/engine/cli/tests_fail testdata/engine/bad_calls \
	testdata/workflows/recipes
# The .star files that must also be lint-clean.
RECIPE_LINT_PATHS ?= stdlib recipes/m4.star

## recipe-lint: hvfctl fmt --check and hvfctl lint over the recipes and stdlib.
recipe-lint: build
	./$(BIN) fmt --check $(RECIPE_FMT_PATHS)
	./$(BIN) lint $(RECIPE_LINT_PATHS)

## lint: staticcheck at a pinned version, fetched through the module proxy.
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## bench: Go benchmarks plus the side-by-side tool comparisons.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	HVFCTL_BENCH_COMPARE=1 $(GO) test -run 'Compare' -count=1 -v ./builtins/fixturelock/ ./recipes/

## fuzz: every fuzz target for FUZZTIME each.
fuzz:
	./scripts/fuzz-all.sh $(FUZZTIME)

## demo: apply recipes/m4.star to the embedded fake Mac (run prints the plan
## once, then what it did) and re-check the state it left.
demo: build
	@mkdir -p $(DEMO_DIR)
	HVFCTL_RUNNER_TOKEN=$(DEMO_TOKEN) ./$(BIN) run --target fake --yes --save $(DEMO_DIR)/converged.json recipes/m4.star
	./$(BIN) check --target fake:$(DEMO_DIR)/converged.json recipes/m4.star

clean:
	rm -rf bin $(DEMO_DIR)
