# Interoperability with the real, unmodified Ruby Choria (issue 11): the real `mco`, `mcollectived`
# and 0.6.0 playbook runner of ../shared/real-choria against our emulator, client and playbook
# runner. setup.sh (idempotent, ~8 s once the Debian packages are there) installs ruby, mcollective
# and the test PKI; the Ruby code stays in ../shared, the project does not copy it. On a clone
# without ../shared/real-choria the tier says loudly that it did not run and exits 0; under CI
# (CI set) a missing harness is a failure. REAL_CHORIA=/path/to/real-choria points elsewhere (a git
# worktree's ../shared is not the checkout's). About 3 minutes (158 s measured on 2 busy cores), plus the
# playbook differential suite (tests/interop/playbooks: 55 playbooks x real 0.6.0 runner, native, converted,
# and ansible-lint over the converted plays), run with xdist: about 6 minutes on 2 busy cores.

TEST_TIERS += test-interop

REAL_CHORIA ?= $(abspath $(CURDIR)/../shared/real-choria)
INTEROP_PYTEST_ARGS ?=

.PHONY: test-interop

test-interop: venv
	@if [ ! -f "$(REAL_CHORIA)/setup.sh" ]; then \
	  echo "test-interop: NOT RUN: $(REAL_CHORIA) is missing (the real Ruby mco/mcollectived harness from ../shared)"; \
	  if [ -n "$${CI:-}" ]; then exit 1; fi; exit 0; \
	fi; \
	start=$$(date +%s); rc=0; \
	bash "$(REAL_CHORIA)/setup.sh"; \
	REAL_CHORIA="$(REAL_CHORIA)" $(PYTEST) tests/interop --ignore=tests/interop/playbooks $(INTEROP_PYTEST_ARGS) $(PYTEST_ARGS) || rc=$$?; \
	REAL_CHORIA="$(REAL_CHORIA)" $(PYTEST) tests/interop/playbooks -n auto $(INTEROP_PYTEST_ARGS) $(PYTEST_ARGS) || rc=$$?; \
	echo "test-interop: $$(( $$(date +%s) - start )) s"; exit $$rc
