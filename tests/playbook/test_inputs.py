"""Inputs (playbooks.md §1.4, §7 items 4-10), on the spec fixture playbook."""

from __future__ import annotations

import pytest
from pbhelpers import complete, load_sample

from choria_emulator.playbook import Playbook, PlaybookError, RunOptions
from choria_emulator.playbook.inputs import cli_type
from choria_emulator.playbook.stores import DataStores
from choria_emulator.playbook.yamlload import Symbol, load_yaml

FIXTURE = "mcollective-choria__spec_fixtures_playbooks@0.6.0__playbook.yaml"


@pytest.fixture
def book() -> Playbook:
    """The 0.6.0 spec fixture with its memory stores prepared, as the spec tests use it."""
    playbook = Playbook.load(load_sample(FIXTURE), RunOptions(quiet=True))
    playbook.data_stores.from_hash(playbook.data["data_stores"]).prepare()
    return playbook


def test_required_defaults_to_true_and_input_order_is_kept(book):
    assert book.inputs.keys() == ["cluster", "two", "data_backed", "forced_dynamic", "data_backed_save"]
    assert book.inputs.properties("two")["required"] is True
    assert book.inputs.properties("cluster")["required"] is False


def test_dynamic_keys_are_the_data_bound_inputs(book):
    assert book.inputs.dynamic_keys() == ["data_backed", "forced_dynamic", "data_backed_save"]
    assert book.inputs.static_keys() == ["cluster", "two"]


def test_supplying_a_data_input_makes_it_static(book):
    book.data_stores.write("mem_store/data_backed", "from_store")
    book.inputs.prepare({"two": "x", "data_backed": "given"})
    assert book.inputs["data_backed"] == "given"
    assert "data_backed" not in book.inputs.dynamic_keys()


def test_supplying_a_forced_dynamic_input_is_ignored(book):
    book.data_stores.write("mem_store/data_backed", "from_store")
    book.inputs.prepare({"two": "x", "forced_dynamic": "given"})
    assert book.inputs["forced_dynamic"] == "from_store"
    assert "forced_dynamic" in book.inputs.dynamic_keys()


def test_dynamic_input_is_read_again_on_every_reference(book):
    book.inputs.prepare({"two": "x"})
    book.data_stores.write("mem_store/data_backed", "one")
    assert book.inputs["data_backed"] == "one"
    book.data_stores.write("mem_store/data_backed", "two")
    assert book.inputs["data_backed"] == "two"


def test_resolution_order_static_then_store_then_default(book):
    book.inputs.prepare({"two": "given"})
    assert book.inputs["two"] == "given"  # static
    assert book.inputs["cluster"] == "alpha"  # default
    assert book.inputs["data_backed"] == "data_backed_default"  # store empty -> default
    book.data_stores.write("mem_store/data_backed", "stored")
    assert book.inputs["data_backed"] == "stored"


def test_store_failure_without_default_names_the_store_path_and_error(book, monkeypatch):
    book.inputs.prepare({"two": "x"})

    def failing_read(path):
        raise PlaybookError("not found")

    monkeypatch.setattr(book.data_stores, "read", failing_read)
    assert book.inputs["data_backed"] == "data_backed_default"  # with a default: the default
    with pytest.raises(
        PlaybookError,
        match="^Could not resolve mem_store/data_backed for input data_backed_save: RuntimeError: not found$",
    ):
        book.inputs["data_backed_save"]


def test_value_from_store_that_fails_validation_falls_back_to_default(book):
    book.inputs.prepare({"two": "x"})
    book.data_stores.write("mem_store/data_backed", 1)
    assert book.inputs["data_backed"] == "data_backed_default"
    with pytest.raises(
        PlaybookError,
        match="for input data_backed_save: RuntimeError: "
        "Failed to validate value for input data_backed_save: value should be a string",
    ):
        book.inputs["data_backed_save"]


def test_input_without_value_data_or_default():
    book = Playbook.load(
        complete({"inputs": {"x": {"description": "x", "type": "String", "required": False}}}), RunOptions(quiet=True)
    )
    book.inputs.prepare({})
    with pytest.raises(PlaybookError, match="^Input x has no value, data source or default$"):
        book.inputs["x"]
    with pytest.raises(PlaybookError, match="^Unknown input y$"):
        book.inputs["y"]


@pytest.mark.parametrize(
    "validation, value, message",
    [
        (":string", 1, "value should be a string"),
        (":integer", "1", "value should be a integer"),
        (":boolean", "true", "value should be a boolean"),
        (":shellsafe", "a;b", "value should not have ; in it"),
        (":shellsafe", "a && b", "value should not have && in it"),
        (":shellsafe", "$(x)", "value should not have $ in it"),
        (":shellsafe", 1, "value should be a String"),
        (":ipv4address", "300.1.1.1", "value should be an ipv4 address"),
        (":ipv6address", "1.1.1.1", "value should be an ipv6 address"),
        ("/spec/", "nope", "value should match (?-mix:spec)"),
        ("^a+$", "b", "value should match ^a+$"),
        (["alpha", "bravo"], "charlie", "value should be one of alpha, bravo"),
    ],
)
def test_validation_failures_name_the_input(validation, value, message):
    book = Playbook.load(
        complete({"inputs": {"test": {"description": "t", "type": "String", "validation": validation}}}),
        RunOptions(quiet=True),
    )
    with pytest.raises(PlaybookError) as raised:
        book.inputs.prepare({"test": value})
    assert str(raised.value) == f"Failed to validate value for input test: {message}"


@pytest.mark.parametrize(
    "validation, value",
    [
        (":string", "x"),
        ("/spec/", "rspec"),
        (":shellsafe", "plain words"),
        (":ipv4address", "10.0.0.1"),
        (":ipv6address", "::1"),
        (["a", "b"], "b"),
        (":number", 1.5),
    ],
)
def test_validation_passes(validation, value):
    book = Playbook.load(
        complete({"inputs": {"test": {"description": "t", "type": "String", "validation": validation}}}),
        RunOptions(quiet=True),
    )
    book.inputs.prepare({"test": value})
    assert book.inputs["test"] == value


def test_validation_never_applies_to_defaults():
    book = Playbook.load(
        complete(
            {
                "inputs": {
                    "test": {
                        "description": "t",
                        "type": "String",
                        "required": False,
                        "default": "a;b",
                        "validation": ":shellsafe",
                    }
                }
            }
        ),
        RunOptions(quiet=True),
    )
    book.inputs.prepare({})
    assert book.inputs["test"] == "a;b"


def test_required_inputs_without_values_are_listed():
    inputs = {
        "has_req": {"description": "r", "type": "String"},
        "not_req": {"description": "n", "type": "String", "required": False},
    }
    book = Playbook.load(complete({"inputs": inputs}), RunOptions(quiet=True))
    with pytest.raises(PlaybookError, match="^Values were required but not given for inputs: has_req$"):
        book.inputs.prepare({"not_req": "x"})


def test_a_default_does_not_satisfy_required():
    inputs = {"has_req": {"description": "r", "type": "String", "default": "d"}}
    book = Playbook.load(complete({"inputs": inputs}), RunOptions(quiet=True))
    with pytest.raises(PlaybookError, match="^Values were required but not given for inputs: has_req$"):
        book.inputs.prepare({})


def test_a_supplied_false_counts_as_missing_and_nil_as_not_supplied():
    inputs = {"flag": {"description": "f", "type": "Boolean"}, "other": {"description": "o", "type": "String"}}
    book = Playbook.load(complete({"inputs": inputs}), RunOptions(quiet=True))
    with pytest.raises(PlaybookError, match="^Values were required but not given for inputs: flag, other$"):
        book.inputs.prepare({"flag": False, "other": None, "undeclared": 1})


def test_save_writes_only_static_values(book):
    book.inputs.prepare({"two": "x", "data_backed_save": "data_to_save"})
    book.inputs.save_input_data()
    assert book.data_stores.read("mem_store/data_backed") == "data_to_save"


def test_save_does_not_write_dynamic_values(book):
    book.inputs.prepare({"two": "x"})
    book.inputs.save_input_data()
    with pytest.raises(PlaybookError, match="No such key data_backed"):
        book.data_stores.read("mem_store/data_backed")


def test_cli_options_descriptions_and_flags():
    yaml_text = """
inputs:
  string_input: {description: string input, type: String, default: "1"}
  bool_input: {description: bool input, type: ":bool"}
  array_input:
    description: array input
    type: :array
  int_input: {description: int input, type: Integer}
  hidden: {description: h, type: String, dynamic: true, data: s/k}
"""
    data = complete(load_yaml(yaml_text))
    options = {o.input: o for o in Playbook.load(data, RunOptions(quiet=True)).inputs.cli_options()}
    assert list(options) == ["string_input", "bool_input", "array_input", "int_input"]
    assert options["string_input"].help == "string input (String) default: 1"
    assert options["string_input"].flag == "--string_input" and options["string_input"].metavar == "STRING_INPUT"
    assert options["bool_input"].kind == "Boolean"
    assert options["array_input"].kind == "Array"
    assert options["int_input"].kind == "Integer"


def test_invalid_input_type_is_named():
    with pytest.raises(PlaybookError, match="^Invalid input type Rspec given for input x$"):
        cli_type("Rspec", "x")


def test_invalid_input_type_is_printed_as_ruby_does():
    """0.6.0's "%s": nothing for a missing type (measured: ``Invalid input type  given for input cluster``), a
    symbol without its colon."""
    with pytest.raises(PlaybookError, match="^Invalid input type  given for input x$"):
        cli_type(None, "x")
    with pytest.raises(PlaybookError, match="^Invalid input type rspec given for input x$"):
        cli_type(load_yaml("t: :rspec")["t"], "x")


def test_quoted_colon_string_type_is_invalid_but_the_symbol_is_valid():
    data = load_yaml('a:\n  type: :string\nb:\n  type: ":string"\n')
    assert isinstance(data["a"]["type"], Symbol)
    assert cli_type(data["a"]["type"], "a") == "String"
    with pytest.raises(PlaybookError, match="^Invalid input type :string given for input b$"):
        cli_type(data["b"]["type"], "b")


def test_data_stores_are_available_to_inputs():
    assert isinstance(Playbook.load(complete({}), RunOptions(quiet=True)).inputs.stores, DataStores)
