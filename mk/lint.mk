# Lint tier (issue 18): ruff (pyflakes, pycodestyle, isort, bugbear, pyupgrade for Python 3.9) over the
# whole repository with the settings in ruff.toml, the formatting check, mypy on the package's
# protocol, natsproto, daemon, client and measure (settings in pyproject.toml: strict for protocol and
# natsproto), the import rules of scripts/check_imports.py (no cycles, the harness apart) and
# scripts/check_shipped_python.py: the Python the Galaxy artifact ships, held to what ansible-test sanity
# reports on it (pylint's disallowed names, pep8 E704 of 2.16-2.18, documentation strings that are one YAML
# literal, ruff's mirrors of the pylint checks) in under a second instead of the galaxy tier's minutes.
# About 16 s cold on 2 busy cores (mypy's first run), 2 s with mypy's and ruff's caches.
TEST_TIERS += lint

.PHONY: lint

lint: venv
	@start=$$(date +%s); \
	$(BIN)/ruff check . && \
	$(BIN)/ruff format --check . && \
	$(BIN)/mypy && \
	$(BIN)/python scripts/check_imports.py && \
	$(BIN)/python scripts/check_shipped_python.py && \
	echo "lint: clean in $$(( $$(date +%s) - start )) s"
