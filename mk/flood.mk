# Hostile input (issue 12): a flood of 10,000 malformed messages of mixed kinds to 1,000 emulated nodes
# (bench/flood_bench.py); figures in docs/benchmarks/flood.{json,md}. The functional part (no slow
# consumer, every delivery counted, decode once per worker, every node answers) is a test in test-emulator.

BENCH_TARGETS += bench-flood

.PHONY: bench-flood

bench-flood: venv
	nice -n 5 $(BIN)/python bench/flood_bench.py --out docs/benchmarks
