"""Sigma values turned into predicates over an `EventView`, built once per rule.

Matching rules, as the Sigma specification and its common backends read them:

- Strings compare case-insensitively unless the value carries `|cased`. Both sides are
  lowered with `str.lower()`; `casefold()` would also equate "ß" with "ss", which the
  search backends Sigma rules are written for do not do.
- `*` and `?` are wildcards over the whole value (a value without wildcards must equal
  the field); pySigma has already turned `\\*` and `\\?` into plain characters and
  `contains`/`startswith`/`endswith` into wildcards.
- Numbers equal numeric fields of the same value and string fields holding the number's
  text ("404"); booleans equal booleans and the strings "true"/"false".
- `null` matches a missing field (or one holding only None); `|exists` tests presence.
- `|re` searches (unanchored, like the backends do) case-sensitively unless `|i`.
- `|cidr` matches fields holding an IP address inside the network.
- Keywords (values without a field) are searched as substrings of `event.original` and
  `message`, with the same wildcard rules. Uncased ones are searched by the regex engine
  with IGNORECASE in the text as it is: lowering a whole event line costs several times
  more than the search (non-ASCII lines lower slowly); the two agree for every letter
  whose lower case is one letter.
- A multi-valued field matches when any of its values does.
- `|fieldref` compares with another field of the same event (case-insensitively, with
  `|startswith`, `|endswith` and `|contains` combining as for plain values).
- `|gt`, `|gte`, `|lt`, `|lte` compare numbers; a text field holding a number counts.
- `|base64offset` and `|windash` arrive from pySigma as alternatives (SigmaExpansion),
  any of which may match; `|base64`, `|wide`/`|utf16le`, `|utf16be` and `|utf16` arrive
  already encoded and match like any string.
- `|expand` placeholders are filled by the logsource pipeline from configured values
  (see `load_logsource_pipeline`); one left without values makes the rule fail to
  compile, as the Sigma specification requires ("it must reject the rule").
"""

import operator
import re
import sys
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, NamedTuple

from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaQueryExpression,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from canhgac.correlator._errors import RuleCompileError
from canhgac.correlator._event_view import EventView
from canhgac.correlator._native_module import native_module
from canhgac.events import Scalar

Predicate = Callable[[EventView], bool]
TextTest = Callable[[str], bool]

# Where keywords (values not bound to a field) are looked for.
KEYWORD_FIELDS = ("event.original", "message")

_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}

_COMPARE = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}

StringPart = str | SpecialChars

# The reason of a rule skipped for an unfilled placeholder (a bundled one waits for config).
PLACEHOLDER_WITHOUT_VALUES = "has no values"

# The native module, or None when it was not built (a machine without cargo).
_native: Any = native_module()


class StringShape(NamedTuple):
    """A string value in one of the shapes that skip the regex engine.

    `kind` is "equals" (no wildcard), "startswith" (`text*`), "endswith" (`*text`),
    "contains" (`*text*`) or "any" (`*` alone); `text` is lowered unless the value is
    cased.
    """

    kind: str
    text: str


def _string_parts(value: SigmaString) -> list[StringPart]:
    """The string's plain parts (lowered unless cased, adjacent ones joined) and wildcards."""
    cased = isinstance(value, SigmaCasedString)
    parts: list[StringPart] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise RuleCompileError(
                f"placeholder %{part.name}% {PLACEHOLDER_WITHOUT_VALUES}: configure them "
                f"(rules.placeholders.{part.name}) or remove the rule; Sigma says a rule whose "
                "placeholders cannot be filled must not be used"
            )
        if isinstance(part, SpecialChars):
            parts.append(part)
        elif parts and isinstance(parts[-1], str):
            parts[-1] += part if cased else part.lower()
        else:
            parts.append(part if cased else part.lower())
    return parts


def _is_multi(part: StringPart) -> bool:
    return part is SpecialChars.WILDCARD_MULTI


def string_shape(value: SigmaString) -> StringShape | None:
    """The value's `StringShape`, or None for other wildcard patterns."""
    parts = _string_parts(value)
    texts = [part for part in parts if isinstance(part, str)]
    if len(texts) == len(parts):
        return StringShape("equals", "".join(texts))
    if len(parts) == 1:
        return StringShape("any", "") if _is_multi(parts[0]) else None
    first, last = parts[0], parts[-1]
    if len(parts) == 2:
        if _is_multi(first) and isinstance(last, str):
            return StringShape("endswith", last)
        if isinstance(first, str) and _is_multi(last):
            return StringShape("startswith", first)
        if _is_multi(first) and _is_multi(last):
            return StringShape("any", "")
        return None
    middle = parts[1]
    if len(parts) == 3 and _is_multi(first) and _is_multi(last) and isinstance(middle, str):
        return StringShape("contains", middle)
    return None


def longest_literal(value: SigmaString) -> str:
    """The longest run of plain characters of a wildcard pattern ("" when none): any
    text the pattern matches contains it."""
    return max(
        (part for part in _string_parts(value) if isinstance(part, str)), key=len, default=""
    )


def with_surrounding_wildcards(value: SigmaString) -> SigmaString:
    """A keyword matches anywhere in the text: `*value*`."""
    if not value.startswith(SpecialChars.WILDCARD_MULTI):
        value = SpecialChars.WILDCARD_MULTI + value
    if not value.endswith(SpecialChars.WILDCARD_MULTI):
        value = value + SpecialChars.WILDCARD_MULTI
    return value


def _wildcard_pattern(parts: list[StringPart]) -> str:
    return "".join(
        re.escape(part) if isinstance(part, str) else ".*" if _is_multi(part) else "."
        for part in parts
    )


def _wildcard_regex(parts: list[StringPart]) -> re.Pattern[str]:
    return re.compile(_wildcard_pattern(parts), re.DOTALL)


def string_test(value: SigmaString) -> TextTest:
    """A test of one text (already lowered unless the value is cased) against the value."""
    shape = string_shape(value)
    if shape is None:
        regex = _wildcard_regex(_string_parts(value))
        return lambda text: regex.fullmatch(text) is not None
    kind, needle = shape
    if kind == "equals":
        return needle.__eq__
    if kind == "any" or not needle:
        return _any_text
    if kind == "contains":
        return lambda text: needle in text
    if kind == "endswith":
        return lambda text: text.endswith(needle)
    return lambda text: text.startswith(needle)


def _any_text(text: str) -> bool:
    return True


def _texts_match(field: str, test: TextTest, cased: bool) -> Predicate:
    if cased:

        def cased_predicate(view: EventView) -> bool:
            return any(map(test, view.texts(field)))

        return cased_predicate

    def predicate(view: EventView) -> bool:
        return any(map(test, view[field]))

    return predicate


def _number_equals(field: str, number: float) -> Predicate:
    text = str(number)

    def predicate(view: EventView) -> bool:
        for item in view.scalars(field):
            if isinstance(item, bool):
                continue
            if isinstance(item, int | float):
                if item == number:
                    return True
            elif item == text:
                return True
        return False

    return predicate


def _bool_equals(field: str, expected: bool) -> Predicate:
    text = "true" if expected else "false"

    def predicate(view: EventView) -> bool:
        for item in view.scalars(field):
            if isinstance(item, bool):
                if item is expected:
                    return True
            elif isinstance(item, str) and item.lower() == text:
                return True
        return False

    return predicate


def regex_of(value: SigmaRegularExpression) -> re.Pattern[str]:
    """The compiled Python regular expression of a `|re` value."""
    if value.regexp.contains_placeholder():
        names = ", ".join(f"%{p.name}%" for p in value.regexp.s if isinstance(p, Placeholder))
        raise RuleCompileError(
            f"placeholder {names} {PLACEHOLDER_WITHOUT_VALUES}: configure them "
            "(rules.placeholders) or remove the rule"
        )
    flags = 0
    for flag in value.flags:
        flags |= _REGEX_FLAGS[flag]
    try:
        return re.compile(str(value.regexp), flags)
    except re.error as err:
        raise RuleCompileError(f"invalid regular expression {str(value.regexp)!r}: {err}") from err


def _regex_search(fields: tuple[str, ...], regex: re.Pattern[str]) -> Predicate:
    def predicate(view: EventView) -> bool:
        for name in fields:
            for text in view.texts(name):
                if regex.search(text) is not None:
                    return True
        return False

    return predicate


def _parse_ip(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text)
    except ValueError:
        return None  # a value that is no IP address is simply outside every network


def _cidr(field: str, value: SigmaCIDRExpression) -> Predicate:
    network = value.network

    def predicate(view: EventView) -> bool:
        for text in view.texts(field):
            address = _parse_ip(text.strip())
            if address is not None and address.version == network.version and address in network:
                return True
        return False

    return predicate


def _as_number(item: Scalar) -> float | None:
    if isinstance(item, bool) or item is None:
        return None
    if isinstance(item, int | float):
        return item
    try:
        return float(item)
    except ValueError:
        return None  # text that is no number takes part in no comparison


def _compare(field: str, value: SigmaCompareExpression) -> Predicate:
    compare = _COMPARE[value.op]
    bound = value.number.number

    def predicate(view: EventView) -> bool:
        for item in view.scalars(field):
            number = _as_number(item)
            if number is not None and compare(number, bound):
                return True
        return False

    return predicate


# How a field's lower-case text relates to the referenced field's, by kind.
_RELATIONS: dict[str, Callable[[str, str], bool]] = {
    "contains": operator.contains,
    "startswith": str.startswith,
    "endswith": str.endswith,
    "equals": operator.eq,
}


def field_reference_kind(value: SigmaFieldReference) -> str:
    """How `|fieldref` compares, with the affix modifiers it came with: "contains",
    "startswith", "endswith" or "equals"."""
    if value.starts_with and value.ends_with:
        return "contains"
    if value.starts_with:
        return "startswith"
    return "endswith" if value.ends_with else "equals"


def _field_reference(field: str, value: SigmaFieldReference) -> Predicate:
    other = value.field
    test = _RELATIONS[field_reference_kind(value)]

    def predicate(view: EventView) -> bool:
        references = view[other]
        return any(test(text, ref) for text in view[field] for ref in references)

    return predicate


def _any_of(predicates: list[Predicate]) -> Predicate:
    alternatives = tuple(predicates)

    def predicate(view: EventView) -> bool:
        return any(alternative(view) for alternative in alternatives)

    return predicate


def _unsupported_value(value: SigmaType) -> RuleCompileError:
    if isinstance(value, SigmaTimestampPart):
        return RuleCompileError("unsupported: time modifiers (minute, hour, day, ...)")
    if isinstance(value, SigmaQueryExpression):
        return RuleCompileError("unsupported: query expressions")
    return RuleCompileError(f"unsupported: values of type {type(value).__name__}")


def field_predicate(field: str, value: SigmaType) -> Predicate:
    """The predicate `field` matches `value`."""
    field = sys.intern(field)  # as the parsers intern event field names (dict lookups)
    # Subclasses first: a timestamp part is a number, a cased string a string.
    if isinstance(value, SigmaTimestampPart):
        raise _unsupported_value(value)
    if isinstance(value, SigmaString):
        return _texts_match(field, string_test(value), isinstance(value, SigmaCasedString))
    if isinstance(value, SigmaNumber):
        return _number_equals(field, value.number)
    if isinstance(value, SigmaBool):
        return _bool_equals(field, value.boolean)
    if isinstance(value, SigmaNull):
        return lambda view: not view.scalars(field)
    if isinstance(value, SigmaExists):
        expected = value.exists
        return lambda view: view.has(field) is expected
    if isinstance(value, SigmaRegularExpression):
        return _regex_search((field,), regex_of(value))
    if isinstance(value, SigmaCIDRExpression):
        return _cidr(field, value)
    if isinstance(value, SigmaCompareExpression):
        return _compare(field, value)
    if isinstance(value, SigmaFieldReference):
        return _field_reference(field, value)
    if isinstance(value, SigmaExpansion):
        return _any_of([field_predicate(field, item) for item in value.values])
    raise _unsupported_value(value)


def keyword_pattern(value: SigmaString) -> str:
    """The regular expression of a keyword, to search for: its surrounding `*` dropped."""
    parts = _string_parts(value)
    while parts and _is_multi(parts[0]):
        parts.pop(0)
    while parts and _is_multi(parts[-1]):
        parts.pop()
    return _wildcard_pattern(parts)


NATIVE_NEEDLES_MIN = 2
"""From this many needles on, one native pass over a text beats one `in` per needle
(already at two: bench/README.md)."""


def substring_search(needles: Sequence[str]) -> Callable[[str], bool | None]:
    """A test: whether one of the needles occurs in a text; None when it cannot tell
    (a text with lone surrogates, for the native search), and the caller loops instead.

    Native (`NeedleSet`) from `NATIVE_NEEDLES_MIN` needles on, else Python's `in`.
    """
    kept = tuple(needles)

    def search(text: str) -> bool:
        # A plain loop: any() over a generator costs about twice as much here.
        for needle in kept:  # noqa: SIM110
            if needle in text:
                return True
        return False

    if _native is None or len(kept) < NATIVE_NEEDLES_MIN or "" in kept:
        return search
    try:
        needle_set = _native.NeedleSet(list(kept), False)
    except UnicodeEncodeError:  # a needle with lone surrogates has no UTF-8 form
        return search
    found_in: Callable[[str], bool | None] = needle_set.found_in
    return found_in


def keywords_containing(needles: Sequence[str]) -> Predicate:
    """The predicate: one of the (lowered) needles occurs in a keyword field, whatever
    its case (see `KEYWORD_FIELDS` and the module's notes)."""
    regex = re.compile("|".join(map(re.escape, needles)), re.IGNORECASE | re.DOTALL)
    if _native is None or len(needles) < NATIVE_NEEDLES_MIN or not all(map(str.isascii, needles)):
        return _regex_search(KEYWORD_FIELDS, regex)
    # For ASCII needles in ASCII text, re.IGNORECASE is ASCII case-insensitivity.
    found_in = _native.NeedleSet(list(needles), True).found_in

    def predicate(view: EventView) -> bool:
        for name in KEYWORD_FIELDS:
            for text in view.texts(name):
                if text.isascii():
                    if found_in(text):
                        return True
                elif regex.search(text) is not None:
                    return True
        return False

    return predicate


def keyword_predicate(value: SigmaType) -> Predicate:
    """The predicate `value` occurs in the event's text (see `KEYWORD_FIELDS`)."""
    if isinstance(value, SigmaCasedString):
        test = string_test(with_surrounding_wildcards(value))
        return _any_of([_texts_match(name, test, True) for name in KEYWORD_FIELDS])
    if isinstance(value, SigmaString):
        pattern = re.compile(keyword_pattern(value), re.IGNORECASE | re.DOTALL)
        return _regex_search(KEYWORD_FIELDS, pattern)
    if isinstance(value, SigmaNumber) and not isinstance(value, SigmaTimestampPart):
        return keyword_predicate(SigmaString(str(value.number)))
    if isinstance(value, SigmaRegularExpression):
        return _regex_search(KEYWORD_FIELDS, regex_of(value))
    if isinstance(value, SigmaExpansion):
        return _any_of([keyword_predicate(item) for item in value.values])
    if isinstance(value, SigmaBool | SigmaNull):
        raise RuleCompileError(f"unsupported: keywords of type {type(value).__name__}")
    raise _unsupported_value(value)
