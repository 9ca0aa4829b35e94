# Galaxy tier (issue 15): the artifact `ansible-galaxy collection build` makes, checked as Galaxy and
# Automation Hub check an upload: galaxy-importer (offline, ansible-lint on), ansible-test sanity on the
# installed artifact for each ansible-core line of requires_ansible, ansible-doc for every plugin,
# and ansible-lint --profile production on the checkout. The tools live in cached venvs under
# $(CHORIA_TOOLS_CACHE) (one per ansible-core line, one for galaxy-importer); ansible-test keeps its
# sanity venvs under ~/.ansible/test. Measured on the shared 2-core machine: cold (no tool venvs, empty
# HOME: no ~/.ansible, no pip cache) 382 s and warm 190 s at load 2-3 (1151 s and 510 s at load 5-8);
# sanity is most of it (65-85 s per line cold, 32-37 s warm), then ansible-lint (22-46 s) and the importer.

TEST_TIERS += test-galaxy-artifact
export CHORIA_TOOLS_CACHE ?= /var/cache/chorialab/tools

.PHONY: test-galaxy-artifact

test-galaxy-artifact: venv
	$(PYTEST) tests/ansible/test_artifact.py --durations=0 $(PYTEST_ARGS)
