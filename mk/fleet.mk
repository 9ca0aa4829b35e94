# Fleet tier (issue 14): the galaxy-installed collection over SSH with become on three real hosts on this
# machine: Debian 11, 12 and 13 roots (debootstrap --variant=minbase, cached as tarballs under
# $(CHORIA_FLEET_CACHE), keyed by suite and package list) in network namespaces on 198.18.0.0/15, sshd
# inside, user deploy with passwordless sudo (tests/fleet/hosts.py). Needs root (namespaces, mounts);
# installs debootstrap with apt-get when missing. Everything is removed at the end, also on failure,
# and the harness checks that nothing is left. Measured on the shared 2-core machine: cold (no root
# tarballs, empty pip cache) 296 s, of which 155 s debootstrap of the three roots; warm 156 s
# (pytest 7 tests ~80-100 s, molecule's fleet scenario ~70 s).

TEST_TIERS += test-fleet
export CHORIA_FLEET_CACHE ?= /var/cache/chorialab/fleet

.PHONY: test-fleet

# Then molecule's fleet scenario: the roles on the same kind of hosts through the delegated driver
# (extensions/molecule/fleet: create/destroy make and remove the hosts), converge + idempotence + verify.
test-fleet: venv
	$(PYTEST) tests/fleet --durations=0 $(PYTEST_ARGS)
	rm -rf $(ANSIBLE_TMP)/fleet-molecule && mkdir -p $(ANSIBLE_TMP)/fleet-molecule/ansible_collections/chorialab
	ln -s $(CURDIR) $(ANSIBLE_TMP)/fleet-molecule/ansible_collections/chorialab/choria
	CI=true NO_COLOR=1 ANSIBLE_NOCOLOR=1 CHORIA_COLLECTIONS_PATH=$(ANSIBLE_TMP)/fleet-molecule CHORIA_TEST_VENV=$(VENV) \
	  CHORIA_MOLECULE_CACHE=$(ANSIBLE_TMP)/molecule-cache $(BIN)/molecule test -s fleet < /dev/null
