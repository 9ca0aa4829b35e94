# Load testing, scale-out and federation: `choria-emulator measure`, `choria-emulator federation`,
# NATS clusters and the loadtest playbook (issue 7). Tests use <= 500 instances; the benchmark
# builds networks of up to 50,000 instances on a 3-server NATS cluster.

TEST_TIERS += test-loadtest
BENCH_TARGETS += bench-loadtest

# One size at a time: make bench-loadtest SIZES=10000 (SIZES from the command line wins).
LOADTEST_SIZES ?= $(if $(filter command line environment,$(origin SIZES)),$(SIZES),1000 5000 10000 20000 50000)
LOADTEST_PAYLOADS ?= 10 1000

.PHONY: test-loadtest bench-loadtest

test-loadtest: venv
	$(PYTEST) tests/measure tests/federation $(PYTEST_ARGS)

bench-loadtest: venv
	$(BIN)/python bench/loadtest_bench.py --sizes $(LOADTEST_SIZES) --payloads $(LOADTEST_PAYLOADS) --out docs/benchmarks
