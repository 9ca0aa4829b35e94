# Choria playbooks (issue 6): choria_emulator.playbook, `choria-emulator playbook`, the rpc/discover/
# choria_playbook action plugins and the converter to Ansible plays. Tests run against a real
# nats-server (JetStream for nats_kv), emulated nodes, etcd from Debian's etcd-server, a local HTTP
# server for webhook/slack/graphite, and real ansible-playbook runs of converted playbooks.

TEST_TIERS += test-playbook

.PHONY: test-playbook playbook-prereqs

# apt: etcd for the etcd data store tests (Debian's etcd-server; docs/architecture.md, "Facts about the machines").
playbook-prereqs: venv
	@if ! command -v etcd >/dev/null; then \
	  echo "installing etcd-server with apt-get"; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >/dev/null; \
	fi

test-playbook: playbook-prereqs
	$(PYTEST) tests/playbook $(PYTEST_ARGS)
