# Lint tier (issue 18): ruff (pyflakes, pycodestyle, isort, bugbear, pyupgrade for Python 3.9) over the
# whole repository with the settings in ruff.toml, and the formatting check.
.PHONY: lint

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
