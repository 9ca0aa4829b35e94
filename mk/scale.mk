# Scale benchmark of the client and `measure` (issue 16): bench/scale/ (the device-scale recipe in the project).
# `make bench-scale` runs the recipe's sizes that fit this machine (at most 12,500 nodes per core, and memory for
# ~120 KiB per node), plus 20,000 nodes on a 2-core machine (issue 16's 2-core goal), and rewrites
# docs/benchmarks/scale.md/json/png; the 16-core device's figures come from bench/scale/device-run.sh (docs/scaling.md)
# and stay in scale.json. Not a test tier: timings are never asserted.

BENCH_TARGETS += bench-scale
SCALE_SIZES ?= 10000:1:0 100000:7:8 300000:20:20 1000000:60:60
SCALE_BUDGET ?= 900
SCALE_LABEL ?= $(shell nproc)-core machine (make bench-scale)

.PHONY: bench-scale

bench-scale: venv
	@plan=$$($(BIN)/python bench/scale/fit.py $(SCALE_SIZES)); \
	echo "bench-scale: plan '$$plan' on $$(nproc) cores"; \
	out=$$(mktemp -d /tmp/bench-scale.XXXXXX); \
	nice -n 5 $(BIN)/python bench/scale/scale.py "$$out" "$$plan" --budget $(SCALE_BUDGET) --label "$(SCALE_LABEL)" \
	  --work "$$out/work"; \
	$(BIN)/python bench/scale/report.py --add "$(SCALE_LABEL)" "$$out" --docs docs/benchmarks; \
	rm -rf "$$out"

# The client alone (issue 16): bench/scale/replay_broker.py answers a ping with N ready-made replies as fast as
# the socket takes them, so `ping` and `discover` are timed without a broker or emulator limiting them (about a
# minute on 2 cores, ~1.5 GiB of memory for the 1,000,000 replies); docs/benchmarks/client_intake.md/json.
BENCH_TARGETS += bench-client-intake
INTAKE_SIZES ?= 100000,300000,1000000

.PHONY: bench-client-intake

bench-client-intake: venv
	$(BIN)/python bench/scale/intake.py --sizes $(INTAKE_SIZES) --docs docs/benchmarks
