# Node sets (issue 5): choria_emulator.nodesets, the chorialab.choria.nodeset inventory plugin and
# `choria-emulator nodes`. Tests run against a real PuppetDB 7 + PostgreSQL 15 (started once per
# session by tests/nodesets/puppetdb-sandbox.sh), the real Terraform binary, nats-server and
# emulators, ansible-inventory and ansible-playbook.

TEST_TIERS += test-nodesets

# PuppetDB's Clojure code compiled ahead of time once (~30-50 s), then each start takes ~23 s, not ~45 s.
NODESETS_CACHE ?= $(HOME)/.cache/chorialab-choria

.PHONY: test-nodesets nodesets-prereqs

# apt: PuppetDB 7 (preseeded so dbconfig-common does not look for a database), PostgreSQL 15, curl.
nodesets-prereqs: venv
	@if ! dpkg -s puppetdb >/dev/null 2>&1 || ! [ -x /usr/lib/postgresql/15/bin/postgres ] || ! command -v curl >/dev/null; then \
	  echo "installing puppetdb, postgresql and curl with apt-get"; \
	  apt-get update -qq; \
	  echo "puppetdb puppetdb/dbconfig-install boolean false" | debconf-set-selections; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql puppetdb curl >/dev/null; \
	fi

test-nodesets: nodesets-prereqs
	PDB_AOT_CLASSES=$$(tests/nodesets/puppetdb-aot.sh $(NODESETS_CACHE)) $(PYTEST) tests/nodesets $(PYTEST_ARGS)
