"""Errors of the playbook engine: one line each, carrying the Ruby class name the spec quotes.

Upstream messages embed the class of the error (``Playbook x failed: RuntimeError: ...``,
``Could not resolve s/k for input i: RuntimeError: not found``). Python class names would
change those strings, so every engine error says which Ruby class it stands for.
"""

from __future__ import annotations


class PlaybookError(Exception):
    """An error the playbook reports as ``RuntimeError: <msg>`` (Ruby's ``raise "msg"``)."""

    ruby_class = "RuntimeError"


class PlaybookInvalid(PlaybookError):
    """``validate_configuration!`` failed; ``problems`` holds every message in order."""

    def __init__(self, problems: list[str]):
        super().__init__("Playbook is not in a valid format")
        self.problems = list(problems)


class ValidatorError(PlaybookError):
    """An input value failed its ``validation``."""

    ruby_class = "MCollective::ValidatorError"


class TemplateError(PlaybookError):
    """A ``{{{ ... }}}`` template could not be resolved."""


class DataStoreError(PlaybookError):
    """A data store operation failed."""


class LockTimeout(DataStoreError):
    """A playbook lock was not obtained within the store's ``timeout``."""


class TaskConfigError(PlaybookError):
    """A task's ``validate_configuration!`` failed; this aborts the whole playbook (§3.2)."""


def error_class(exc: BaseException) -> str:
    """The class name to print for ``exc``: the Ruby one for engine errors, else Python's."""
    return getattr(exc, "ruby_class", type(exc).__name__)


def describe(exc: BaseException) -> str:
    """``<Class>: <msg>``, the form upstream messages embed."""
    return f"{error_class(exc)}: {exc}"
