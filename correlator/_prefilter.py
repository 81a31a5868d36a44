"""Literal prefilter: skip the rules of a route whose required literals an event lacks.

Routing selects the rules of an event's logsource, which for a Sysmon process creation
is over a thousand SigmaHQ rules. Most of them require one of a few literals on a field
(`Image|endswith: '\\whoami.exe'` or `OriginalFileName: whoami.exe`, or
`CommandLine|contains: ' -enc '`): their *anchors*. A rule's anchors are sound, not
exact: whenever the rule matches, the event holds at least one of them (lower-cased,
which a case-sensitive test implies too). So per event the prefilter looks the event's
field values up once in tables built from every rule's anchors, and only the rules with
a hit, plus the rules without anchors, are evaluated:

- equal values: one dict lookup per value;
- prefixes and suffixes: one slice and lookup per distinct anchor length;
- substrings: the value's 4-character grams intersected with the grams the substring
  anchors were filed under (each under its rarest gram), then each hit checked with
  `in`; substrings shorter than 4 characters are each checked with `in`. Values
  longer than `GRAM_SCAN_LIMIT` are not scanned: the rules anchored on that field are
  evaluated instead (a PowerShell script block can be megabytes).
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.types import SigmaExpansion, SigmaString

from canhgac.correlator._event_view import EventView
from canhgac.correlator._matchers import string_shape
from canhgac.correlator._routing import ConditionTree

GRAM = 4
GRAM_SCAN_LIMIT = 4096


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
        if shape is None or shape.kind == "any" or not shape.text:
            return None
        found.add(Anchor(field, shape.kind, shape.text.lower()))
    return found


def _weight(anchors: Collection[Anchor]) -> tuple[int, int]:
    # Fewer substring anchors first (they cost a scan), then fewer anchors.
    return sum(1 for anchor in anchors if anchor.kind == "contains"), len(anchors)


def rule_anchors(tree: ConditionTree | None) -> frozenset[Anchor] | None:
    """Literals of which the condition needs one, or None when none are known.

    A test on one field gives its value's anchors; an OR the union of its parts' (all
    must have some); an AND the cheapest set among its parts'; anything else none.
    """
    if tree is None:
        return None
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        anchors = _value_anchors(tree.field, tree.value)
        return frozenset(anchors) if anchors else None
    if isinstance(tree, ConditionOR):
        union: set[Anchor] = set()
        for arg in tree.args:
            part = rule_anchors(arg) if arg is not None else None
            if part is None:
                return None
            union |= part
        return frozenset(union)
    if isinstance(tree, ConditionAND):
        parts = [part for arg in tree.args if arg is not None and (part := rule_anchors(arg))]
        return min(parts, key=_weight) if parts else None
    return None


class _FieldTables:
    """The anchors of one field, by kind, each mapping to rule positions."""

    __slots__ = ("contains", "equals", "prefixes", "short_needles", "suffixes")

    def __init__(self, anchors: Iterable[tuple[Anchor, int]]) -> None:
        self.equals: dict[str, list[int]] = {}
        self.prefixes: dict[int, dict[str, list[int]]] = {}
        self.suffixes: dict[int, dict[str, list[int]]] = {}
        self.short_needles: dict[str, list[int]] = {}
        needles: dict[str, list[int]] = {}
        for anchor, position in anchors:
            text = anchor.text
            if anchor.kind == "equals":
                self.equals.setdefault(text, []).append(position)
            elif anchor.kind == "startswith":
                self.prefixes.setdefault(len(text), {}).setdefault(text, []).append(position)
            elif anchor.kind == "endswith":
                self.suffixes.setdefault(len(text), {}).setdefault(text, []).append(position)
            elif len(text) < GRAM:
                self.short_needles.setdefault(text, []).append(position)
            else:
                needles.setdefault(text, []).append(position)
        # Each substring under its rarest gram, so that few share a bucket (".exe" is in
        # hundreds of them).
        counts: dict[str, int] = {}
        for needle in needles:
            for gram in _grams(needle):
                counts[gram] = counts.get(gram, 0) + 1
        self.contains: dict[str, list[tuple[str, list[int]]]] = {}
        for needle, positions in needles.items():
            rarest = min(_grams(needle), key=lambda gram: (counts[gram], gram))
            self.contains.setdefault(rarest, []).append((needle, positions))

    def hits(self, text: str, out: set[int]) -> None:
        found = self.equals.get(text)
        if found:
            out.update(found)
        size = len(text)
        for length, table in self.prefixes.items():
            if length <= size:
                found = table.get(text[:length])
                if found:
                    out.update(found)
        for length, table in self.suffixes.items():
            if length <= size:
                found = table.get(text[size - length :])
                if found:
                    out.update(found)
        for needle, positions in self.short_needles.items():
            if needle in text:
                out.update(positions)
        if self.contains and size >= GRAM:
            for gram in _grams(text).intersection(self.contains):
                for needle, positions in self.contains[gram]:
                    if needle in text:
                        out.update(positions)

    def positions(self) -> Iterable[int]:
        for by_length in (self.prefixes, self.suffixes):
            yield from (
                p for table in by_length.values() for found in table.values() for p in found
            )
        for table in (self.equals, self.short_needles):
            yield from (p for found in table.values() for p in found)
        yield from (p for filed in self.contains.values() for _, found in filed for p in found)


def _grams(text: str) -> set[str]:
    return {text[i : i + GRAM] for i in range(len(text) - GRAM + 1)}


class Prefilter:
    """The rules of one route an event must be tested against, by their anchors."""

    __slots__ = ("_always", "_fields", "_unscannable")

    def __init__(
        self, positions: Sequence[int], anchors: Mapping[int, frozenset[Anchor] | None]
    ) -> None:
        always: list[int] = []
        by_field: dict[str, list[tuple[Anchor, int]]] = {}
        for position in positions:
            found = anchors.get(position)
            if not found:
                always.append(position)
                continue
            for anchor in found:
                by_field.setdefault(anchor.field, []).append((anchor, position))
        self._always = frozenset(always)
        self._fields = tuple(
            (field, _FieldTables(filed)) for field, filed in sorted(by_field.items())
        )
        # Rules to keep when a field's value is too long to scan for substrings.
        self._unscannable = {field: frozenset(tables.positions()) for field, tables in self._fields}

    def select(self, view: EventView) -> list[int]:
        """Positions (ascending) of the rules that may match this event."""
        hits: set[int] = set(self._always)
        for field, tables in self._fields:
            for text in view.lowered(field):
                if tables.contains and len(text) > GRAM_SCAN_LIMIT:
                    hits |= self._unscannable[field]
                else:
                    tables.hits(text, hits)
        return sorted(hits)
