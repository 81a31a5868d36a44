"""Python regular expressions written for Rust's `regex` crate, where both mean the same.

A rule's `|re` value is a Python regular expression (`_matchers._regex`); the native
evaluator (native/src/rule_program.rs) can search it with Rust's `regex` crate instead,
when the translation finds the same texts. Only whether a text holds a match matters
(`search(...) is not None`), so leftmost-first or longest, greedy or lazy, make no
difference; what could is left to Python (None):

- case-insensitive matching (Python folds some characters Rust does not, and back);
- word boundaries, look-arounds, back-references, atomic groups, possessive repeats,
  inline flags, MULTILINE and ASCII;
- `$` anywhere but at the end of the pattern (Python's `$` also matches before a final
  newline: at the end that is `\\n?\\z`, elsewhere it has no Rust form).

`\\d`, `\\s` and `\\w` are written out as the characters Python's own Unicode tables
give them (Rust's tables may be of another Unicode version).
"""

import functools
import importlib
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

# The standard library's regular expression parser (no public name, no type stubs).
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

# Flags that keep a pattern in Python (DOTALL and the default UNICODE translate).
_UNTRANSLATED_FLAGS = re.IGNORECASE | re.MULTILINE | re.ASCII | re.LOCALE

_Node = tuple[Any, Any]


class _UntranslatableError(Exception):
    """The pattern has a part without a Rust form of the same meaning."""


def rust_regex(pattern: re.Pattern[str]) -> str | None:
    """The Rust `regex` syntax for `pattern`, or None to search it with Python."""
    try:
        parsed = _parser.parse(pattern.pattern, pattern.flags)
    except re.error:
        return None
    flags = parsed.state.flags
    if flags & _UNTRANSLATED_FLAGS:
        return None
    try:
        body = _sequence(list(parsed.data), at_end=True)
    except _UntranslatableError:
        return None
    return ("(?s)" if flags & re.DOTALL else "") + body


def _char(code: int) -> str:
    return f"\\x{{{code:X}}}"


def _sequence(nodes: list[_Node], *, at_end: bool) -> str:
    last = len(nodes) - 1
    return "".join(_node(node, at_end=at_end and index == last) for index, node in enumerate(nodes))


def _node(node: _Node, *, at_end: bool) -> str:
    op, argument = node
    if op is _c.LITERAL:
        return _char(argument)
    if op is _c.NOT_LITERAL:
        return f"[^{_char(argument)}]"
    if op is _c.ANY:
        return "."
    if op is _c.IN:
        return _class(argument)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        low, high, inner = argument
        bound = "" if high is _c.MAXREPEAT else str(high)
        return f"(?:{_sequence(list(inner), at_end=False)}){{{low},{bound}}}"
    if op is _c.SUBPATTERN:
        _, added, removed, inner = argument
        if added or removed:
            raise _UntranslatableError("inline flags")
        return f"(?:{_sequence(list(inner), at_end=at_end)})"
    if op is _c.BRANCH:
        _, alternatives = argument
        return "(?:" + "|".join(_sequence(list(a), at_end=at_end) for a in alternatives) + ")"
    if op is _c.AT:
        return _position(argument, at_end=at_end)
    raise _UntranslatableError(str(op))


def _position(where: Any, *, at_end: bool) -> str:
    if where in (_c.AT_BEGINNING, _c.AT_BEGINNING_STRING):
        return "\\A"
    if where is _c.AT_END_STRING:
        return "\\z"
    if where is _c.AT_END and at_end:
        return "\\n?\\z"
    raise _UntranslatableError(str(where))


def _class(items: Iterable[_Node]) -> str:
    parts: list[str] = []
    negated = ""
    for op, argument in items:
        if op is _c.NEGATE:
            negated = "^"
        elif op is _c.LITERAL:
            parts.append(_char(argument))
        elif op is _c.RANGE:
            low, high = argument
            parts.append(f"{_char(low)}-{_char(high)}")
        elif op is _c.CATEGORY:
            parts.append(_category(argument))
        else:
            raise _UntranslatableError(str(op))
    if not parts:
        raise _UntranslatableError("an empty class")
    return f"[{negated}{''.join(parts)}]"


def _is_word(character: str) -> bool:
    return character.isalnum() or character == "_"


# Python's categories for str patterns (sre: Py_UNICODE_ISDECIMAL, _ISSPACE, _ISALNUM).
_CATEGORY_TESTS: dict[str, Callable[[str], bool]] = {
    "CATEGORY_DIGIT": str.isdecimal,
    "CATEGORY_SPACE": str.isspace,
    "CATEGORY_WORD": _is_word,
}


def _category(category: Any) -> str:
    """A class (nested: Rust allows it inside another) of what Python's category holds."""
    name = str(category)
    negated = "_NOT_" in name
    base = name.replace("_NOT_", "_")
    if base not in _CATEGORY_TESTS:
        raise _UntranslatableError(name)
    return f"[{'^' if negated else ''}{_ranges(base)}]"


@functools.cache
def _ranges(category: str) -> str:
    """The characters of a category, as ranges (worked out once per category)."""
    test = _CATEGORY_TESTS[category]
    ranges: list[str] = []
    start: int | None = None
    for code in range(sys.maxunicode + 2):
        holds = code <= sys.maxunicode and not 0xD800 <= code <= 0xDFFF and test(chr(code))
        if holds and start is None:
            start = code
        elif not holds and start is not None:
            end = code - 1
            ranges.append(_char(start) if start == end else f"{_char(start)}-{_char(end)}")
            start = None
    return "".join(ranges)
