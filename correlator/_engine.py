"""The `Correlator`: events in arrival order, alerts out.

Each event is tested only against the rules its routing fields select (an index from
(field, value) to rules, derived from the logsource pipeline), never against every rule.
A detection rule's match becomes an alert (unless the rule only feeds correlations) and
a signal to the correlations that reference it; a correlation's firing becomes an alert
and a signal to the correlations that reference it in turn.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from canhgac.correlator._alert import KEY_ENTITY_FIELDS, Alert, alert_id
from canhgac.correlator._compile import CompiledRule
from canhgac.correlator._correlation import (
    CompiledCorrelation,
    CorrelationFiring,
    CorrelationWindows,
    Signal,
    from_micros,
    to_micros,
)
from canhgac.correlator._event_view import EventView, field_values, scalar_text
from canhgac.correlator._loading import RuleSet
from canhgac.correlator._logsources import RouteKey
from canhgac.events import Event, FieldValue

NOT_ROUTED = "no events routed to this logsource"
NOT_USED = "raises no alerts (generate: false) and feeds no loaded correlation"

# Distinct routing-key combinations remembered; real traffic has a few dozen.
_CANDIDATE_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class RuleStats:
    """Counters of one rule since the correlator started.

    For a detection rule, `events` counts the events routed to it and `matches` those
    it matched; for a correlation, `events` counts the matches of its referenced rules
    it received and `matches` the times it fired. `note` says why a rule can never
    fire ("no events routed to this logsource"), else None.
    """

    rule_id: str
    title: str
    kind: str
    routed: bool
    events: int
    matches: int
    last_match: datetime | None
    note: str | None


def _first_text(value: FieldValue) -> str | None:
    for item in field_values(value):
        text = scalar_text(item)
        if text is not None:
            return text
    return None


def _key_entities(event: Event) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, text)
        for name in KEY_ENTITY_FIELDS
        for text in map(scalar_text, field_values(event.get(name)))
        if text is not None
    )


class Correlator:
    """Runs a `RuleSet` over batches of events; keeps correlation windows and counters.

    `state` restores correlation windows saved with `CorrelationWindows.snapshot()`.
    Not thread-safe: one caller at a time.
    """

    def __init__(self, ruleset: RuleSet, state: CorrelationWindows | None = None) -> None:
        self._ruleset = ruleset
        self._rules = ruleset.rules
        self._correlations = ruleset.correlations
        self._state = state if state is not None else CorrelationWindows()
        consumers: dict[str, list[CompiledCorrelation]] = {}
        for correlation in self._correlations:
            for source in correlation.sources:
                consumers.setdefault(source, []).append(correlation)
        self._consumers = {rule_id: tuple(found) for rule_id, found in consumers.items()}
        index: dict[RouteKey, list[int]] = {}
        for position, rule in enumerate(self._rules):
            if rule.emits_alerts or rule.info.rule_id in self._consumers:
                for key in rule.route_keys:
                    index.setdefault(key, []).append(position)
        self._index = {key: tuple(positions) for key, positions in index.items()}
        self._route_fields = tuple(sorted({field for field, _ in self._index}))
        self._candidates: dict[tuple[RouteKey, ...], tuple[int, ...]] = {}
        self._correlation_positions = {
            correlation.info.rule_id: position
            for position, correlation in enumerate(self._correlations)
        }
        self._rule_events = [0] * len(self._rules)
        self._rule_matches = [0] * len(self._rules)
        self._rule_last: list[datetime | None] = [None] * len(self._rules)
        self._correlation_events = [0] * len(self._correlations)
        self._correlation_matches = [0] * len(self._correlations)
        self._correlation_last: list[datetime | None] = [None] * len(self._correlations)

    @property
    def ruleset(self) -> RuleSet:
        return self._ruleset

    @property
    def state(self) -> CorrelationWindows:
        """The correlation windows (plain data; see `CorrelationWindows.snapshot`)."""
        return self._state

    def _candidates_for(self, view: EventView) -> tuple[int, ...]:
        keys = tuple(
            key
            for field in self._route_fields
            for value in view.lowered(field)
            if (key := (field, value)) in self._index
        )
        if not keys:
            return ()
        candidates = self._candidates.get(keys)
        if candidates is None:
            candidates = tuple(sorted(set(chain.from_iterable(self._index[k] for k in keys))))
            if len(self._candidates) >= _CANDIDATE_CACHE_LIMIT:
                self._candidates.clear()
            self._candidates[keys] = candidates
        return candidates

    def process(self, events: Sequence[Event]) -> list[Alert]:
        """Evaluate events in arrival order; correlations use each event's own time."""
        alerts: list[Alert] = []
        for event in events:
            view = EventView(event.fields)
            for position in self._candidates_for(view):
                self._rule_events[position] += 1
                rule = self._rules[position]
                if not rule.predicate(view):
                    continue
                self._rule_matches[position] += 1
                self._rule_last[position] = event.timestamp
                if rule.emits_alerts:
                    alerts.append(self._detection_alert(rule, event))
                if rule.info.rule_id in self._consumers:
                    signal = Signal(
                        rule_id=rule.info.rule_id,
                        time=to_micros(event.timestamp),
                        fields=event.fields,
                        event_ids=(event.id,),
                        system=_first_text(event.get("labels.system")),
                        organization=_first_text(event.get("organization.name")),
                    )
                    self._propagate(signal, alerts)
        self._state.sweep(self._correlations)
        return alerts

    def _propagate(self, signal: Signal, alerts: list[Alert]) -> None:
        for correlation in self._consumers.get(signal.rule_id, ()):
            position = self._correlation_positions[correlation.info.rule_id]
            self._correlation_events[position] += 1
            for firing in self._state.observe(correlation, signal):
                self._correlation_matches[position] += 1
                self._correlation_last[position] = from_micros(firing.time)
                alerts.append(self._correlation_alert(firing))
                self._propagate(firing.signal(), alerts)

    @staticmethod
    def _detection_alert(rule: CompiledRule, event: Event) -> Alert:
        info = rule.info
        event_ids = (event.id,)
        return Alert(
            id=alert_id(info.rule_id, event_ids),
            rule_id=info.rule_id,
            rule_title=info.title,
            severity=info.severity,
            timestamp=event.timestamp,
            event_ids=event_ids,
            entities=_key_entities(event),
            system=_first_text(event.get("labels.system")),
            organization=_first_text(event.get("organization.name")),
            tags=info.tags,
            description=info.description,
        )

    @staticmethod
    def _correlation_alert(firing: CorrelationFiring) -> Alert:
        info = firing.correlation.info
        return Alert(
            id=alert_id(info.rule_id, firing.event_ids),
            rule_id=info.rule_id,
            rule_title=info.title,
            severity=info.severity,
            timestamp=from_micros(firing.time),
            event_ids=firing.event_ids,
            entities=firing.group,
            system=firing.system,
            organization=firing.organization,
            tags=info.tags,
            description=info.description,
        )

    def stats(self) -> tuple[RuleStats, ...]:
        """Counters of every loaded rule: detection rules, then correlations."""
        routed_ids = {rule.info.rule_id for rule in self._rules if rule.routed}
        stats: list[RuleStats] = []
        for position, rule in enumerate(self._rules):
            used = rule.emits_alerts or rule.info.rule_id in self._consumers
            note = NOT_ROUTED if not rule.routed else None if used else NOT_USED
            stats.append(
                RuleStats(
                    rule_id=rule.info.rule_id,
                    title=rule.info.title,
                    kind="detection",
                    routed=rule.routed,
                    events=self._rule_events[position],
                    matches=self._rule_matches[position],
                    last_match=self._rule_last[position],
                    note=note,
                )
            )
        for position, correlation in enumerate(self._correlations):
            # Referenced rules come first in the rule set, so their routing is known here.
            routed = any(source in routed_ids for source in correlation.sources)
            if routed:
                routed_ids.add(correlation.info.rule_id)
            stats.append(
                RuleStats(
                    rule_id=correlation.info.rule_id,
                    title=correlation.info.title,
                    kind=str(correlation.kind),
                    routed=routed,
                    events=self._correlation_events[position],
                    matches=self._correlation_matches[position],
                    last_match=self._correlation_last[position],
                    note=None if routed else NOT_ROUTED,
                )
            )
        return tuple(stats)
