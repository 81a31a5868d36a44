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
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import ahocorasick  # type: ignore[import-not-found]  # a C extension without stubs
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.types import SigmaExpansion, SigmaString

from canhgac.correlator._event_view import EventView
from canhgac.correlator._matchers import StringShape, longest_literal, string_shape
from canhgac.correlator._routing import ConditionTree

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
        if not isinstance(item, SigmaString):
            return None
        shape = string_shape(item)
        if shape is None:  # another wildcard pattern: its longest plain run is a substring
            shape = StringShape("contains", longest_literal(item))
        if shape.kind == "any" or not shape.text:
            return None
        found.add(Anchor(field, shape.kind, shape.text.lower()))
    return found


def _weight(anchors: Collection[Anchor]) -> tuple[int, int]:
    # Fewer substring anchors first (they cost a scan), then fewer anchors.
    return sum(1 for anchor in anchors if anchor.kind == "contains"), len(anchors)


def anchor_clauses(tree: ConditionTree | None) -> tuple[frozenset[Anchor], ...]:
    """Sets of literals of which the condition needs one each, cheapest first; () when
    none are known.

    A test on one field gives one set, its value's anchors; an OR one set, the union of
    one set of each part (all must have some); an AND the sets of all its parts, of
    which at most `CLAUSE_LIMIT` (the cheapest) are kept; anything else none.
    """
    if tree is None:
        return ()
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        anchors = _value_anchors(tree.field, tree.value)
        return (frozenset(anchors),) if anchors else ()
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
    values in a dict, the others in one automaton."""

    __slots__ = ("_automaton", "_equals", "_scanned")

    def __init__(self, anchors: Iterable[tuple[Anchor, int]]) -> None:
        self._equals: dict[str, frozenset[int]] = {}
        equals: dict[str, set[int]] = {}
        # text -> positions anchored on it anywhere, at the start, at the end
        scanned: dict[str, tuple[set[int], set[int], set[int]]] = {}
        for anchor, position in anchors:
            if anchor.kind == "equals":
                equals.setdefault(anchor.text, set()).add(position)
                continue
            slots = scanned.setdefault(anchor.text, (set(), set(), set()))
            slot = {"contains": 0, "startswith": 1, "endswith": 2}[anchor.kind]
            slots[slot].add(position)
        self._equals = {text: frozenset(found) for text, found in equals.items()}
        self._scanned = bool(scanned)
        self._automaton = ahocorasick.Automaton()
        for text, (anywhere, start, end) in scanned.items():
            self._automaton.add_word(
                text, (len(text), frozenset(anywhere), frozenset(start), frozenset(end))
            )
        if self._scanned:
            self._automaton.make_automaton()

    def hits(self, text: str, out: set[int]) -> None:
        found = self._equals.get(text)
        if found:
            out |= found
        if not self._scanned:
            return
        last = len(text) - 1
        for end, (length, anywhere, start, ending) in self._automaton.iter(text):
            if anywhere:
                out |= anywhere
            if start and end + 1 == length:
                out |= start
            if ending and end == last:
                out |= ending


class Prefilter:
    """The rules of one route an event must be tested against, by their anchors.

    A rule is selected when the event holds an anchor of each of its clauses (see
    `anchor_clauses`), or when it has none. Clauses are numbered across the route; the
    field tables map anchors to clause numbers.
    """

    __slots__ = ("_always", "_fields", "_needed", "_owner")

    def __init__(
        self, positions: Sequence[int], clauses: Mapping[int, Sequence[frozenset[Anchor]]]
    ) -> None:
        always: list[int] = []
        by_field: dict[str, list[tuple[Anchor, int]]] = {}
        owner: list[int] = []
        needed: dict[int, frozenset[int]] = {}
        for position in positions:
            found = clauses.get(position, ())
            if not found:
                always.append(position)
                continue
            numbers: list[int] = []
            for clause in found:
                number = len(owner)
                owner.append(position)
                numbers.append(number)
                for anchor in clause:
                    by_field.setdefault(anchor.field, []).append((anchor, number))
            needed[position] = frozenset(numbers)
        self._always = frozenset(always)
        self._owner = tuple(owner)
        self._needed = needed
        self._fields = tuple(
            (field, _FieldTables(filed)) for field, filed in sorted(by_field.items())
        )

    def select(self, view: EventView) -> list[int]:
        """Positions (ascending) of the rules that may match this event."""
        hits: set[int] = set()
        for field, tables in self._fields:
            for text in view.lowered(field):
                tables.hits(text, hits)
        selected = set(self._always)
        owner = self._owner
        needed = self._needed
        for number in hits:
            position = owner[number]
            if position not in selected and needed[position] <= hits:
                selected.add(position)
        return sorted(selected)
