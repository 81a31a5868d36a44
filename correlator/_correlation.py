"""Sigma correlation rules evaluated as a stream, over event time.

Every correlation type pySigma 1.5.1 reads is evaluated: `event_count`, `value_count`,
`temporal`, `temporal_ordered`, `value_sum`, `value_avg`, `value_percentile` and
`value_median`, with `group-by`, `aliases`, `timespan`, conditions `gt`, `gte`, `lt`,
`lte`, `eq`, `neq` and ranges (several of them, AND-ed, as the specification allows),
extended boolean conditions of the temporal types, and correlations over correlations.

Firing semantics (the same whether events arrive live or are replayed, in batches of
any size, and across a restart from a snapshot; an `advance` counts as an event that
matches nothing):

- A *match* is an event matching a referenced detection rule, or a firing of a
  referenced correlation. Times are event times. The *watermark* is the newest event
  time the correlator has seen (any event, matched or not) or been given by `advance`.
- Groups: a match belongs to the group of its group-by values (aliases resolved for
  the rule it comes from), compared case-insensitively as Sigma compares strings; an
  alert shows them as the group's first match held them. A match lacking a group-by
  field is not counted: the Sigma specification does not say, and this is what
  pySigma's SQLite backend does (its `missing_group_key` rows are left out) and what an
  Elasticsearch terms aggregation does. A multi-valued group-by field counts the match
  in the group of each value.
- The measured value of a window: `event_count` the matches; `value_count` the distinct
  values (case-insensitive) of the condition's `field` (of each combination, for a list
  of fields); `value_sum`, `value_avg` the sum and mean of its numbers;
  `value_percentile` the `percentile`-th percentile and `value_median` the 50th, by
  linear interpolation between closest ranks (rank (n - 1) * p / 100, as pySigma's SQLite
  backend); `temporal` the distinct referenced rules matched; `temporal_ordered` the
  length of the longest chain of the listed rules matched in the listed order (later
  in time; equal times in arrival order). Numbers are integers, floats and numeric
  strings; each element of a multi-valued field counts. A match without the value
  field (or, for sums, means and percentiles, without a number in it) is not counted.
- An extended condition (`temporal` / `temporal_ordered` with `a and not b`) holds when
  the rules matched in the window satisfy it; for `temporal_ordered`, the rules of the
  satisfied `and` term must have matched in the listed order. A condition that can hold
  when none of its rules matched (`not a`) is unsupported: it needs events that no
  referenced rule matches.

Two firing modes, chosen per rule:

1. On match: a condition with only lower bounds (`gt`, `gte`) or an extended condition
   without `not`. Sliding window: when a match arrives, its group's window is the
   matches within `timespan` before the group's newest match (inclusive: a match
   exactly `timespan` older still counts), and the condition is tested. When it holds,
   one alert is raised and the group's window is emptied, so the next alert rests on
   matches no earlier alert holds (a burst of 50 failures against `gte: 5` raises 10
   alerts; incident grouping folds them). A match more than `timespan` older than its
   group's newest match is too late and is not counted. Groups whose newest match is
   more than `timespan` behind the watermark are forgotten (checked once per
   `SWEEP_INTERVAL` of watermark progress); only out-of-order matches can notice.
2. On close: a condition with an upper bound (`lt`, `lte`, `eq`, `neq`, a range with
   one of them) or an extended condition with `not`. Tumbling window per group: the
   group's first match opens a window [t, t + timespan] (an earlier match arriving
   while it is open moves both ends back); matches inside it count; the window closes
   when the watermark passes its end, and then, if the condition holds, one alert is
   raised. The group then starts afresh with its next match. A match whose window
   would already have closed (older than watermark - timespan) is too late and is not
   counted. A window exists only once a match opened it: `lt: 5` means 1 to 4 matches;
   the absence of every match cannot be seen.

An alert's evidence is the event ids of its window's matches (the latest
EVIDENCE_LIMIT); its time is the time of the newest match, and its system and
organization those of the newest match. A correlation's firing is a match, with its
group-by values as fields and the time of its newest match, for the correlations that
reference it; those see a firing on close when the window closes.

`generate: false` (the default) keeps referenced detection rules from raising alerts
of their own; a referenced correlation still raises its alerts, since a correlation is
a finding in itself (a brute force is worth an alert whether or not a login follows).

One clock for all sources has a cost: an event dated in the future (a source with a
wrong clock or time zone) moves the watermark, so that windows closing on it close
early and idle groups are forgotten early.

The open windows live in `CorrelationWindows`; `snapshot()` turns them into JSON data
(versioned: STATE_VERSION) and `from_snapshot()` restores them, so that a restart
continues every open window where it was.
"""

import hashlib
import heapq
import itertools
import json
import logging
import math
import operator
import re
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple, Protocol

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionItem,
    CorrelationConditionNOT,
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)
from sigma.rule import SigmaRuleBase

from canhgac.correlator._errors import RuleCompileError, RuleError
from canhgac.correlator._event_view import field_values, scalar_text
from canhgac.correlator._rule_info import RuleInfo, rule_id_of, rule_info
from canhgac.events import FieldValue, Scalar

log = logging.getLogger(__name__)

EVIDENCE_LIMIT = 100
"""At most this many event ids (the latest) are kept as a correlation alert's evidence."""

SWEEP_INTERVAL = timedelta(minutes=1)
"""How much the watermark moves between two sweeps for idle groups."""

STATE_VERSION = 2
"""Layout of `CorrelationWindows.snapshot()`; a snapshot of another layout is refused."""

RANGE_ATTRIBUTE = "canhgac-condition-bounds"
"""Where `readable_correlation_document` keeps every bound of a range condition."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_OPERATOR_NAMES = frozenset(op.name.lower() for op in SigmaCorrelationConditionOperator)
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_LONGEST_NUMBER = 64  # longer digit strings are not numbers anyone sums


def to_micros(moment: datetime) -> int:
    """Event time as integer microseconds since the epoch (exact, unlike float seconds)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The inverse of `to_micros`, in UTC."""
    return _EPOCH + timedelta(microseconds=micros)


class CorrelationStateError(RuleError):
    """A saved correlation state cannot be restored (another layout, or damaged)."""


class CorrelationKind(StrEnum):
    """The Sigma correlation types."""

    EVENT_COUNT = "event_count"
    VALUE_COUNT = "value_count"
    TEMPORAL = "temporal"
    TEMPORAL_ORDERED = "temporal_ordered"
    VALUE_SUM = "value_sum"
    VALUE_AVG = "value_avg"
    VALUE_PERCENTILE = "value_percentile"
    VALUE_MEDIAN = "value_median"


_NUMERIC_KINDS = frozenset(
    {
        CorrelationKind.VALUE_SUM,
        CorrelationKind.VALUE_AVG,
        CorrelationKind.VALUE_PERCENTILE,
        CorrelationKind.VALUE_MEDIAN,
    }
)
_TEMPORAL_KINDS = frozenset({CorrelationKind.TEMPORAL, CorrelationKind.TEMPORAL_ORDERED})


class CountOperator(StrEnum):
    """A bound of a correlation condition."""

    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EQ = "eq"
    NEQ = "neq"


_OPERATOR_TESTS: dict[CountOperator, Callable[[Any, Any], bool]] = {
    CountOperator.GT: operator.gt,
    CountOperator.GTE: operator.ge,
    CountOperator.LT: operator.lt,
    CountOperator.LTE: operator.le,
    CountOperator.EQ: operator.eq,
    CountOperator.NEQ: operator.ne,
}

_LOWER_BOUNDS = frozenset({CountOperator.GT, CountOperator.GTE})


class FiringMode(StrEnum):
    """When a correlation's condition is tested (see the module documentation)."""

    ON_MATCH = "on_match"
    ON_CLOSE = "on_close"


Number = int | Fraction


@dataclass(frozen=True, slots=True)
class CountCondition:
    """One bound on a window's measured value, e.g. gte 10; a condition AND-s its bounds."""

    operator: CountOperator
    threshold: int

    def holds(self, value: Number) -> bool:
        return _OPERATOR_TESTS[self.operator](value, self.threshold)


Term = tuple[tuple[int, ...], tuple[int, ...]]
"""An `and` term of an extended condition: the sources that must have matched in the
window and those that must not have (positions in `CompiledCorrelation.sources`)."""


@dataclass(frozen=True, slots=True)
class CompiledCorrelation:
    """A correlation rule ready to observe the matches of the rules it references.

    `sources` are the rule ids of the referenced rules (each once, in listed order);
    `sequence` the positions in `sources` in the listed order (`temporal_ordered`);
    `group_fields[i]` and `value_fields[i]` the fields holding each group-by value and
    the condition's value field(s) in a match of `sources[i]` (aliases resolved).
    `condition` holds the bounds (AND-ed); `terms` the extended condition in
    disjunctive normal form, or None. `fingerprint` changes whenever anything the
    saved windows depend on changes.
    """

    info: RuleInfo
    kind: CorrelationKind
    sources: tuple[str, ...]
    sequence: tuple[int, ...]
    group_by: tuple[str, ...]
    group_fields: tuple[tuple[str, ...], ...]
    value_fields: tuple[tuple[str, ...], ...]
    timespan: timedelta
    condition: tuple[CountCondition, ...]
    terms: tuple[Term, ...] | None
    percentile: int | None
    generate: bool
    mode: FiringMode
    fingerprint: str

    @property
    def timespan_micros(self) -> int:
        return self.timespan // _MICROSECOND


def readable_correlation_document(document: Any) -> Any:
    """A correlation rule's YAML document made readable by pySigma 1.5.1, which refuses
    two things that correlation rules in use write.

    - A range condition (`gt: 100` and `lte: 200`, which the specification allows):
      pySigma takes exactly one bound. The copy keeps the first bound as the condition
      pySigma reads and every bound under RANGE_ATTRIBUTE, where `compile_correlation`
      takes them from.
    - `references` as one string (Hayabusa's correlation rules): pySigma wants a list.

    Any other document is returned unchanged.
    """
    if not isinstance(document, dict):
        return document
    correlation = document.get("correlation")
    if not isinstance(correlation, dict):
        return document
    readable = dict(document)
    if isinstance(readable.get("references"), str):
        readable["references"] = [readable["references"]]
    condition = correlation.get("condition")
    if isinstance(condition, dict):
        bounds = {key: value for key, value in condition.items() if key in _OPERATOR_NAMES}
        if len(bounds) > 1:
            first = next(iter(bounds))
            single = {k: v for k, v in condition.items() if k == first or k not in bounds}
            readable["correlation"] = {
                **correlation,
                "condition": single,
                RANGE_ATTRIBUTE: bounds,
            }
    return readable


def _bounds(
    rule: SigmaCorrelationRule, condition: SigmaCorrelationCondition
) -> list[CountCondition]:
    raw = rule.custom_attributes.get("correlation")
    stored = raw.get(RANGE_ATTRIBUTE) if isinstance(raw, dict) else None
    items = (
        stored.items()
        if isinstance(stored, dict)
        else [(condition.op.name.lower(), condition.count)]
    )
    bounds: list[CountCondition] = []
    for name, value in items:
        try:
            threshold = int(value)
        except (TypeError, ValueError, OverflowError) as err:
            raise RuleCompileError(f"condition {name}: {value!r} is not a whole number") from err
        bounds.append(CountCondition(CountOperator(name), threshold))
    return bounds


def _candidates(
    kind: CorrelationKind, bounds: Sequence[CountCondition], sources: int, sequence: int
) -> list[Number]:
    """Values the measured value can take that decide whether a condition can ever hold."""
    if kind is CorrelationKind.TEMPORAL:
        return list(range(1, sources + 1))
    if kind is CorrelationKind.TEMPORAL_ORDERED:
        return list(range(1, sequence + 1))
    thresholds = [bound.threshold for bound in bounds]
    if kind in (CorrelationKind.EVENT_COUNT, CorrelationKind.VALUE_COUNT):
        return list(range(1, max(thresholds) + 2))
    # A set of reals bounded by whole numbers, if not empty, holds one of these.
    return [Fraction(2 * t + step, 2) for t in thresholds for step in (-2, -1, 0, 1, 2)]


def _terms(
    node: CorrelationConditionItem | SigmaRuleReference, positions: Mapping[str, int], negated: bool
) -> list[tuple[frozenset[int], frozenset[int]]]:
    """The extended condition in disjunctive normal form: (must match, must not) pairs."""
    if isinstance(node, SigmaRuleReference):
        position = positions.get(node.reference)
        if position is None:
            raise RuleCompileError(
                f"the condition names {node.reference!r}, which it does not reference"
            )
        literal = frozenset({position})
        return [(frozenset(), literal) if negated else (literal, frozenset())]
    if isinstance(node, CorrelationConditionNOT):
        return _terms(node.args[0], positions, not negated)
    children = [_terms(arg, positions, negated) for arg in node.args]
    if isinstance(node, CorrelationConditionAND) == negated:  # an OR, after De Morgan
        return [term for child in children for term in child]
    result = [(frozenset[int](), frozenset[int]())]
    for child in children:
        result = [
            (must | more_must, must_not | more_must_not)
            for must, must_not in result
            for more_must, more_must_not in child
            if not (must | more_must) & (must_not | more_must_not)
        ]
    return result


def _field_per_source(
    name: str, aliases: Mapping[str, Mapping[SigmaRuleReference, str]], labels: set[str]
) -> str:
    mapping = aliases.get(name, {})
    aliased = [field for ref, field in mapping.items() if ref.reference in labels]
    return aliased[0] if aliased else name


def _fingerprint(*parts: object) -> str:
    text = json.dumps(parts, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _extended_terms(
    condition: SigmaExtendedCorrelationCondition, positions: Mapping[str, int]
) -> tuple[Term, ...]:
    normal = {
        (tuple(sorted(must)), tuple(sorted(must_not)))
        for must, must_not in _terms(condition.parsed, positions, negated=False)
    }
    if not normal:
        raise RuleCompileError("the condition can never hold (it contradicts itself)")
    if any(not must for must, _ in normal):
        raise RuleCompileError(
            "unsupported: a condition that holds when none of its rules matched "
            "(a term of only `not`): it needs events that no referenced rule matches"
        )
    return tuple(sorted(normal))


def _measure_settings(
    kind: CorrelationKind, condition: SigmaCorrelationCondition
) -> tuple[list[str], int | None]:
    """The condition's value fields and the percentile the kind measures."""
    fieldref = condition.fieldref
    names = [fieldref] if isinstance(fieldref, str) else list(fieldref or ())
    if kind is CorrelationKind.VALUE_COUNT:
        if not names:
            raise RuleCompileError("value_count needs the condition's `field`")
        return names, None
    if kind not in _NUMERIC_KINDS:
        return [], None
    if len(names) != 1:
        raise RuleCompileError(f"{kind} needs exactly one `field` in its condition")
    if kind is CorrelationKind.VALUE_MEDIAN:
        return names, 50
    if kind is CorrelationKind.VALUE_PERCENTILE:
        if condition.percentile is None or not 0 <= condition.percentile <= 100:
            raise RuleCompileError(
                "value_percentile needs `percentile` (0 to 100) in its condition"
            )
        return names, condition.percentile
    return names, None


def _check_can_hold(
    kind: CorrelationKind, bounds: Sequence[CountCondition], sources: int, sequence: int
) -> None:
    candidates = _candidates(kind, bounds, sources, sequence)
    if any(all(bound.holds(value) for bound in bounds) for value in candidates):
        return
    if kind is CorrelationKind.TEMPORAL:
        raise RuleCompileError(
            f"the condition can never hold: the correlation references {sources} rules"
        )
    if kind is CorrelationKind.TEMPORAL_ORDERED:
        raise RuleCompileError(
            f"the condition can never hold: the correlation references {sequence} rules"
        )
    raise RuleCompileError("the condition can never hold")


def compile_correlation(rule: SigmaCorrelationRule) -> CompiledCorrelation:
    """Compile a correlation whose rule references pySigma has resolved.

    Raises RuleCompileError for a condition that can never hold or that the engine
    cannot evaluate (messages of the latter start with "unsupported: ").
    """
    kind = CorrelationKind(rule.type.name.lower())
    references = rule.referenced_rules
    if not references:
        raise RuleCompileError("the correlation references no rules")
    unique: dict[str, SigmaRuleBase] = {}
    for reference in references:
        unique.setdefault(rule_id_of(reference.rule), reference.rule)
    sources = tuple(unique)
    sequence = tuple(sources.index(rule_id_of(reference.rule)) for reference in references)
    bounds: list[CountCondition] = []
    terms: tuple[Term, ...] | None = None
    value_names: list[str] = []
    percentile: int | None = None
    condition = rule.condition
    if isinstance(condition, SigmaExtendedCorrelationCondition):
        positions: dict[str, int] = {}
        for reference, position in zip(references, sequence, strict=True):
            target = reference.rule
            for label in (reference.reference, target.name, target.id and str(target.id)):
                if label:
                    positions.setdefault(label, position)
        terms = _extended_terms(condition, positions)
    else:
        bounds = _bounds(rule, condition)
        value_names, percentile = _measure_settings(kind, condition)
        _check_can_hold(kind, bounds, len(sources), len(sequence))
    group_by = tuple(rule.group_by or ())
    aliases = {alias.alias: alias.mapping for alias in rule.aliases}
    group_fields: list[tuple[str, ...]] = []
    value_fields: list[tuple[str, ...]] = []
    for source in unique.values():
        labels = {label for label in (source.name, source.id and str(source.id)) if label}
        group_fields.append(tuple(_field_per_source(n, aliases, labels) for n in group_by))
        value_fields.append(tuple(_field_per_source(n, aliases, labels) for n in value_names))
    if terms is not None:
        mode = (
            FiringMode.ON_CLOSE if any(must_not for _, must_not in terms) else FiringMode.ON_MATCH
        )
    elif all(bound.operator in _LOWER_BOUNDS for bound in bounds):
        mode = FiringMode.ON_MATCH
    else:
        mode = FiringMode.ON_CLOSE
    timespan = timedelta(seconds=rule.timespan.seconds)
    condition_bounds = tuple(bounds)
    return CompiledCorrelation(
        info=rule_info(rule),
        kind=kind,
        sources=sources,
        sequence=sequence,
        group_by=group_by,
        group_fields=tuple(group_fields),
        value_fields=tuple(value_fields),
        timespan=timespan,
        condition=condition_bounds,
        terms=terms,
        percentile=percentile,
        generate=rule.generate,
        mode=mode,
        fingerprint=_fingerprint(
            kind,
            sources,
            sequence,
            group_fields,
            value_fields,
            timespan // _MICROSECOND,
            [(bound.operator, bound.threshold) for bound in condition_bounds],
            terms,
            percentile,
        ),
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


WindowValue = str | int | float


class WindowEntry(NamedTuple):
    """One match inside a group's window; `values` are what the condition measures."""

    time: int
    sequence: int
    source: int
    event_ids: tuple[str, ...]
    system: str | None
    organization: str | None
    values: tuple[WindowValue, ...]


GroupKey = tuple[str, ...]


def _entry_time(entry: WindowEntry) -> int:
    return entry.time


def _texts(value: FieldValue) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(text for text in map(scalar_text, field_values(value)) if text is not None)
    )


def group_keys(
    correlation: CompiledCorrelation, source: int, fields: Mapping[str, FieldValue]
) -> list[tuple[GroupKey, GroupKey]]:
    """(lower-case key, values as shown) of each group a match of `sources[source]` is in;
    none when a group-by field is missing."""
    per_field: list[tuple[str, ...]] = []
    for name in correlation.group_fields[source]:
        texts = _texts(fields.get(name))
        if not texts:
            return []
        per_field.append(texts)
    groups: dict[GroupKey, GroupKey] = {}
    for shown in itertools.product(*per_field):
        groups.setdefault(tuple(text.lower() for text in shown), shown)
    return list(groups.items())


def numeric_value(value: Scalar) -> int | float | None:
    """The number a value holds: ints, finite floats and numeric strings; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    text = value.strip()
    if len(text) > _LONGEST_NUMBER:
        return None
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else None
    return None


def measured_values(
    correlation: CompiledCorrelation, source: int, fields: Mapping[str, FieldValue]
) -> tuple[WindowValue, ...]:
    """What a match contributes to the condition's value: distinct keys or numbers."""
    names = correlation.value_fields[source]
    if correlation.kind in _NUMERIC_KINDS:
        numbers = (numeric_value(value) for value in field_values(fields.get(names[0])))
        return tuple(number for number in numbers if number is not None)
    per_field: list[tuple[str, ...]] = []
    for name in names:
        texts = tuple(dict.fromkeys(text.lower() for text in _texts(fields.get(name))))
        if not texts:
            return ()
        per_field.append(texts)
    if len(per_field) == 1:
        return per_field[0]
    return tuple("\x1f".join(combination) for combination in itertools.product(*per_field))


def _exact(value: WindowValue) -> Number:
    """A number without rounding: integers stay integers, the rest become fractions."""
    if isinstance(value, int):
        return value
    return Fraction(value)


class _Measure(Protocol):
    """A window's measured value, kept up to date as entries come and go."""

    def add(self, entry: WindowEntry) -> None: ...

    def remove(self, entry: WindowEntry) -> None: ...

    def value(self, entries: Sequence[WindowEntry]) -> Number | None: ...


class _EventCount:
    __slots__ = ()

    def add(self, entry: WindowEntry) -> None:
        pass

    def remove(self, entry: WindowEntry) -> None:
        pass

    def value(self, entries: Sequence[WindowEntry]) -> Number | None:
        return len(entries)


class _DistinctValues:
    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[WindowValue, int] = {}

    def add(self, entry: WindowEntry) -> None:
        for value in entry.values:
            self.counts[value] = self.counts.get(value, 0) + 1

    def remove(self, entry: WindowEntry) -> None:
        for value in entry.values:
            left = self.counts[value] - 1
            if left:
                self.counts[value] = left
            else:
                del self.counts[value]

    def value(self, entries: Sequence[WindowEntry]) -> Number | None:
        return len(self.counts)


class _Sum:
    """Exact (integers and fractions), so that a restored window measures the same."""

    __slots__ = ("count", "total")

    def __init__(self) -> None:
        self.total: Number = 0
        self.count = 0

    def add(self, entry: WindowEntry) -> None:
        for value in entry.values:
            self.total += _exact(value)
        self.count += len(entry.values)

    def remove(self, entry: WindowEntry) -> None:
        for value in entry.values:
            self.total -= _exact(value)
        self.count -= len(entry.values)

    def value(self, entries: Sequence[WindowEntry]) -> Number | None:
        return self.total if self.count else None


class _Average(_Sum):
    __slots__ = ()

    def value(self, entries: Sequence[WindowEntry]) -> Number | None:
        return Fraction(self.total) / self.count if self.count else None


class _Percentile:
    __slots__ = ("percentile", "values")

    def __init__(self, percentile: int) -> None:
        self.percentile = percentile
        self.values: list[Number] = []

    def add(self, entry: WindowEntry) -> None:
        for value in entry.values:
            insort(self.values, _exact(value))

    def remove(self, entry: WindowEntry) -> None:
        for value in entry.values:
            del self.values[bisect_left(self.values, _exact(value))]

    def value(self, entries: Sequence[WindowEntry]) -> Number | None:
        if not self.values:
            return None
        rank = Fraction((len(self.values) - 1) * self.percentile, 100)
        low = math.floor(rank)
        below = self.values[low]
        if rank == low:
            return below
        return below + (self.values[low + 1] - below) * (rank - low)


class _RuleCount:
    __slots__ = ("counts",)

    def __init__(self, sources: int) -> None:
        self.counts = [0] * sources

    def add(self, entry: WindowEntry) -> None:
        self.counts[entry.source] += 1

    def remove(self, entry: WindowEntry) -> None:
        self.counts[entry.source] -= 1

    def value(self, entries: Sequence[WindowEntry]) -> Number | None:
        return sum(1 for count in self.counts if count)


class _OrderedRules:
    """The longest chain of the listed rules matched in order: a longest common
    subsequence of the window's sources and the listed order, O(window * rules)."""

    __slots__ = ("sequence",)

    def __init__(self, sequence: tuple[int, ...]) -> None:
        self.sequence = sequence

    def add(self, entry: WindowEntry) -> None:
        pass

    def remove(self, entry: WindowEntry) -> None:
        pass

    def value(self, entries: Sequence[WindowEntry]) -> Number | None:
        sequence = self.sequence
        lengths = [0] * (len(sequence) + 1)
        for entry in entries:
            previous_diagonal = 0
            for j, source in enumerate(sequence, start=1):
                above = lengths[j]
                if entry.source == source:
                    lengths[j] = previous_diagonal + 1
                elif lengths[j - 1] > above:
                    lengths[j] = lengths[j - 1]
                previous_diagonal = above
        return lengths[-1]


def _new_measure(correlation: CompiledCorrelation) -> _Measure:
    kind = correlation.kind
    if correlation.terms is not None or kind is CorrelationKind.TEMPORAL:
        return _RuleCount(len(correlation.sources))
    if kind is CorrelationKind.TEMPORAL_ORDERED:
        return _OrderedRules(correlation.sequence)
    if kind is CorrelationKind.VALUE_COUNT:
        return _DistinctValues()
    if kind is CorrelationKind.VALUE_SUM:
        return _Sum()
    if kind is CorrelationKind.VALUE_AVG:
        return _Average()
    if correlation.percentile is not None:
        return _Percentile(correlation.percentile)
    return _EventCount()


class GroupWindow:
    """One group's open window: its entries (oldest first), measure and shown values.

    Only the newest EVIDENCE_LIMIT entries keep their event ids, so that a long window
    costs bounded evidence in memory and in snapshots.
    """

    __slots__ = ("entries", "measure", "shown")

    def __init__(self, shown: GroupKey, measure: _Measure) -> None:
        self.shown = shown
        self.measure = measure
        self.entries: list[WindowEntry] = []

    def insert(self, entry: WindowEntry) -> None:
        entries = self.entries
        index = len(entries)
        if entries and entry < entries[-1]:
            index = bisect_left(entries, entry)
        entries.insert(index, entry)
        self.measure.add(entry)
        boundary = len(entries) - 1 - EVIDENCE_LIMIT
        if boundary >= 0:
            for position in {boundary, index}:
                if position <= boundary and entries[position].event_ids:
                    entries[position] = entries[position]._replace(event_ids=())

    def drop_before(self, cutoff: int) -> None:
        """Forget the entries older than `cutoff`."""
        count = bisect_left(self.entries, cutoff, key=_entry_time)
        for entry in self.entries[:count]:
            self.measure.remove(entry)
        del self.entries[:count]


def _chained(entries: Sequence[WindowEntry], order: tuple[int, ...]) -> bool:
    """Whether the sources in `order` matched in that order (greedy subsequence)."""
    position = 0
    for entry in entries:
        if entry.source == order[position]:
            position += 1
            if position == len(order):
                return True
    return False


def _holds(correlation: CompiledCorrelation, window: GroupWindow) -> bool:
    if correlation.terms is not None:
        measure = window.measure
        if isinstance(measure, _RuleCount):
            present = {source for source, count in enumerate(measure.counts) if count}
        else:
            present = {entry.source for entry in window.entries}
        ordered = correlation.kind is CorrelationKind.TEMPORAL_ORDERED
        return any(
            present.issuperset(must)
            and present.isdisjoint(must_not)
            and (not ordered or _chained(window.entries, must))
            for must, must_not in correlation.terms
        )
    value = window.measure.value(window.entries)
    return value is not None and all(bound.holds(value) for bound in correlation.condition)


def _evidence(entries: Sequence[WindowEntry]) -> tuple[str, ...]:
    ids = dict.fromkeys(eid for entry in entries for eid in entry.event_ids)
    return tuple(ids)[-EVIDENCE_LIMIT:]


def _firing(correlation: CompiledCorrelation, window: GroupWindow) -> CorrelationFiring:
    newest = window.entries[-1]
    return CorrelationFiring(
        correlation=correlation,
        group=tuple(zip(correlation.group_by, window.shown, strict=True)),
        time=newest.time,
        event_ids=_evidence(window.entries),
        system=newest.system,
        organization=newest.organization,
    )


class CorrelationWindows:
    """The open windows of all correlations: the whole correlation state.

    `windows[rule_id][group key]` is a group's open window. `sequence` numbers the
    entries in arrival order; `watermark` is the newest event time seen (microseconds);
    `last_sweep` when idle groups were last forgotten. Call `advance` with each event's
    time before `observe` with its matches (the `Correlator` does).
    """

    def __init__(self, correlations: Iterable[CompiledCorrelation] = ()) -> None:
        self.correlations = {correlation.info.rule_id: correlation for correlation in correlations}
        self.windows: dict[str, dict[GroupKey, GroupWindow]] = {}
        self.sequence = 0
        self.watermark: int | None = None
        self.last_sweep: int | None = None
        # (window end, rule id, group key) of windows that fire on close; stale items
        # (a window closed, or its start moved back) are skipped when popped.
        self._closing: list[tuple[int, str, GroupKey]] = []

    def observe(self, correlation: CompiledCorrelation, signal: Signal) -> list[CorrelationFiring]:
        """Add a match of one of the correlation's rules; return the groups that fire."""
        source = correlation.sources.index(signal.rule_id)
        values: tuple[WindowValue, ...] = ()
        if correlation.value_fields[source]:
            values = measured_values(correlation, source, signal.fields)
            if not values:
                return []
        keys = group_keys(correlation, source, signal.fields)
        if not keys:
            return []
        rule_id = correlation.info.rule_id
        groups = self.windows.setdefault(rule_id, {})
        span = correlation.timespan_micros
        firings: list[CorrelationFiring] = []
        for key, shown in keys:
            entry = WindowEntry(
                signal.time,
                self.sequence,
                source,
                signal.event_ids,
                signal.system,
                signal.organization,
                values,
            )
            self.sequence += 1
            window = groups.get(key)
            if correlation.mode is FiringMode.ON_CLOSE:
                if self.watermark is not None and entry.time + span < self.watermark:
                    continue  # too late: its window would have closed already
                if window is None:
                    window = groups[key] = GroupWindow(shown, _new_measure(correlation))
                if not window.entries or entry.time < window.entries[0].time:
                    heapq.heappush(self._closing, (entry.time + span, rule_id, key))
                window.insert(entry)
                continue
            if window is None:
                window = groups[key] = GroupWindow(shown, _new_measure(correlation))
            elif entry.time < window.entries[-1].time - span:
                continue  # too late: the group has moved on past this match
            window.insert(entry)
            window.drop_before(window.entries[-1].time - span)
            if _holds(correlation, window):
                firings.append(_firing(correlation, window))
                del groups[key]
        return firings

    def advance(self, time: int) -> list[CorrelationFiring]:
        """Move the watermark to `time` (if later); close the windows that ended before
        it and return the ones whose condition held. Forgets idle groups."""
        if self.watermark is not None and time <= self.watermark:
            return []
        self.watermark = time
        firings: list[CorrelationFiring] = []
        closing = self._closing
        while closing and closing[0][0] < time:
            end, rule_id, key = heapq.heappop(closing)
            correlation = self.correlations.get(rule_id)
            groups = self.windows.get(rule_id)
            window = groups.get(key) if groups is not None else None
            if correlation is None or groups is None or window is None:
                continue
            if window.entries[0].time + correlation.timespan_micros != end:
                continue  # stale: the window's start moved back, it closes earlier
            del groups[key]
            if _holds(correlation, window):
                firings.append(_firing(correlation, window))
        interval = SWEEP_INTERVAL // _MICROSECOND
        if self.last_sweep is None or time - self.last_sweep >= interval:
            self.last_sweep = time
            self._sweep(time)
        return firings

    def deadline(self) -> int | None:
        """The latest time `advance` can be given with nothing to do but note it (no
        window to close, no sweep due); None when the next call has work anyway."""
        if self.last_sweep is None:
            return None
        deadline = self.last_sweep + SWEEP_INTERVAL // _MICROSECOND - 1
        if self._closing and self._closing[0][0] < deadline:
            return self._closing[0][0]
        return deadline

    def _sweep(self, time: int) -> None:
        for rule_id, groups in self.windows.items():
            correlation = self.correlations.get(rule_id)
            if correlation is None or correlation.mode is not FiringMode.ON_MATCH or not groups:
                continue
            cutoff = time - correlation.timespan_micros
            for key in [key for key, window in groups.items() if window.entries[-1].time < cutoff]:
                del groups[key]

    def open_groups(self) -> int:
        """How many groups hold a window, over all correlations."""
        return sum(len(groups) for groups in self.windows.values())

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-compatible data: dicts, lists and tuples (JSON arrays), strings,
        numbers and None, sharing nothing mutable with the live state."""
        correlations: dict[str, Any] = {}
        for rule_id, groups in self.windows.items():
            correlation = self.correlations.get(rule_id)
            if correlation is None or not groups:
                continue
            correlations[rule_id] = {
                "fingerprint": correlation.fingerprint,
                # Tuples (JSON arrays) of the immutable entries: no copy of their insides.
                "groups": [
                    (
                        key,
                        None if window.shown == key else window.shown,
                        list(map(tuple, window.entries)),
                    )
                    for key, window in groups.items()
                ],
            }
        return {
            "version": STATE_VERSION,
            "sequence": self.sequence,
            "watermark": self.watermark,
            "last_sweep": self.last_sweep,
            "correlations": correlations,
        }

    @classmethod
    def from_snapshot(
        cls, data: Mapping[str, Any], correlations: Iterable[CompiledCorrelation]
    ) -> "CorrelationWindows":
        """Restore a state saved by `snapshot` for the given correlations.

        Windows of a correlation that is no longer loaded, or whose definition changed
        (see `CompiledCorrelation.fingerprint`), are dropped and logged. Raises
        CorrelationStateError for a snapshot of another layout or a damaged one.
        """
        state = cls(correlations)
        version = data.get("version") if isinstance(data, Mapping) else None
        if version != STATE_VERSION:
            raise CorrelationStateError(
                f"the saved correlation state has layout {version!r}, this canhgac reads "
                f"layout {STATE_VERSION}; open correlation windows are lost"
            )
        try:
            state._restore(data)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
            raise CorrelationStateError(
                f"the saved correlation state is damaged ({type(err).__name__}: {err}); "
                "open correlation windows are lost"
            ) from err
        return state

    def _restore(self, data: Mapping[str, Any]) -> None:
        self.sequence = int(data["sequence"])
        self.watermark = _optional_int(data["watermark"])
        self.last_sweep = _optional_int(data["last_sweep"])
        dropped: list[str] = []
        for rule_id, saved in data["correlations"].items():
            correlation = self.correlations.get(rule_id)
            if correlation is None or saved["fingerprint"] != correlation.fingerprint:
                dropped.append(rule_id)
                continue
            groups: dict[GroupKey, GroupWindow] = {}
            for key_list, shown_list, entries in saved["groups"]:
                key = tuple(str(text) for text in key_list)
                shown = key if shown_list is None else tuple(str(text) for text in shown_list)
                if len(key) != len(correlation.group_by) or len(shown) != len(key):
                    raise ValueError(f"group {key!r} does not fit rule {rule_id}")
                window = GroupWindow(shown, _new_measure(correlation))
                for time, sequence, source, ids, system, organization, values in entries:
                    if not 0 <= int(source) < len(correlation.sources):
                        raise ValueError(f"source {source!r} does not fit rule {rule_id}")
                    entry = WindowEntry(
                        int(time),
                        int(sequence),
                        int(source),
                        tuple(str(eid) for eid in ids),
                        system,
                        organization,
                        tuple(_saved_value(correlation, value) for value in values),
                    )
                    window.entries.append(entry)
                    window.measure.add(entry)
                if not window.entries:
                    continue
                window.entries.sort()
                groups[key] = window
                if correlation.mode is FiringMode.ON_CLOSE:
                    end = window.entries[0].time + correlation.timespan_micros
                    self._closing.append((end, rule_id, key))
            if groups:
                self.windows[rule_id] = groups
        heapq.heapify(self._closing)
        if dropped:
            log.warning(
                "saved windows of %d correlation(s) dropped: no longer loaded or changed (%s)",
                len(dropped),
                ", ".join(sorted(dropped)),
            )


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number or null, got {value!r}")
    return value


def _saved_value(correlation: CompiledCorrelation, value: object) -> WindowValue:
    if correlation.kind in _NUMERIC_KINDS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {value!r}")
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value
