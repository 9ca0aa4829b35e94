"""Templates (playbooks.md §4, §7 items 28-34)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from pbhelpers import complete

from choria_emulator.playbook import Playbook, PlaybookError, RunOptions
from choria_emulator.playbook.errors import TemplateError
from choria_emulator.playbook.templates import render, render_string


class Scope:
    """A stand-in playbook for the template engine alone."""

    def __init__(self, previous=None):
        self.previous = previous or {}

    def input_value(self, name):
        return {"x": {"value1": "value2"}, "flag": True, "n": 12.5, "none": None, "nested": [1, [2, {"a": 1}]]}[name]

    def discovered_nodes(self, name):
        if name != "x":
            raise TemplateError(f"Unknown node set {name}")
        return ["value1", "value2"]

    def metadata_item(self, item):
        return {"name": "test_playbook"}[item]

    def previous_task(self, item):
        return self.previous.get(item)

    def elapsed_time(self):
        return 1.25


def test_single_braces_are_not_templates():
    assert render_string("{ input.x }", Scope()) == "{ input.x }"


@pytest.mark.parametrize(
    "text", ["{{ input.x }}", "{{{ input.x }}}", "{{input.x}}", "{{{inputs.x}}}", "{{ inputs.x }}}"]
)
def test_two_or_three_braces_resolve(text):
    assert render_string(text, Scope()) == {"value1": "value2"}


def test_whole_string_node_set_stays_a_list():
    assert render_string("{{{ nodes.x }}}", Scope()) == ["value1", "value2"]


def test_mixed_string_joins_lists_and_json_encodes_mappings():
    text = render_string("nodes: {{{ nodes.x }}} input: {{{ input.x }}} uuid: {{{ uuid }}}", Scope())
    assert re.fullmatch(
        r'nodes: value1, value2 input: \{"value1":"value2"\} '
        r"uuid: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}",
        text,
    )


def test_values_in_strings_print_as_ruby_does():
    assert render_string("a {{ input.flag }} b {{ input.n }} c {{ input.none }}.", Scope()) == "a true b 12.5 c ."
    assert render_string("x {{ input.nested }}", Scope()) == 'x 1, 2, {"a"=>1}'


def test_whole_string_keeps_types():
    assert render_string("{{ input.flag }}", Scope()) is True
    assert render_string("{{ elapsed_time }}", Scope()) == 1.25


def test_date_and_utc_date_with_quoted_formats():
    assert re.fullmatch(r"\d{8}T\d{6}[+-]\d{4}", render_string("{{{ date(%Y%m%dT%H%M%S%z) }}}", Scope()))
    year = str(datetime.now(timezone.utc).year)
    assert render_string("{{{ utc_date('%Y') }}}", Scope()) == year
    assert render_string('{{{ utc_date("%Y") }}}', Scope()) == year
    assert re.fullmatch(r"\d{3}", render_string("{{ utc_date(%L) }}", Scope()))


def test_elapsed_time_is_a_float_in_a_real_run(make_book, tmp_path):
    out = tmp_path / "t"
    report = make_book(complete({"tasks": [{"shell": {"command": f"echo {{{{ elapsed_time }}}} > {out}"}}]})).run({})
    assert report["report"]["success"]
    assert "." in out.read_text()


def test_uuid_is_new_on_every_evaluation():
    assert render_string("{{ uuid }}", Scope()) != render_string("{{ uuid }}", Scope())


def test_unknown_type_with_extra_s_raises():
    with pytest.raises(TemplateError, match="^Do not know how to process data of type inputss$"):
        render_string("{{{ inputss.x }}}", Scope())


def test_unrecognised_template_text_is_left_alone():
    assert render_string("{{ foo.bar }} and {{ input.flag }}", Scope()) == "{{ foo.bar }} and true"


def test_keys_and_non_strings_are_not_templated():
    data = {"{{ input.flag }}": "{{ input.flag }}", "n": 1, "l": ["{{ nodes.x }}"]}
    assert render(data, Scope()) == {"{{ input.flag }}": True, "n": 1, "l": [["value1", "value2"]]}


def test_line_anchored_whole_string_quirk_is_kept():
    assert render_string("first line\n{{ input.flag }}", Scope()) is True


def test_previous_task_without_any_result(make_book):
    book = make_book(complete({}))
    assert book.previous_task("success") is False
    assert book.previous_task("msg") == "No previous task were found"
    assert book.previous_task("message") == "No previous task were found"
    assert book.previous_task("data") == []
    assert book.previous_task("description") == "No previous task were found"
    assert book.previous_task("runtime") == 0


def test_previous_task_with_a_result_that_did_not_run(make_book):
    book = make_book(complete({"tasks": [{"shell": {"command": "true", "description": "raw {{ input.x }}"}}]}))
    book.tasks.from_hash(book.data["tasks"])
    book.tasks.results.append(book.tasks.sets["tasks"][0].result)
    assert book.previous_task("success") is False
    assert book.previous_task("msg") == "Previous task did not run"
    assert book.previous_task("data") == []
    assert book.previous_task("description") == "raw {{ input.x }}"  # untemplated
    assert book.previous_task("runtime") == 0


def test_previous_task_with_a_result_that_ran(make_book):
    book = make_book(complete({"tasks": [{"shell": {"command": "echo hi"}}]}))
    book.tasks.from_hash(book.data["tasks"])
    entry = book.tasks.sets["tasks"][0]
    entry.runner.from_hash(entry.properties)
    result = entry.result
    result.timed_run("tasks", book.log)
    result._elapsed = 1.11111
    book.tasks.results.append(result)
    assert book.previous_task("success") is True
    assert book.previous_task("msg") == "Command completed successfully"
    assert book.previous_task("data") == ["hi\n"]
    assert book.previous_task("runtime") == 1.11


def test_previous_task_in_on_fail_is_the_failed_task(make_book, tmp_path):
    out = tmp_path / "msg"
    data = complete(
        {
            "tasks": [{"shell": {"description": "breaks", "command": "exit 3"}}],
            "hooks": {
                "on_fail": [
                    {
                        "shell": {
                            "command": "echo '{{{ previous_task.description }}}: {{{ previous_task.msg }}}' > "
                            + str(out)
                        }
                    }
                ]
            },
        }
    )
    make_book(data).run({})
    assert out.read_text().strip() == "breaks: Command failed with code 3"


def test_unknown_template_input_or_node_set_aborts_the_run(make_book):
    report = make_book(complete({"tasks": [{"shell": {"command": "echo {{{ inputs.missing }}}"}}]})).run({})
    assert report["report"]["playbook_error"] == "Playbook test_playbook failed: RuntimeError: Unknown input missing"
    report = make_book(complete({"tasks": [{"shell": {"command": "echo {{{ nodes.missing }}}"}}]})).run({})
    assert report["report"]["playbook_error"] == "Playbook test_playbook failed: RuntimeError: Unknown node set missing"


def test_metadata_in_templates():
    book = Playbook.load(complete({"tags": ["a"]}), RunOptions(quiet=True))
    assert book.template("{{{ metadata.name }}} {{{ metadata.tags }}}") == "test_playbook a"
    with pytest.raises(PlaybookError, match="Unknown playbook metadata nope"):
        book.template("{{{ metadata.nope }}}")
