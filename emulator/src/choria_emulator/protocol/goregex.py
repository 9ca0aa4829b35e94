"""Go (RE2) regular expressions run with Python's ``re``, compiled once per pattern.

go-choria matches identities, agents, classes, facts and ``matches`` with Go's ``regexp``.
The syntaxes overlap almost entirely; :func:`translate` rewrites the few places where the same
text means something else (``$`` and ``\\z``, octal escapes, ``\\Q..\\E``, POSIX classes,
``(?<name>``) and refuses what Go refuses (look-around, back-references), so a pattern matches
the same strings here as on a Go daemon. A pattern Go cannot compile never matches, as in Go,
where ``regexp.MatchString`` errors count as no match. Character classes are ASCII (``\\d``,
``\\w``, ``\\s``, ``\\b``) like Go; ``(?i)`` folds ASCII letters only (Go folds Unicode).
"""

from __future__ import annotations

import re

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_CACHE_LIMIT = 4096
_cache: dict[tuple[str, bool], re.Pattern[str] | None] = {}


class GoRegexError(ValueError):
    """The pattern is not valid Go regexp syntax (or uses what we cannot translate)."""


def translate(pattern: str) -> str:
    """Rewrite a Go regexp into Python ``re`` syntax with the same meaning."""
    out: list[str] = []
    i, size = 0, len(pattern)
    in_class = False
    multiline = bool(re.search(r"\(\?[a-zA-Z]*m", pattern))
    while i < size:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= size:
                raise GoRegexError("trailing backslash")
            nxt = pattern[i + 1]
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = size if end < 0 else end + 2
                continue
            if nxt == "z":
                out.append("\\Z")
            elif nxt == "Z":
                raise GoRegexError("invalid escape sequence \\Z")
            elif nxt.isdigit():
                digits = pattern[i + 1 : i + 4]
                octal = re.match(r"[0-7]{1,3}", digits)
                if nxt != "0" and (octal is None or len(octal.group()) < 2):
                    raise GoRegexError("back-references are not supported")
                text = octal.group() if octal else "0"
                out.append("\\u%04x" % int(text, 8))
                i += 1 + len(text)
                continue
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2 : end] if end > 0 else ""
                if name not in _POSIX:
                    raise GoRegexError(f"invalid character class range [:{name}:]")
                out.append(_POSIX[name])
                i = end + 2
                continue
            if ch == "]":
                in_class = False
            elif ch in "[&~|":  # literal in Go; nested-set syntax (or a warning) in Python
                out.append("\\" + ch)
                i += 1
                continue
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            # a ']' right after '[' or '[^' is a literal in both syntaxes
            if i < size and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < size and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if ch == "(" and pattern.startswith("(?", i):
            if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
                raise GoRegexError("look-around is not supported")
            if pattern.startswith("(?<", i):
                out.append("(?P<")
                i += 3
                continue
        if ch == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        out.append(ch)
        i += 1
    if in_class:
        raise GoRegexError("missing closing ]")
    return "".join(out)


def compile_go(pattern: str, ignore_case: bool = False) -> re.Pattern[str] | None:
    """The compiled pattern, or None when Go would not compile it (cached, hits are a dict lookup)."""
    key = (pattern, ignore_case)
    try:
        return _cache[key]
    except KeyError:
        pass
    try:
        compiled: re.Pattern[str] | None = re.compile(translate(pattern), re.ASCII | (re.IGNORECASE if ignore_case else 0))
    except (GoRegexError, re.error, OverflowError, RecursionError):
        compiled = None
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[key] = compiled
    return compiled


def search(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """Go's ``regexp.MatchString``: an unanchored search; an invalid pattern matches nothing."""
    compiled = compile_go(pattern, ignore_case)
    return compiled is not None and compiled.search(text) is not None
