# Scenarios (issue 17): agents from go-choria JSON DDLs, scenario files (behaviour engine), lifecycle
# events, and the blue/green deploy rehearsal. Tests run real nats-servers (a routed cluster for the
# rehearsal), emulators with DDL agents, the playbook runner natively and converted (ansible-playbook).

TEST_TIERS += test-scenarios
BENCH_TARGETS += bench-scenarios

.PHONY: test-scenarios bench-scenarios

test-scenarios: venv
	@start=$$(date +%s); \
	$(PYTEST) tests/scenarios $(PYTEST_ARGS); \
	echo "test-scenarios took $$(( $$(date +%s) - start )) s"

# Memory per instance with the four real agents and state in use, puppet#status vs generate
# broadcasts (bench/scenarios_bench.py); then the rehearsal at 10,000 nodes (bench/deploy_bench.py).
SCENARIO_SIZES ?= 2000 10000
DEPLOY_BENCH_SIZE ?= 10000
bench-scenarios: venv
	$(BIN)/python bench/scenarios_bench.py --sizes $(SCENARIO_SIZES) --out docs/benchmarks
	$(BIN)/python bench/deploy_bench.py --size $(DEPLOY_BENCH_SIZE) --out docs/benchmarks

# The rehearsal as a demo: 1,000 nodes (DEPLOY_SIZE), native and converted, success and 1 % never green.
.PHONY: demo-deploy
demo-deploy: venv
	$(BIN)/python scripts/demo_deploy.py
