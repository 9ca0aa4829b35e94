"""AWX's survey rules, for the job templates in docs/ansible/awx/job_templates.yml.

AWX checks a survey_spec when it is saved (POST .../survey_spec/) and the answers when a job is
launched, then passes the answers, with the defaults of unanswered questions, as extra vars. This
applies the same rules, so the definitions are validated and a job runs with what AWX would send.
"""

from __future__ import annotations

from typing import Any

QUESTION_TYPES = {
    "text": str,
    "textarea": str,
    "password": str,
    "multiplechoice": str,
    "multiselect": str,
    "integer": int,
    "float": (int, float),
}


class SurveyError(ValueError):
    """A survey spec AWX would refuse to save, or answers it would refuse to launch with."""


def _choices(question: dict[str, Any]) -> list[str]:
    choices = question.get("choices", [])
    return [c for c in choices.splitlines() if c.strip()] if isinstance(choices, str) else list(choices)


def check_spec(survey: dict[str, Any]) -> None:
    """Raise SurveyError with AWX's reason when it would refuse this survey_spec."""
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(survey.get(field), kind):
            raise SurveyError(f"field '{field}' is missing from the survey spec or not a {kind.__name__}")
    if not survey["spec"]:
        raise SurveyError("'spec' doesn't contain any items")
    seen = set()
    for index, question in enumerate(survey["spec"]):
        for field, kind in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
            if not isinstance(question.get(field), kind):
                raise SurveyError(f"'{field}' of survey question {index} is missing or not a {kind.__name__}")
        if question["variable"] in seen:
            raise SurveyError(f"'variable' '{question['variable']}' duplicated in survey question {index}")
        seen.add(question["variable"])
        qtype = question["type"]
        if qtype not in QUESTION_TYPES:
            raise SurveyError(f"'{qtype}' in survey question {index} is not an AWX question type")
        default = question.get("default", "")
        if default != "" and not isinstance(default, QUESTION_TYPES[qtype]):
            raise SurveyError(f"default {default!r} in survey question {index} is not of type {qtype}")
        for limit in ("min", "max"):
            if question.get(limit) is not None and not isinstance(question[limit], int):
                raise SurveyError(f"the {limit} limit in survey question {index} is not an integer")
        if qtype in ("multiplechoice", "multiselect"):
            if "choices" not in question:
                raise SurveyError(f"survey question {index} of type {qtype} must specify choices")
            defaults = [d for d in str(default).splitlines() if d.strip()]
            if qtype == "multiplechoice" and len(defaults) > 1:
                raise SurveyError(f"survey question {index}: a multiple choice has one default at most")
            if any(d not in _choices(question) for d in defaults):
                raise SurveyError(f"survey question {index}: the default must be one of the choices")


def _check_answer(question: dict[str, Any], value: Any) -> None:
    name, qtype = question["variable"], question["type"]
    low, high = question.get("min"), question.get("max")
    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            raise SurveyError(f"Value {value!r} for '{name}' expected to be a string.")
        if low is not None and len(value) < low or high is not None and len(value) > high:
            raise SurveyError(f"'{name}' value {value!r} must be {low} to {high} characters long.")
    elif qtype in ("integer", "float"):
        kinds = QUESTION_TYPES[qtype]
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise SurveyError(
                f"Value {value!r} for '{name}' expected to be {'an integer' if qtype == 'integer' else 'a float'}."
            )
        if low is not None and value < low or high is not None and value > high:
            raise SurveyError(f"'{name}' value {value} is outside {low} to {high}.")
    elif qtype == "multiplechoice":
        if value not in _choices(question):
            raise SurveyError(f"Value {value!r} for '{name}' expected to be one of {_choices(question)}.")
    elif qtype == "multiselect":
        if not isinstance(value, list) or any(v not in _choices(question) for v in value):
            raise SurveyError(f"Value {value!r} for '{name}' expected to be a list of {_choices(question)}.")


def extra_vars(survey: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The extra vars AWX launches with: the answers (checked), and the defaults of unanswered questions."""
    check_spec(survey)
    known = {q["variable"] for q in survey["spec"]}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise SurveyError(f"not survey questions: {', '.join(unknown)}")
    result: dict[str, Any] = {}
    for question in survey["spec"]:
        name = question["variable"]
        if name in answers:
            _check_answer(question, answers[name])
            result[name] = answers[name]
        elif question.get("default", "") != "":
            result[name] = question["default"]
        elif question["required"]:
            raise SurveyError(f"'{name}' value missing")
    return result
