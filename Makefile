# chorialab.choria: `make demo` and `make test` do all set-up on a fresh clone.
#
# Everything installs into .venv (re-installed when requirements-dev.txt or the emulator's
# pyproject.toml change). Test tiers and benchmarks of each area live in mk/*.mk and add
# themselves to TEST_TIERS / BENCH_TARGETS, so `make test` runs every tier.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
STAMP := $(VENV)/.stamp-$(shell cat requirements-dev.txt emulator/pyproject.toml | md5sum | cut -c1-10)
PYTEST ?= $(BIN)/pytest
PYTEST_ARGS ?=

TEST_TIERS := test-emulator
BENCH_TARGETS := bench-emulator

.PHONY: help venv demo test bench clean $(TEST_TIERS) $(BENCH_TARGETS)

help:
	@echo "make demo   start nats-server + an emulated network, ping it, load-test it, stop everything"
	@echo "make test   every test tier: $(TEST_TIERS)"
	@echo "make bench  benchmarks into docs/benchmarks/: $(BENCH_TARGETS)"

venv: $(STAMP)

# flock: several make runs (parallel tiers, several shells) may share one venv.
$(STAMP): requirements-dev.txt emulator/pyproject.toml
	@flock $(VENV).lock bash -c 'test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	  test -e $@ || { $(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt -e emulator \
	  && rm -f $(VENV)/.stamp-* && touch $@; }' 

demo: venv
	$(BIN)/python scripts/demo.py

test: venv
	@failed=""; \
	for tier in $(TEST_TIERS); do \
	  echo "==> $$tier"; \
	  start=$$(date +%s); \
	  if $(MAKE) --no-print-directory $$tier; then echo "<== $$tier passed in $$(( $$(date +%s) - start )) s"; \
	  else echo "<== $$tier FAILED"; failed="$$failed $$tier"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "failed tiers:$$failed"; exit 1; fi; \
	echo "all tiers passed: $(TEST_TIERS)"

test-emulator: venv
	$(PYTEST) tests/emulator $(PYTEST_ARGS)

bench: venv
	@for target in $(BENCH_TARGETS); do $(MAKE) --no-print-directory $$target; done

# One size at a time: make bench SIZES=10000
SIZES ?= 1000 2000 5000 10000 20000
bench-emulator: venv
	$(BIN)/python bench/natspy_baseline.py --out docs/benchmarks
	$(BIN)/python bench/emulator_bench.py --sizes $(SIZES) --out docs/benchmarks

clean:
	rm -rf $(VENV) .pytest_cache tests/output *.tar.gz

-include $(sort $(wildcard mk/*.mk))
