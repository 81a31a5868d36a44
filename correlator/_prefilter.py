"""Literal prefilter: skip the rules of a route whose required literals an event lacks.

Routing selects the rules of an event's logsource, which for a Sysmon process creation
is over a thousand SigmaHQ rules. Most of them require one of a few literals on a field
(`Image|endswith: '\\whoami.exe'` or `OriginalFileName: whoami.exe`, or
`CommandLine|contains: ' -enc '`): their *anchors*. A rule's anchors are sound, not
exact: whenever the rule matches, the event holds at least one of them (lower-cased,
which a case-sensitive test implies too); another wildcard pattern (`net*|*find`) is
anchored on its longest plain run, as a substring. So per event the prefilter looks the event's
field values up once in tables built from every rule's anchors, and only the rules with
a hit, plus the rules without anchors, are evaluated:

- equal values: one dict lookup per value;
- prefixes, suffixes and substrings: one pass of an Aho-Corasick automaton over the value
  (pyahocorasick), which reports every anchor occurring in it with where it ends; a
  prefix counts when it ends at its own length, a suffix when it ends at the value's
  end. The pass is linear in the value's length, so a megabyte PowerShell script block
  costs one scan, not one per rule.

The scan has two implementations with the same results: `LiteralTables` of the native
module `canhgac._native` (native/, Rust, built by scripts/build-native), used when it is
built, and the Python one here, the reference, used otherwise (`literal_scanner()` says
which). tests/correlator/test_prefilter.py checks that they agree.
"""

import importlib
import logging
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ahocorasick  # type: ignore[import-not-found]  # a C extension without stubs
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
)

from canhgac.correlator._event_view import EventView
from canhgac.correlator._matchers import (
    KEYWORD_FIELDS,
    StringShape,
    keyword_pattern,
    longest_literal,
    string_shape,
)
from canhgac.correlator._native_module import native_module
from canhgac.correlator._routing import ConditionTree, union_of_each

if TYPE_CHECKING:
    from canhgac._native import LiteralTables

_LOG = logging.getLogger(__name__)

# The native module, or None when it was not built (a machine without cargo).
_native: Any = native_module()


def literal_scanner() -> str:
    """Which literal scan `Prefilter.select` runs: "native" or "python"."""
    return "python" if _native is None else "native"


# Clauses kept per rule: each more costs automaton hits; two or three already leave few
# candidates (an image name and a command-line literal).
CLAUSE_LIMIT = 3


@dataclass(frozen=True, slots=True, order=True)
class Anchor:
    """A lower-case literal a rule needs on a field: `kind` is "equals", "startswith",
    "endswith" or "contains"."""

    field: str
    kind: str
    text: str


def _value_anchors(field: str, value: object) -> set[Anchor] | None:
    values = value.values if isinstance(value, SigmaExpansion) else [value]
    found: set[Anchor] = set()
    for item in values:
        if isinstance(item, SigmaRegularExpression):
            literals = _regex_value_literals(item)
            if literals is None:
                return None
            found.update(Anchor(field, "contains", text) for text in literals)
            continue
        if not isinstance(item, SigmaString):
            return None
        shape = string_shape(item)
        if shape is None:  # another wildcard pattern: its longest plain run is a substring
            shape = StringShape("contains", longest_literal(item))
        if shape.kind == "any" or not shape.text:
            return None
        found.add(Anchor(field, shape.kind, shape.text.lower()))
    return found


# How much more often an anchor of each kind is met than an equal value of its length.
_KIND_CHANCE = {"equals": 0.25, "startswith": 0.5, "endswith": 0.5, "contains": 1.0}


def _hit_chance(anchor: Anchor) -> float:
    """A rough relative chance that an event holds the anchor: short literals (".exe",
    "-e") are met everywhere, long ones rarely; a substring more often than a suffix."""
    return _KIND_CHANCE[anchor.kind] / (len(anchor.text) * math.sqrt(len(anchor.text)))


# Literals shorter than this are met nearly everywhere: no use as anchors...
REGEX_LITERAL_MIN = 3
# ...unless they hold one of these, rare in command lines, paths and URLs: a PowerShell
# escape (`), a format string ({0}), a variable (${, $env:), a caret or a pipe. An
# obfuscation regex anchored on one is tested on few events instead of all of them.
RARE_LITERAL_CHARACTERS = frozenset("`^~${}|")
# The standard library's regular expression parser (no public name, no type stubs).
_sre_parser: Any = importlib.import_module("re._parser")
_sre: Any = importlib.import_module("re._constants")
# Under IGNORECASE, "i" and "s" also match characters whose lower case is not "i" or "s"
# (U+0130, U+0131, U+017F): no lower-cased literal holding them is sound.
_UNSAFE_IGNORECASE = frozenset("iIsS")
_Literals = frozenset[str]


def regex_literals(pattern: str, ignorecase: bool = False) -> _Literals | None:
    """Lower-case literals of which every text the pattern matches (searched, not
    anchored) holds one, when lower-cased; None when none are known.

    Only ASCII characters count (lower-casing is per character for them), and under
    IGNORECASE not those of `_UNSAFE_IGNORECASE`. The choice among the literals of a
    sequence is the one least often met (see `_hit_chance`).
    """
    try:
        parsed = _sre_parser.parse(pattern, re.IGNORECASE if ignorecase else 0)
    except (re.error, RecursionError, OverflowError):
        return None
    return _sequence_literals(parsed, bool(parsed.state.flags & re.IGNORECASE))


def _regex_value_literals(value: SigmaRegularExpression) -> _Literals | None:
    if value.regexp.contains_placeholder():
        return None
    ignorecase = SigmaRegularExpressionFlag.IGNORECASE in value.flags
    return regex_literals(str(value.regexp), ignorecase)


def _keyword_literals(value: object) -> _Literals | None:
    """Literals one of which the text a keyword (an unfielded value) matches holds, when
    lower-cased; None when none are known. The keyword is searched as a regular
    expression, under IGNORECASE unless `cased` (`keyword_predicate`)."""
    if isinstance(value, SigmaExpansion):
        return union_of_each(value.values, _keyword_literals)
    if isinstance(value, SigmaRegularExpression):
        return _regex_value_literals(value)
    if isinstance(value, SigmaNumber) and not isinstance(value, SigmaTimestampPart):
        value = SigmaString(str(value.number))
    if not isinstance(value, SigmaString) or value.contains_placeholder():
        return None
    ignorecase = not isinstance(value, SigmaCasedString)
    return regex_literals(keyword_pattern(value), ignorecase)


def _literal_chance(literals: _Literals) -> float:
    return sum(_KIND_CHANCE["contains"] / (len(text) * math.sqrt(len(text))) for text in literals)


def _sequence_literals(items: Any, ignorecase: bool) -> _Literals | None:
    """The best literal set of a sequence of parsed items (all of them must match)."""
    candidates: list[_Literals] = []
    run: list[str] = []

    def close_run() -> None:
        if len(run) >= REGEX_LITERAL_MIN or not RARE_LITERAL_CHARACTERS.isdisjoint(run):
            candidates.append(frozenset({"".join(run).lower()}))
        run.clear()

    for op, argument in items:
        if op is _sre.LITERAL:
            char = chr(argument)
            if char.isascii() and not (ignorecase and char in _UNSAFE_IGNORECASE):
                run.append(char)
                continue
            close_run()
            continue
        close_run()
        found: _Literals | None = None
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, inner = argument
            inner_case = (ignorecase or bool(add_flags & re.IGNORECASE)) and not (
                del_flags & re.IGNORECASE
            )
            found = _sequence_literals(inner, inner_case)
        elif op is _sre.BRANCH:
            union: set[str] = set()
            for alternative in argument[1]:
                part = _sequence_literals(alternative, ignorecase)
                if part is None:
                    union.clear()
                    break
                union |= part
            found = frozenset(union) if union else None
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _POSSESSIVE_REPEAT) and argument[0] >= 1:
            found = _sequence_literals(argument[2], ignorecase)
        elif op is _ATOMIC_GROUP:
            found = _sequence_literals(argument, ignorecase)
        if found:
            candidates.append(found)
    close_run()
    if not candidates:
        return None
    return min(candidates, key=lambda literals: (_literal_chance(literals), sorted(literals)))


_POSSESSIVE_REPEAT = getattr(_sre, "POSSESSIVE_REPEAT", None)
_ATOMIC_GROUP = getattr(_sre, "ATOMIC_GROUP", None)


def _weight(anchors: Collection[Anchor]) -> tuple[float, int]:
    # The clause an event holds least often selects the fewest candidates.
    return round(sum(map(_hit_chance, anchors)), 9), len(anchors)


def anchor_clauses(tree: ConditionTree | None) -> tuple[frozenset[Anchor], ...]:
    """Sets of literals of which the condition needs one each, cheapest first; () when
    none are known.

    A test on one field gives one set, its value's anchors (a keyword: its literals on
    each of `KEYWORD_FIELDS`, the fields it is searched in); an OR one set, the union of
    one set of each part (all must have some); an AND the sets of all its parts, of
    which at most `CLAUSE_LIMIT` (the cheapest) are kept; anything else none.
    """
    if tree is None:
        return ()
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        anchors = _value_anchors(tree.field, tree.value)
        return (frozenset(anchors),) if anchors else ()
    if isinstance(tree, ConditionValueExpression):  # a keyword: in any of its fields
        literals = _keyword_literals(tree.value)
        if not literals:
            return ()
        return (
            frozenset(
                Anchor(field, "contains", text) for field in KEYWORD_FIELDS for text in literals
            ),
        )
    if isinstance(tree, ConditionOR):
        union: set[Anchor] = set()
        for arg in tree.args:
            part = anchor_clauses(arg) if arg is not None else ()
            if not part:
                return ()
            union |= part[0]
        return (frozenset(union),)
    if isinstance(tree, ConditionAND):
        clauses = {clause for arg in tree.args if arg is not None for clause in anchor_clauses(arg)}
        return tuple(sorted(clauses, key=lambda clause: (_weight(clause), sorted(clause))))[
            :CLAUSE_LIMIT
        ]
    return ()


def rule_anchors(tree: ConditionTree | None) -> frozenset[Anchor] | None:
    """Literals of which the condition needs one (the cheapest such set), or None when
    none are known (see `anchor_clauses`)."""
    clauses = anchor_clauses(tree)
    return clauses[0] if clauses else None


class _FieldTables:
    """The anchors of one field, each mapping to numbers (of rules or of clauses): equal
    values in a dict, the others in one automaton (None when there are none)."""

    __slots__ = ("automaton", "equals")

    def __init__(self, anchors: Iterable[tuple[Anchor, int]]) -> None:
        equals: dict[str, set[int]] = {}
        # text -> numbers anchored on it anywhere, at the start, at the end
        scanned: dict[str, tuple[set[int], set[int], set[int]]] = {}
        for anchor, number in anchors:
            if anchor.kind == "equals":
                equals.setdefault(anchor.text, set()).add(number)
                continue
            slots = scanned.setdefault(anchor.text, (set(), set(), set()))
            slot = {"contains": 0, "startswith": 1, "endswith": 2}[anchor.kind]
            slots[slot].add(number)
        self.equals = {text: frozenset(found) for text, found in equals.items()}
        self.automaton: Any = None
        if scanned:
            self.automaton = ahocorasick.Automaton()
            for text, (anywhere, start, end) in scanned.items():
                self.automaton.add_word(
                    text, (len(text), frozenset(anywhere), frozenset(start), frozenset(end))
                )
            self.automaton.make_automaton()


class Prefilter:
    """The rules of one route an event must be tested against, by their anchors.

    A rule is selected when the event holds an anchor of each of its clauses (see
    `anchor_clauses`), or when it has none. The field tables map anchors to numbers: a
    rule's first clause (the one met least often) by the rule's position, its other
    clauses by negative numbers. So a hit on a first clause selects its rule outright
    and only those few rules are checked for their other clauses.
    """

    __slots__ = (
        "_always",
        "_anchors",
        "_extra_numbers",
        "_extras",
        "_fields",
        "_native",
        "_with_extras",
    )

    def __init__(
        self, positions: Sequence[int], clauses: Mapping[int, Sequence[frozenset[Anchor]]]
    ) -> None:
        always: list[int] = []
        by_field: dict[str, list[tuple[Anchor, int]]] = {}
        extras: dict[int, frozenset[int]] = {}
        count = 0
        for position in positions:
            found = clauses.get(position, ())
            if not found:
                always.append(position)
                continue
            numbers: list[int] = []
            for rank, clause in enumerate(found):
                if rank == 0:
                    number = position
                else:
                    count += 1
                    number = -count
                    numbers.append(number)
                for anchor in clause:
                    by_field.setdefault(anchor.field, []).append((anchor, number))
            if numbers:
                extras[position] = frozenset(numbers)
        self._always = frozenset(always)
        self._extras = extras
        self._with_extras = frozenset(extras)
        self._extra_numbers = frozenset(range(-count, 0))
        self._anchors = sorted(by_field.items())
        # The Python scan's tables, built on its first use: with the native scan, never.
        self._fields: tuple[tuple[str, Mapping[str, frozenset[int]], Any], ...] | None = None
        self._native = _native_tables(self._anchors, always, extras)

    @property
    def native_tables(self) -> "LiteralTables | None":
        """The native scan's tables (None without the native module), for the native
        evaluator's `select_matching`."""
        return self._native

    def select(self, view: EventView) -> list[int]:
        """Positions (ascending) of the rules that may match this event."""
        if self._native is not None and view.fields.__class__ is dict:
            return self._native.select(view, view.fields, view.has_user_data())
        return self.select_in_python(view)

    def select_in_python(self, view: EventView) -> list[int]:
        """`select` by the Python scan (the reference of the native one)."""
        if self._fields is None:
            tables = ((field, _FieldTables(numbered)) for field, numbered in self._anchors)
            self._fields = tuple((field, table.equals, table.automaton) for field, table in tables)
        hits: set[int] = set()
        fields = view.fields
        # A missing field has no texts, unless UserData stands in for it (EventView).
        stand_ins = view.has_user_data()
        for field, equals, automaton in self._fields:
            if field not in fields and not stand_ins:
                continue
            for text in view[field]:
                found = equals.get(text)
                if found:
                    hits |= found
                if automaton is None:
                    continue
                last = len(text) - 1
                for end, (length, anywhere, start, ending) in automaton.iter(text):
                    if anywhere:
                        hits |= anywhere
                    if start and end + 1 == length:
                        hits |= start
                    if ending and end == last:
                        hits |= ending
        gated = hits - self._extra_numbers
        selected = gated | self._always
        extras = self._extras
        for position in gated & self._with_extras:
            if not extras[position] <= hits:
                selected.discard(position)
        return sorted(selected)


def _native_tables(
    anchors: Sequence[tuple[str, Sequence[tuple[Anchor, int]]]],
    always: Sequence[int],
    extras: Mapping[int, frozenset[int]],
) -> "LiteralTables | None":
    """The native scanner's tables of the same anchors, or None without it."""
    if _native is None:
        return None
    specs = [
        (field, [(anchor.kind, anchor.text, number) for anchor, number in numbered])
        for field, numbered in anchors
    ]
    further = [(position, list(numbers)) for position, numbers in extras.items()]
    try:
        tables: LiteralTables = _native.LiteralTables(specs, list(always), further)
    except ValueError as exc:  # past the crate's size limits; an anchor without UTF-8 form
        _LOG.warning("native literal scan unavailable for a route (%s); using Python's", exc)
        return None
    return tables
