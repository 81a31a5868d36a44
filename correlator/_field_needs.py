"""Which fields a rule reads, and whether it can fire on events that lack some of them.

Rule health reports the fields a rule needs that the events routed to it never carry.
A field is needed in the sense of the rule's condition: `Image|endswith: x` needs
`Image`, while `Image: null` or `Image|exists: false` holds exactly when it is absent,
and a field that only appears under a `not` cannot keep the rule from firing. So the
condition is kept as a small tree of field presences and evaluated in three values
(false, unknown, true) over the set of fields seen: "false" means the rule cannot fire
on any event made of those fields.
"""

from collections.abc import Collection
from dataclasses import dataclass
from enum import IntEnum

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import SigmaExists, SigmaFieldReference, SigmaNull

from canhgac.correlator._matchers import KEYWORD_FIELDS
from canhgac.correlator._routing import ConditionTree


class Truth(IntEnum):
    """A three-valued truth: what is known about a condition from field presence alone."""

    FALSE = 0
    UNKNOWN = 1
    TRUE = 2


@dataclass(frozen=True, slots=True)
class FieldPresence:
    """A test that needs `field` present (`present`) or that holds only when it is absent."""

    field: str
    present: bool = True

    def truth(self, seen: Collection[str]) -> Truth:
        if self.field in seen:
            return Truth.UNKNOWN
        return Truth.FALSE if self.present else Truth.TRUE


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple["FieldNeeds", ...]

    def truth(self, seen: Collection[str]) -> Truth:
        return min((part.truth(seen) for part in self.parts), default=Truth.TRUE)


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple["FieldNeeds", ...]

    def truth(self, seen: Collection[str]) -> Truth:
        return max((part.truth(seen) for part in self.parts), default=Truth.FALSE)


@dataclass(frozen=True, slots=True)
class NoneOf:
    part: "FieldNeeds"

    def truth(self, seen: Collection[str]) -> Truth:
        return Truth(2 - self.part.truth(seen))


@dataclass(frozen=True, slots=True)
class Unconditional:
    """A condition part that does not depend on any field (nothing left after routing)."""

    def truth(self, seen: Collection[str]) -> Truth:
        return Truth.UNKNOWN


FieldNeeds = FieldPresence | AllOf | AnyOf | NoneOf | Unconditional


def field_needs(tree: ConditionTree | None) -> FieldNeeds:
    """The presence tree of a condition (pySigma's postprocessed tree)."""
    if tree is None:
        return Unconditional()
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        value = tree.value
        if isinstance(value, SigmaNull):
            return FieldPresence(tree.field, present=False)
        if isinstance(value, SigmaExists):
            return FieldPresence(tree.field, present=value.exists)
        if isinstance(value, SigmaFieldReference):
            return AllOf((FieldPresence(tree.field), FieldPresence(value.field)))
        return FieldPresence(tree.field)
    if isinstance(tree, ConditionValueExpression):
        return AnyOf(tuple(FieldPresence(name) for name in KEYWORD_FIELDS))
    parts = tuple(field_needs(arg) for arg in tree.args if arg is not None)
    if isinstance(tree, ConditionAND):
        return AllOf(parts)
    if isinstance(tree, ConditionOR):
        return AnyOf(parts)
    if isinstance(tree, ConditionNOT):
        return NoneOf(parts[0])
    return Unconditional()


def _alternative_fields(tree: ConditionTree) -> set[str] | None:
    """The fields of a test on one field, or of an OR of such tests (alternatives)."""
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        value = tree.value
        if isinstance(value, SigmaFieldReference):
            return None
        if isinstance(value, SigmaNull) or (isinstance(value, SigmaExists) and not value.exists):
            return set()
        return {tree.field}
    if isinstance(tree, ConditionOR):
        fields: set[str] = set()
        for arg in tree.args:
            found = _alternative_fields(arg) if arg is not None else set()
            if found is None:
                return None
            fields |= found
        return fields
    return None


def _collect_groups(tree: ConditionTree, groups: set[tuple[str, ...]]) -> None:
    alternatives = _alternative_fields(tree)
    if alternatives is not None:
        if alternatives:
            groups.add(tuple(sorted(alternatives)))
    elif isinstance(tree, ConditionValueExpression):
        groups.add(KEYWORD_FIELDS)
    elif isinstance(tree, ConditionFieldEqualsValueExpression):
        reference = tree.value
        groups.add((tree.field,))
        if isinstance(reference, SigmaFieldReference):
            groups.add((reference.field,))
    else:
        for arg in tree.args:
            if arg is not None:
                _collect_groups(arg, groups)


def field_groups(tree: ConditionTree | None) -> tuple[tuple[str, ...], ...]:
    """The fields the condition reads, as groups of alternatives, sorted.

    The fields of an OR of single-field tests form one group: a logsource pipeline may
    map one Sigma name to several event fields (an event carries one of them), and a
    rule may accept a value in one field or another. Tests that hold on an absent
    field (null, exists: false) are left out: their field being absent is no sign of a
    problem.
    """
    if tree is None:
        return ()
    groups: set[tuple[str, ...]] = set()
    _collect_groups(tree, groups)
    return tuple(sorted(groups))
