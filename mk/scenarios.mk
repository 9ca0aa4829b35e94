# Scenarios (issue 17): agents from go-choria JSON DDLs, scenario files (behaviour engine), lifecycle
# events, and the blue/green deploy rehearsal. Tests run real nats-servers (a routed cluster for the
# rehearsal), emulators with DDL agents, the playbook runner natively and converted (ansible-playbook).

TEST_TIERS += test-scenarios

.PHONY: test-scenarios

test-scenarios: venv
	@start=$$(date +%s); \
	$(PYTEST) tests/scenarios $(PYTEST_ARGS); \
	echo "test-scenarios took $$(( $$(date +%s) - start )) s"
