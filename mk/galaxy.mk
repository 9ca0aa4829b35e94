# Galaxy tier (issue 15): the artifact `ansible-galaxy collection build` makes, checked as Galaxy and
# Automation Hub check an upload: galaxy-importer (offline, ansible-lint on), ansible-test sanity on the
# installed artifact for each ansible-core line of requires_ansible, ansible-doc for every plugin,
# and ansible-lint --profile production on the checkout. The tools live in cached venvs under
# $(CHORIA_TOOLS_CACHE) (one per ansible-core line, one for galaxy-importer); ansible-test keeps its
# sanity venvs under ~/.ansible/test. Measured on the shared 2-core machine (load 5-8): cold (no tool
# venvs, empty ~/.ansible and pip cache) 1151 s, warm 510 s; sanity is most of it (50-115 s per line warm).

TEST_TIERS += test-galaxy-artifact
export CHORIA_TOOLS_CACHE ?= /var/cache/chorialab/tools

.PHONY: test-galaxy-artifact

test-galaxy-artifact: venv
	$(PYTEST) tests/ansible/test_artifact.py --durations=0 $(PYTEST_ARGS)
