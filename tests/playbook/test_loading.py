"""Loading and validation (playbooks.md §1.1, §6.2, §7 items 1-3) and every saved sample."""

from __future__ import annotations

import pytest
from pbhelpers import HEADER, SAMPLES, complete, load_sample, sample

from choria_emulator.playbook import Playbook, PlaybookError, PlaybookInvalid, RunOptions
from choria_emulator.playbook.lint import lint

ILLEGAL_MESSAGES = [
    "Invalid playbook data items foo found",
    "A playbook name is needed",
    "A playbook version is needed",
    "A playbook author is needed",
    "A playbook description is needed",
    "Invalid log level illegal, valid levels are debug, info, warn, error, fatal",
    "Invalid callerid rspec",
    "uses should be a hash",
    "nodes should be a hash",
    "hooks should be a hash",
    "data_stores should be a hash",
    "inputs should be a hash",
    "locks should be a array",
    "tasks should be a array",
]


def load(name: str) -> Playbook:
    return Playbook.load(sample(name), RunOptions(quiet=True))


def test_illegal_fixture_logs_every_message_in_order_then_raises():
    book = load("mcollective-choria__spec_fixtures_playbooks__illegal.yaml")
    with pytest.raises(PlaybookInvalid, match="^Playbook is not in a valid format$") as raised:
        book.validate_configuration()
    assert raised.value.problems == ILLEGAL_MESSAGES
    assert [e.msg for e in book.log.entries if e.level == "error"] == ILLEGAL_MESSAGES


def test_illegal_fixture_run_raises_without_a_report():
    book = load("mcollective-choria__spec_fixtures_playbooks__illegal.yaml")
    with pytest.raises(PlaybookInvalid):
        book.run({})


@pytest.mark.parametrize(
    "name",
    [
        "mcollective-choria__spec_fixtures_playbooks__playbook.yaml",
        "mcollective-choria__spec_fixtures_playbooks@0.6.0__playbook.yaml",
    ],
)
def test_spec_fixture_playbook_passes_validation(name):
    book = load(name)
    book.validate_configuration()
    assert book.name == "test_playbook"


def test_metadata_defaults():
    book = Playbook.load(dict(HEADER), RunOptions(quiet=True))
    assert book.metadata_item("tags") == []
    assert book.metadata_item("on_fail") == "fail"
    assert book.metadata_item("loglevel") == "info"


def test_unknown_metadata_item_raises():
    book = Playbook.load(dict(HEADER), RunOptions(quiet=True))
    with pytest.raises(PlaybookError, match="^Unknown playbook metadata x$"):
        book.metadata_item("x")


def test_missing_run_as_defaults_to_choria_deployer_instead_of_crashing():
    data = {k: v for k, v in HEADER.items() if k != "run_as"}
    book = Playbook.load(data, RunOptions(quiet=True))
    book.validate_configuration()
    assert book.metadata_item("run_as") == "choria=deployer"


def test_macros_and_schema_are_accepted_and_yaml_anchors_merge(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "name: anchors\nversion: 1.0.0\nauthor: tests\ndescription: macros\n"
        "$schema: https://choria.io/schemas/playbook.json\n"
        "macros:\n  shell: &shell\n    cwd: /tmp\n    tries: 2\n"
        "tasks:\n  - shell:\n      <<: *shell\n      command: 'true'\n"
    )
    book = Playbook.load(path, RunOptions(quiet=True))
    book.validate_configuration()
    assert book.describe()["tasks"]["tasks"][0]["properties"] == {"cwd": "/tmp", "tries": 2, "command": "true"}


@pytest.mark.parametrize(
    "section, kind, message",
    [
        ("tasks", "rspec", "Cannot find a handler for Task type rspec"),
        ("nodes", "rspec", "Cannot find a handler for Node Set type rspec"),
        ("data_stores", "rspec", "Cannot find a handler for Data Store type rspec"),
    ],
)
def test_unknown_types_fail_at_prepare_with_a_failed_report(make_book, section, kind, message):
    data = complete({})
    if section == "tasks":
        data["tasks"] = [{kind: {}}]
    elif section == "nodes":
        data["nodes"] = {"servers": {"type": kind}}
    else:
        data["data_stores"] = {"store": {"type": kind}}
    report = make_book(data).run({})
    assert report["report"]["success"] is False
    assert report["report"]["playbook_error"].startswith("Playbook test_playbook failed: ")
    assert message in report["report"]["playbook_error"]


# -- every sample ---------------------------------------------------------------------------
FULL = [
    "mcollective-choria__spec_fixtures_playbooks__playbook.yaml",
    "mcollective-choria__spec_fixtures_playbooks@0.6.0__playbook.yaml",
    "website__docs_playbooks_basics@794b372__app_upgrade_mcollective_assert.yaml",
    "website__docs_playbooks_basics@c690681__app_upgrade_first.yaml",
    "website__docs_playbooks_templates__metadata.yaml",
]
DATA_FILES = {
    "mcollective-choria__spec_fixtures_playbooks__file_data.yaml": "Invalid playbook data items hello found",
    "mcollective-choria__spec_fixtures_playbooks__nodes.yaml": (
        "Invalid playbook data items uk, non_array, empty_array found"
    ),
    "website__docs_playbooks_node_sets__yaml_node_source_file.yaml": (
        "Invalid playbook data items web_servers, db_servers found"
    ),
}
LIST_FRAGMENTS = [
    "website__docs_playbooks_tasks__graphite_event.yaml",
    "website__docs_playbooks_tasks__mcollective_assert_property.yaml",
    "website__docs_playbooks_tasks__mcollective_assert_task_deprecated.yaml",
    "website__docs_playbooks_tasks__webhook.yaml",
    "website__docs_playbooks_templates__nodes_joined_in_string.yaml",
    "website__docs_playbooks_templates__uuid_webhook.yaml",
]
PROPOSAL = "website__docs_roadmap_playbooks@2223199__consul_design_proposal_UNIMPLEMENTED.yaml"
ALL_SAMPLES = sorted(p.name for p in SAMPLES.glob("*.yaml"))
MAPPING_FRAGMENTS = [
    n
    for n in ALL_SAMPLES
    if n not in FULL and n not in DATA_FILES and n not in LIST_FRAGMENTS and n != PROPOSAL and "illegal" not in n
]


def test_every_sample_is_classified():
    assert len(ALL_SAMPLES) == 43
    assert len(FULL) + len(DATA_FILES) + len(LIST_FRAGMENTS) + 1 + 1 + len(MAPPING_FRAGMENTS) == len(ALL_SAMPLES)


@pytest.mark.parametrize("name", FULL)
def test_full_sample_playbooks_validate(name):
    load(name).validate_configuration()


@pytest.mark.parametrize("name, message", sorted(DATA_FILES.items()))
def test_data_files_are_not_playbooks(name, message):
    with pytest.raises(PlaybookInvalid) as raised:
        load(name).validate_configuration()
    assert raised.value.problems[0] == message


@pytest.mark.parametrize("name", MAPPING_FRAGMENTS)
def test_mapping_fragments_fail_only_for_missing_metadata_and_load_once_completed(name):
    with pytest.raises(PlaybookInvalid) as raised:
        load(name).validate_configuration()
    assert raised.value.problems == [f"A playbook {k} is needed" for k in ("name", "version", "author", "description")]
    Playbook.load(complete(load_sample(name)), RunOptions(quiet=True)).validate_configuration()


@pytest.mark.parametrize("name", LIST_FRAGMENTS)
def test_task_list_fragments_are_not_mappings_but_load_as_task_lists(name):
    with pytest.raises(PlaybookError, match="should be a YAML mapping, got list"):
        load(name)
    book = Playbook.load(complete(load_sample(name)), RunOptions(quiet=True))
    book.validate_configuration()
    assert len(book.describe()["tasks"]["tasks"]) == 1


def test_unimplemented_consul_design_proposal_is_rejected():
    with pytest.raises(PlaybookInvalid) as raised:
        load(PROPOSAL).validate_configuration()
    assert raised.value.problems == [
        "Invalid playbook data items lock found",
        "A playbook author is needed",
        "A playbook description is needed",
    ]


def test_first_published_example_uses_message_which_lint_reports_as_missing_text():
    errors, warnings = lint(load("website__docs_playbooks_basics@c690681__app_upgrade_first.yaml"))
    assert any("Message text is required" in e for e in errors)
    assert any("'require'" in w for w in warnings)


def test_consul_samples_are_reported_as_unsupported_stores(make_book):
    data = complete(load_sample("website__docs_playbooks_data__store_consul_with_locks.yaml"))
    errors, _ = lint(Playbook.load(data, RunOptions(quiet=True)))
    assert any("type consul, which this implementation does not support" in e for e in errors)
    report = make_book(data).run({})
    assert (
        "Data store pb_consul uses type consul, which this implementation does not support"
        in report["report"]["playbook_error"]
    )


def test_deprecated_mcollective_assert_still_loads_with_a_warning():
    data = complete(load_sample("website__docs_playbooks_tasks__mcollective_assert_task_deprecated.yaml"))
    book = Playbook.load(data, RunOptions(quiet=True))
    errors, warnings = lint(book)
    assert not [e for e in errors if "mcollective_assert" in e]
    assert any("deprecated" in w for w in warnings)
