"""Go regular expressions, run with RE2 (the engine Go's ``regexp`` package was ported from).

go-choria matches identities, agents, classes, facts and ``matches`` with Go's ``regexp``:
RE2 syntax (no look-around, no back-references; ``$`` is the end of the text unless ``(?m)``;
``\\d``, ``\\w``, ``\\s`` ASCII; Unicode classes and case folding) and linear-time matching. Using
RE2 itself (``google-re2``) keeps both: a pattern matches here exactly what it matches on a Go
daemon, and a hostile pattern such as ``^(.*)*X$`` cannot stall 10,000 instances the way a
backtracking engine would. A pattern RE2 cannot compile matches nothing, as in Go, where
``regexp.MatchString`` errors count as no match.

Matching goes through ``re2.Set`` (one pattern per set): its ``Match`` is a thin call into C++,
about 1 µs, where ``re2.compile(...).search`` builds Python match objects (~20 µs).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import re2

Matcher = Callable[[str], bool]
_CACHE_LIMIT = 4096
_cache: dict[tuple[str, bool], Matcher | None] = {}


def _compile(pattern: str, ignore_case: bool) -> Matcher | None:
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False
    patterns = re2.Set.SearchSet(options)
    try:
        patterns.Add(pattern)
        patterns.Compile()
    except (re2.error, UnicodeEncodeError):
        return None
    match = patterns.Match

    def search(text: str) -> bool:
        try:
            return match(text) is not None
        except UnicodeEncodeError:  # lone surrogates cannot be UTF-8: Go would see U+FFFD
            return match(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")) is not None

    return search


def compile_go(pattern: str, ignore_case: bool = False) -> Matcher | None:
    """A ``search(text) -> bool`` for the pattern, or None when Go would not compile it.

    Cached per process: a filter's regexps are compiled once, however many instances test them.
    """
    key = (pattern, ignore_case)
    try:
        return _cache[key]
    except KeyError:
        pass
    compiled = _compile(pattern, ignore_case)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[key] = compiled
    return compiled


@lru_cache(maxsize=256)
def _compile_set(patterns: tuple[str, ...]) -> Matcher:
    options = re2.Options()
    options.log_errors = False
    compiled = re2.Set.SearchSet(options)
    added = 0
    for pattern in patterns:
        try:
            compiled.Add(pattern)
        except (re2.error, UnicodeEncodeError):
            continue  # as in Go: an entry that does not compile matches nothing, the others still do
        added += 1
    if not added:
        return never
    compiled.Compile()
    match = compiled.Match

    def search(text: str) -> bool:
        try:
            return match(text) is not None
        except UnicodeEncodeError:
            return match(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")) is not None

    return search


def compile_set(patterns: list[str] | tuple[str, ...]) -> Matcher:
    """``search(text)``: whether any of ``patterns`` is found in ``text``, in one linear scan (an RE2
    set) however many patterns there are; patterns Go cannot compile are left out."""
    return _compile_set(tuple(patterns))


def never(_value: Any) -> bool:
    """The test of a pattern Go cannot compile (and of anything that can never match): always False."""
    return False


def search(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """Go's ``regexp.MatchString``: an unanchored search; an invalid pattern matches nothing."""
    compiled = compile_go(pattern, ignore_case)
    return compiled is not None and compiled(text)


def pattern_error(pattern: str) -> str | None:
    """Why Go (RE2) cannot compile ``pattern`` (e.g. ``missing ): (``), or None when it can.

    For clients that check a filter before sending it: a daemon would only match nothing.
    """
    options = re2.Options()
    options.log_errors = False
    try:
        re2.compile(pattern, options=options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
    except UnicodeEncodeError:
        return "not valid UTF-8"
    return None
