# Ansible side of the collection (issue 4): ansible-test units and integration on a copy of the
# collection content (sanity runs on the built artifact: mk/galaxy.mk), molecule scenarios per role,
# galaxy build + install + FQCN playbooks, ansible-builder and ansible-runner as AWX uses them. Every
# tier starts real nats-server and emulator processes on free ports and stops them again.

ANSIBLE_TIERS := test-ansible-units test-ansible-integration test-molecule test-galaxy test-awx
TEST_TIERS += $(ANSIBLE_TIERS)

# Outside the checkout: inside a git work tree ansible-test lists files with git, and the copy is ignored.
ANSIBLE_TMP ?= /tmp/chorialab-choria-ansible-$(shell printf %s "$(CURDIR)" | md5sum | cut -c1-8)
ANSIBLE_PY = $(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ANSIBLE_TEST_ARGS ?=
# What ansible-test sees: the Ansible content. The emulator package, its benchmarks' data and the
# other docs have their own tests (test-emulator and friends).
ANSIBLE_CONTENT := galaxy.yml README.md LICENSE meta plugins roles playbooks extensions changelogs docs/ansible \
  tests/unit tests/integration tests/sanity requirements.txt bindep.txt

.PHONY: test-ansible $(ANSIBLE_TIERS) test-ansible-sanity ansible-docs

test-ansible: $(ANSIBLE_TIERS)

# $(call ansible-copy,DIR): the collection content at DIR/ansible_collections/chorialab/choria
# (without playbooks/collections, the checkout's link to itself).
define ansible-copy
rm -rf $(1) && mkdir -p $(1)/ansible_collections/chorialab/choria && \
tar -C $(CURDIR) --exclude=playbooks/collections --exclude=__pycache__ --exclude=tests/output -cf - \
  $$(cd $(CURDIR) && ls -d $(ANSIBLE_CONTENT) 2>/dev/null) | tar -C $(1)/ansible_collections/chorialab/choria -xf -
endef

# ansible-test sanity runs on the built artifact, for every ansible-core line (mk/galaxy.mk); this runs
# only its sanity tests, for a quick check while developing.
test-ansible-sanity: venv
	$(PYTEST) tests/ansible/test_artifact.py -k sanity $(PYTEST_ARGS)

test-ansible-units: venv
	$(call ansible-copy,$(ANSIBLE_TMP)/units)
	cd $(ANSIBLE_TMP)/units/ansible_collections/chorialab/choria && \
	  $(BIN)/ansible-test units --local --python $(ANSIBLE_PY) --color no $(ANSIBLE_TEST_ARGS)

# Targets find choria-emulator and nats-server in the shared venv (integration_config.yml).
test-ansible-integration: venv
	$(call ansible-copy,$(ANSIBLE_TMP)/integration)
	printf 'choria_test_venv: %s\n' "$(VENV)" > $(ANSIBLE_TMP)/integration/ansible_collections/chorialab/choria/tests/integration/integration_config.yml
	cd $(ANSIBLE_TMP)/integration/ansible_collections/chorialab/choria && \
	  $(BIN)/ansible-test integration --local --python $(ANSIBLE_PY) --color no $(ANSIBLE_TEST_ARGS)

# molecule finds the scenarios in extensions/molecule/ (collection mode) and the collection through
# a collections path that links to this checkout.
test-molecule: venv
	rm -rf $(ANSIBLE_TMP)/molecule && mkdir -p $(ANSIBLE_TMP)/molecule/ansible_collections/chorialab
	ln -s $(CURDIR) $(ANSIBLE_TMP)/molecule/ansible_collections/chorialab/choria
	CI=true NO_COLOR=1 ANSIBLE_NOCOLOR=1 CHORIA_COLLECTIONS_PATH=$(ANSIBLE_TMP)/molecule CHORIA_TEST_VENV=$(VENV) \
	  CHORIA_MOLECULE_CACHE=$(ANSIBLE_TMP)/molecule-cache $(BIN)/molecule test --all --exclude fleet < /dev/null

# ansible-galaxy collection build + install into a temp path, the playbooks by FQCN from there,
# setup-prereqs into a fresh venv; and the changelog fragments antsibull-changelog will release.
test-galaxy: venv
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
	$(PYTEST) tests/ansible/test_galaxy.py tests/ansible/test_reference.py $(PYTEST_ARGS)

# ansible-builder create (execution environment build context) and ansible-runner jobs as AWX runs them.
test-awx: venv
	$(PYTEST) tests/ansible/test_awx.py $(PYTEST_ARGS)

# docs/ansible/reference.md and roles/*/README.md from the modules' docs and the roles' argument specs
# (tests/ansible/test_reference.py fails when the committed files are not current).
ansible-docs: venv
	$(BIN)/python scripts/ansible_reference.py
