# Lint tier (issue 18): ruff (pyflakes, pycodestyle, isort, bugbear, pyupgrade for Python 3.9) over the
# whole repository with the settings in ruff.toml, the formatting check, mypy on the package's
# protocol, natsproto, daemon, client and measure (settings in pyproject.toml: strict for protocol and
# natsproto) and the import rules of scripts/check_imports.py (no cycles, the harness apart).
# About 16 s cold on 2 busy cores (mypy's first run), 2 s with mypy's and ruff's caches.
TEST_TIERS += lint

.PHONY: lint

lint: venv
	@start=$$(date +%s); \
	$(BIN)/ruff check . && \
	$(BIN)/ruff format --check . && \
	$(BIN)/mypy && \
	$(BIN)/python scripts/check_imports.py && \
	echo "lint: clean in $$(( $$(date +%s) - start )) s"
