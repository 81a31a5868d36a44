"""Sigma correlation rules evaluated as a stream, over event time.

Supported: `event_count`, `temporal` and `temporal_ordered`, with `group-by`, `aliases`
and `timespan`, over detection rules and over other correlations.

Streaming semantics (what an analyst sees):

- Each correlation keeps, per group (the values of its group-by fields), a window of the
  matches of its referenced rules within `timespan` of the newest one, by event time.
  An event that lacks a group-by field is not counted (like a terms aggregation). A
  multi-valued group-by field counts the event in the group of each value.
- The condition is tested when a match arrives. When it holds, one alert is raised;
  its evidence is the window's event ids (the latest 100), and the group's window is
  then emptied. So a burst of 50 failures against `gte: 5` raises 10 alerts, each on 5
  failures no other alert holds; the incident grouping folds them into one incident.
- `eq: N` fires when the N-th match arrives (the window is emptied, so an (N+1)-th
  cannot undo it). `lt`, `lte` and `neq` could only be decided when a window closes,
  which this engine does not do yet: such rules are reported as unsupported.
- `temporal`: the condition counts the distinct referenced rules in the window (by
  default all of them). `temporal_ordered`: all referenced rules, in the listed order
  (equal times count in arrival order).
- A match arriving later than `timespan` behind the newest match of its group is too
  late to count. Groups idle for longer than `timespan` (measured by the newest event
  time seen anywhere) are forgotten, so one event dated far in the future makes the
  open windows be forgotten early.

A correlation's match feeds the correlations that reference it with its group-by
values as fields. `generate: false` (the default) keeps referenced detection rules
from raising alerts of their own; a referenced correlation still raises its alerts,
since a correlation is a finding in itself (a brute force is worth an alert whether or
not a login follows).

The open windows live in `CorrelationWindows`, plain data that `snapshot()` turns into
JSON-compatible lists and `from_snapshot()` restores.
"""

import itertools
import operator
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.rule import SigmaRuleBase

from canhgac.correlator._errors import RuleCompileError
from canhgac.correlator._event_view import field_values, scalar_text
from canhgac.correlator._rule_info import RuleInfo, rule_id_of, rule_info
from canhgac.events import FieldValue

EVIDENCE_LIMIT = 100
"""At most this many event ids (the latest) are kept as a correlation alert's evidence."""

SWEEP_INTERVAL = timedelta(minutes=1)
"""How much event time passes between two sweeps for idle groups."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Event time as integer microseconds since the epoch (exact, unlike float seconds)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The inverse of `to_micros`, in UTC."""
    return _EPOCH + timedelta(microseconds=micros)


class CorrelationKind(StrEnum):
    """The Sigma correlation types this engine evaluates."""

    EVENT_COUNT = "event_count"
    TEMPORAL = "temporal"
    TEMPORAL_ORDERED = "temporal_ordered"


class CountOperator(StrEnum):
    """Condition operators that can be decided when a match arrives."""

    GT = "gt"
    GTE = "gte"
    EQ = "eq"


_OPERATOR_TESTS = {
    CountOperator.GT: operator.gt,
    CountOperator.GTE: operator.ge,
    CountOperator.EQ: operator.eq,
}


@dataclass(frozen=True, slots=True)
class CountCondition:
    """`count <operator> threshold`, e.g. gte 10."""

    operator: CountOperator
    threshold: int

    def holds(self, count: int) -> bool:
        return bool(_OPERATOR_TESTS[self.operator](count, self.threshold))


@dataclass(frozen=True, slots=True)
class CompiledCorrelation:
    """A correlation rule ready to observe the matches of the rules it references.

    `sources` are the rule ids of the referenced rules (each once, in listed order);
    `sequence` the positions in `sources` in the order `temporal_ordered` requires;
    `group_fields[i]` the field names holding each group-by value in a match of
    `sources[i]` (aliases resolved).
    """

    info: RuleInfo
    kind: CorrelationKind
    sources: tuple[str, ...]
    sequence: tuple[int, ...]
    group_by: tuple[str, ...]
    group_fields: tuple[tuple[str, ...], ...]
    timespan: timedelta
    condition: CountCondition
    generate: bool

    @property
    def timespan_micros(self) -> int:
        return self.timespan // _MICROSECOND


_KINDS = {
    SigmaCorrelationType.EVENT_COUNT: CorrelationKind.EVENT_COUNT,
    SigmaCorrelationType.TEMPORAL: CorrelationKind.TEMPORAL,
    SigmaCorrelationType.TEMPORAL_ORDERED: CorrelationKind.TEMPORAL_ORDERED,
}

_OPERATORS = {
    SigmaCorrelationConditionOperator.GT: CountOperator.GT,
    SigmaCorrelationConditionOperator.GTE: CountOperator.GTE,
    SigmaCorrelationConditionOperator.EQ: CountOperator.EQ,
}


def _count_condition(rule: SigmaCorrelationRule) -> CountCondition:
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition):
        raise RuleCompileError("unsupported: extended (boolean) correlation conditions")
    count_operator = _OPERATORS.get(condition.op)
    if count_operator is None:
        raise RuleCompileError(
            f"unsupported: condition {condition.op.name.lower()} fires only on window close; "
            "not yet supported"
        )
    return CountCondition(count_operator, condition.count)


def compile_correlation(rule: SigmaCorrelationRule) -> CompiledCorrelation:
    """Compile a correlation whose rule references pySigma has resolved.

    Raises RuleCompileError for correlation types and conditions not evaluated here.
    """
    kind = _KINDS.get(rule.type)
    if kind is None:
        raise RuleCompileError(f"unsupported: correlation type {rule.type}")
    if not rule.referenced_rules:
        raise RuleCompileError("the correlation references no rules")
    condition = _count_condition(rule)
    referenced = [reference.rule for reference in rule.referenced_rules]
    unique: dict[str, SigmaRuleBase] = {}
    for item in referenced:
        unique.setdefault(rule_id_of(item), item)
    sources = tuple(unique)
    sequence = tuple(sources.index(rule_id_of(item)) for item in referenced)
    if kind is CorrelationKind.TEMPORAL and condition.threshold > len(sources):
        raise RuleCompileError(
            f"the condition needs {condition.threshold} different rules "
            f"but the correlation references {len(sources)}"
        )
    if kind is CorrelationKind.TEMPORAL_ORDERED and condition != CountCondition(
        CountOperator.GTE, len(sequence)
    ):
        raise RuleCompileError(
            "unsupported: temporal_ordered with a condition other than all referenced rules"
        )
    group_by = tuple(rule.group_by or ())
    aliases = {alias.alias: alias.mapping for alias in rule.aliases}
    group_fields: list[tuple[str, ...]] = []
    for source in unique.values():
        labels = {str(source.id), source.name}
        fields: list[str] = []
        for name in group_by:
            mapping = aliases.get(name, {})
            aliased = [field for ref, field in mapping.items() if ref.reference in labels]
            fields.append(aliased[0] if aliased else name)
        group_fields.append(tuple(fields))
    return CompiledCorrelation(
        info=rule_info(rule),
        kind=kind,
        sources=sources,
        sequence=sequence,
        group_by=group_by,
        group_fields=tuple(group_fields),
        timespan=timedelta(seconds=rule.timespan.seconds),
        condition=condition,
        generate=rule.generate,
    )


@dataclass(frozen=True, slots=True)
class Signal:
    """A match of a rule as the correlations referencing it see it.

    For a detection rule, `fields` are the event's; for a correlation, its group-by
    values. `time` is event time in microseconds (see `to_micros`).
    """

    rule_id: str
    time: int
    fields: Mapping[str, FieldValue]
    event_ids: tuple[str, ...]
    system: str | None
    organization: str | None


@dataclass(frozen=True, slots=True)
class CorrelationFiring:
    """A correlation's condition held for one group."""

    correlation: CompiledCorrelation
    group: tuple[tuple[str, str], ...]
    time: int
    event_ids: tuple[str, ...]
    system: str | None
    organization: str | None

    def signal(self) -> Signal:
        """This firing as a match for the correlations that reference this one."""
        return Signal(
            rule_id=self.correlation.info.rule_id,
            time=self.time,
            fields=dict(self.group),
            event_ids=self.event_ids,
            system=self.system,
            organization=self.organization,
        )


class WindowEntry(NamedTuple):
    """One match inside a group's window."""

    time: int
    sequence: int
    source: int
    event_ids: tuple[str, ...]
    system: str | None
    organization: str | None


GroupKey = tuple[str, ...]


def _entry_time(entry: WindowEntry) -> int:
    return entry.time


def group_keys(
    correlation: CompiledCorrelation, source: int, fields: Mapping[str, FieldValue]
) -> list[GroupKey]:
    """The groups a match of `sources[source]` belongs to; none when a field is missing."""
    per_field: list[tuple[str, ...]] = []
    for name in correlation.group_fields[source]:
        texts = [scalar_text(value) for value in field_values(fields.get(name))]
        values = tuple(dict.fromkeys(text for text in texts if text is not None))
        if not values:
            return []
        per_field.append(values)
    return list(itertools.product(*per_field))


def _in_order(window: list[WindowEntry], sequence: tuple[int, ...]) -> bool:
    """Whether the window holds the sources in `sequence` order (greedy subsequence)."""
    position = 0
    for entry in window:
        if entry.source == sequence[position]:
            position += 1
            if position == len(sequence):
                return True
    return False


def _fires(correlation: CompiledCorrelation, window: list[WindowEntry]) -> bool:
    if correlation.kind is CorrelationKind.EVENT_COUNT:
        return correlation.condition.holds(len(window))
    if correlation.kind is CorrelationKind.TEMPORAL:
        return correlation.condition.holds(len({entry.source for entry in window}))
    return _in_order(window, correlation.sequence)


def _evidence(window: list[WindowEntry]) -> tuple[str, ...]:
    ids = dict.fromkeys(eid for entry in window for eid in entry.event_ids)
    return tuple(ids)[-EVIDENCE_LIMIT:]


class CorrelationWindows:
    """The open windows of all correlations: the whole correlation state, as plain data.

    `windows[rule_id][group]` is the group's list of entries, oldest first. `sequence`
    numbers arrivals; `newest` is the newest event time seen (microseconds) and
    `last_sweep` when idle groups were last forgotten.
    """

    def __init__(self) -> None:
        self.windows: dict[str, dict[GroupKey, list[WindowEntry]]] = {}
        self.sequence = 0
        self.newest: int | None = None
        self.last_sweep: int | None = None

    def observe(self, correlation: CompiledCorrelation, signal: Signal) -> list[CorrelationFiring]:
        """Add a match of one of the correlation's rules; return the groups that fire."""
        source = correlation.sources.index(signal.rule_id)
        if self.newest is None or signal.time > self.newest:
            self.newest = signal.time
        groups = self.windows.setdefault(correlation.info.rule_id, {})
        firings: list[CorrelationFiring] = []
        for key in group_keys(correlation, source, signal.fields):
            entry = WindowEntry(
                signal.time,
                self.sequence,
                source,
                signal.event_ids,
                signal.system,
                signal.organization,
            )
            self.sequence += 1
            window = groups.setdefault(key, [])
            insort(window, entry)
            cutoff = window[-1].time - correlation.timespan_micros
            del window[: bisect_left(window, cutoff, key=_entry_time)]
            if entry.time < cutoff:
                continue  # too late: the group has moved on past this match
            if _fires(correlation, window):
                newest = window[-1]
                firings.append(
                    CorrelationFiring(
                        correlation=correlation,
                        group=tuple(zip(correlation.group_by, key, strict=True)),
                        time=newest.time,
                        event_ids=_evidence(window),
                        system=newest.system,
                        organization=newest.organization,
                    )
                )
                del groups[key]
        return firings

    def sweep(self, correlations: Iterable[CompiledCorrelation]) -> None:
        """Forget groups idle for longer than their timespan, at most once per interval."""
        if self.newest is None:
            return
        interval = SWEEP_INTERVAL // _MICROSECOND
        if self.last_sweep is not None and self.newest - self.last_sweep < interval:
            return
        self.last_sweep = self.newest
        for correlation in correlations:
            groups = self.windows.get(correlation.info.rule_id)
            if not groups:
                continue
            cutoff = self.newest - correlation.timespan_micros
            for key in [key for key, window in groups.items() if window[-1].time < cutoff]:
                del groups[key]

    def open_groups(self) -> int:
        """How many groups hold a window, over all correlations."""
        return sum(len(groups) for groups in self.windows.values())

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-compatible data (lists, strings, numbers, None)."""
        return {
            "sequence": self.sequence,
            "newest": self.newest,
            "last_sweep": self.last_sweep,
            "windows": {
                rule_id: [
                    [list(key), [[*entry[:3], list(entry.event_ids), *entry[4:]] for entry in w]]
                    for key, w in groups.items()
                ]
                for rule_id, groups in self.windows.items()
            },
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> "CorrelationWindows":
        """Restore a state saved by `snapshot`, for the same set of correlation rules."""
        state = cls()
        state.sequence = int(data["sequence"])
        state.newest = data["newest"]
        state.last_sweep = data["last_sweep"]
        for rule_id, groups in data["windows"].items():
            state.windows[rule_id] = {
                tuple(key): [
                    WindowEntry(time, sequence, source, tuple(ids), system, organization)
                    for time, sequence, source, ids, system, organization in entries
                ]
                for key, entries in groups
            }
        return state
