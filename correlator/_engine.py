"""The `Correlator`: events in arrival order, alerts out.

Each event is tested only against the rules its routing fields select (an index from
routing keys to rules, derived from the logsource pipeline; see `_routing`), never
against every rule.
A detection rule's match becomes an alert (unless the rule only feeds correlations) and
a signal to the correlations that reference it; a correlation's firing becomes an alert
and a signal to the correlations that reference it in turn.
"""

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter_ns
from typing import Any, NamedTuple, TypeVar

from canhgac.correlator._alert import (
    KEY_ENTITY_FIELDS,
    Alert,
    alert_digest,
    alert_id,
    alert_id_part,
)
from canhgac.correlator._compile import CompiledRule, native_programs
from canhgac.correlator._correlation import (
    CompiledCorrelation,
    CorrelationFiring,
    CorrelationStateError,
    CorrelationWindows,
    Signal,
    from_micros,
    to_micros,
)
from canhgac.correlator._event_view import (
    EVENT_DATA_PREFIX,
    EventView,
    field_values,
    scalar_text,
    user_data_leaves,
    user_data_names,
)
from canhgac.correlator._health import (
    CANNOT_FIRE,
    SKIPPED,
    TIMING_SAMPLE,
    RuleHealth,
    cannot_fire,
    estimated_ns,
    never_seen_fields,
)
from canhgac.correlator._loading import RuleSet
from canhgac.correlator._prefilter import Prefilter
from canhgac.correlator._routing import Route, RoutingIndex
from canhgac.correlator._rule_info import RuleInfo
from canhgac.events import Event, FieldValue

log = logging.getLogger(__name__)

NOT_ROUTED = "no events routed to this logsource"
NOT_USED = "raises no alerts (generate: false) and feeds no loaded correlation"

_Record = TypeVar("_Record", bound=tuple[Any, ...])

# A NamedTuple from its fields in order, without the Python frame of the NamedTuple's
# own __new__ (which calls this): 0.22 µs instead of 0.37 for an Alert, measured.
_new_tuple: Callable[[type[_Record], Iterable[Any]], _Record] = tuple.__new__

# Layouts (see Correlator._layouts) kept; beyond, the cache starts afresh.
LAYOUT_CACHE_SIZE = 4096

# Below this many rules in a route, testing them all is cheaper than the prefilter.
_PREFILTER_MIN_RULES = 6


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
    if value is None or value.__class__ is str:
        return value
    for item in field_values(value):
        text = scalar_text(item)
        if text is not None:
            return text
    return None


class _EventFacts(NamedTuple):
    """What a detection alert says of its event (the same for every rule it matched).

    A tuple, not a frozen dataclass: one is made per matched event, in the hot loop."""

    timestamp: datetime
    event_ids: tuple[str]
    id_part: bytes  # the event's share of `alert_id`
    entities: tuple[tuple[str, str], ...]
    system: str | None
    organization: str | None

    @classmethod
    def of(cls, event: Event) -> "_EventFacts":
        fields = event.fields
        system = fields.get("labels.system")
        organization = fields.get("organization.name")
        event_id = event.id
        # tuple.__new__ with the fields in order: what the NamedTuple's own __new__ does,
        # without its Python frame.
        return _new_tuple(
            cls,
            (
                event.timestamp,
                (event_id,),
                alert_id_part(event_id),
                _key_entities(fields),
                # Text or nothing, the usual values, without a call.
                system if system is None or system.__class__ is str else _first_text(system),
                organization
                if organization is None or organization.__class__ is str
                else _first_text(organization),
            ),
        )


class _RuleAlerts:
    """What every alert of one detection rule shares, worked out once per rule."""

    __slots__ = ("_description", "_digest", "_rule_id", "_severity", "_tags", "_title")

    def __init__(self, info: RuleInfo) -> None:
        self._digest = alert_digest(info.rule_id)
        self._rule_id = info.rule_id
        self._title = info.title
        self._severity = info.severity
        self._tags = info.tags
        self._description = info.description

    def alert(self, about: _EventFacts) -> Alert:
        """The rule's alert on the event `about` tells of."""
        digest = self._digest.copy()
        digest.update(about.id_part)
        timestamp, event_ids, _, entities, system, organization = about
        # Every field of Alert in order, as in `_EventFacts.of`.
        return _new_tuple(
            Alert,
            (
                digest.hexdigest(),
                self._rule_id,
                self._title,
                self._severity,
                timestamp,
                event_ids,
                entities,
                system,
                organization,
                self._tags,
                self._description,
            ),
        )


def _key_entities(fields: Mapping[str, FieldValue]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for name in KEY_ENTITY_FIELDS:
        value = fields.get(name)
        if value is None:
            continue
        if value.__class__ is str:
            found.append((name, value))
            continue
        found.extend(
            (name, text) for text in map(scalar_text, field_values(value)) if text is not None
        )
    return tuple(found)


def _restored_windows(
    correlations: Sequence[CompiledCorrelation], state: Mapping[str, Any] | None
) -> CorrelationWindows:
    if state is None:
        return CorrelationWindows(correlations)
    try:
        return CorrelationWindows.from_snapshot(state, correlations)
    except CorrelationStateError as err:
        log.warning("%s", err)
        return CorrelationWindows(correlations)


class Correlator:
    """Runs a `RuleSet` over batches of events; keeps correlation windows and counters.

    `state` restores the correlation windows saved by `snapshot()`; a snapshot that
    cannot be restored (another layout, damaged) is logged and the windows start empty.
    Not thread-safe: one caller at a time.
    """

    def __init__(self, ruleset: RuleSet, state: Mapping[str, Any] | None = None) -> None:
        self._ruleset = ruleset
        self._rules = ruleset.rules
        self._correlations = ruleset.correlations
        self._state = _restored_windows(ruleset.correlations, state)
        saved = self._state.watermark
        self._watermark = from_micros(saved) if saved is not None else None
        # The windows learn the watermark lazily: only once it passes `_deadline` (a
        # window to close, a sweep due) or before they take a match (`_catch_up`).
        self._deadline: datetime | None = None
        self._behind = False
        consumers: dict[str, list[CompiledCorrelation]] = {}
        for correlation in self._correlations:
            for source in correlation.sources:
                consumers.setdefault(source, []).append(correlation)
        self._consumers = {rule_id: tuple(found) for rule_id, found in consumers.items()}
        self._routing = RoutingIndex(
            [
                rule.route_keys if rule.emits_alerts or rule.info.rule_id in self._consumers else ()
                for rule in self._rules
            ]
        )
        self._bodies = tuple(rule.body for rule in self._rules)
        # The same bodies for the native evaluator (None: they run in Python).
        self._programs = native_programs(self._rules)
        # Field names of an event (in order) -> its UserData names (see EventView) and the
        # layout's number: events of one source mostly share a few layouts, and scanning
        # every name is dear. Numbers are never reused, even when the cache starts afresh.
        self._layouts: dict[tuple[str, ...], tuple[dict[str, str], int]] = {}
        self._layouts_made = 0
        self._prefilters: list[Prefilter | None] = []
        # Per routing combination (Route.number): events routed, and every field they had,
        # gathered once per layout (the numbers of the layouts noted so far).
        self._route_events: list[int] = []
        self._route_fields: list[set[str]] = []
        self._route_layouts: list[set[int]] = []
        self._routed_events = 0
        self._rule_timed_ns = [0] * len(self._rules)
        # Per routing combination: the events whose evaluations were timed (sampled).
        self._route_timed: list[int] = []
        self._correlation_positions = {
            correlation.info.rule_id: position
            for position, correlation in enumerate(self._correlations)
        }
        self._rule_matches = [0] * len(self._rules)
        # Per rule: what its alerts share (None: it raises none), whether it feeds a
        # correlation.
        self._alerting = tuple(
            _RuleAlerts(rule.info) if rule.emits_alerts else None for rule in self._rules
        )
        self._feeding = tuple(rule.info.rule_id in self._consumers for rule in self._rules)
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

    def _note_route(
        self, route: Route, layout: tuple[str, ...], layout_number: int
    ) -> Prefilter | None:
        """Count an event of this layout for its route; the route's prefilter (None: test
        every rule)."""
        number = route.number
        while len(self._route_events) <= number:
            positions = self._routing.routes[len(self._route_events)].positions
            self._route_events.append(0)
            self._route_timed.append(0)
            self._route_fields.append(set())
            self._route_layouts.append(set())
            self._prefilters.append(
                Prefilter(positions, {p: self._rules[p].anchor_clauses for p in positions})
                if len(positions) >= _PREFILTER_MIN_RULES
                else None
            )
        self._route_events[number] += 1
        noted = self._route_layouts[number]
        if layout_number not in noted:
            if len(noted) >= LAYOUT_CACHE_SIZE:
                noted.clear()  # noting a layout again adds nothing
            noted.add(layout_number)
            self._route_fields[number].update(layout)
        return self._prefilters[number]

    def _timed_matches(self, route: Route, candidates: Sequence[int], view: EventView) -> list[int]:
        """The matching candidates, each evaluation timed (the sampled events); the rules
        the prefilter skipped count as evaluated in no time."""
        programs = self._programs if view.fields.__class__ is dict else None
        timed_ns = self._rule_timed_ns
        if programs is not None:
            # Timed natively: a Python call and two clock reads per rule cost more than
            # most evaluations.
            stand_ins = view.has_user_data()
            matched, spent = programs.timed_matching(candidates, view, view.fields, stand_ins)
            for position, nanoseconds in zip(candidates, spent, strict=True):
                timed_ns[position] += nanoseconds
            self._route_timed[route.number] += 1
            return matched
        bodies = self._bodies
        matched = []
        for position in candidates:
            start = perf_counter_ns()
            hit = bodies[position](view)
            timed_ns[position] += perf_counter_ns() - start
            if hit:
                matched.append(position)
        self._route_timed[route.number] += 1
        return matched

    def process(self, events: Sequence[Event]) -> list[Alert]:
        """Evaluate events in arrival order; correlations use each event's own time."""
        alerts: list[Alert] = []
        bodies = self._bodies
        programs = self._programs
        layouts = self._layouts
        alerting = self._alerting
        feeding = self._feeding
        rule_matches = self._rule_matches
        rule_last = self._rule_last
        clocked = bool(self._correlations)
        for event in events:
            moment = event.timestamp
            if clocked and (self._watermark is None or moment > self._watermark):
                self._watermark = moment
                if self._deadline is None or moment > self._deadline:
                    self._advance(moment, alerts)
                else:
                    self._behind = True
            fields = event.fields
            layout = tuple(fields)
            known = layouts.get(layout)
            if known is None:
                if len(layouts) >= LAYOUT_CACHE_SIZE:
                    layouts.clear()
                self._layouts_made += 1
                known = layouts[layout] = (user_data_names(layout), self._layouts_made)
            user_data, layout_number = known
            view = EventView(fields, user_data)
            route = self._routing.route(view)
            if route is None:
                continue
            prefilter = self._note_route(route, layout, layout_number)
            self._routed_events += 1
            sampled = not self._routed_events % TIMING_SAMPLE
            native = None if fields.__class__ is not dict else programs
            tables = None if prefilter is None else prefilter.native_tables
            if native is not None and tables is not None and not sampled:
                # One native call: the prefilter's selection, then its evaluation.
                matched = native.select_matching(tables, view, fields, bool(user_data))
            else:
                candidates = route.positions if prefilter is None else prefilter.select(view)
                if sampled:
                    matched = self._timed_matches(route, candidates, view)
                elif native is not None:
                    matched = native.matching(candidates, view, fields, bool(user_data))
                else:
                    matched = [position for position in candidates if bodies[position](view)]
            if not matched:
                continue
            # What every alert on this event says of it, worked out once.
            about: _EventFacts | None = None
            for position in matched:
                rule_matches[position] += 1
                rule_last[position] = moment
                rule_alerts = alerting[position]
                if rule_alerts is not None:
                    if about is None:
                        about = _EventFacts.of(event)
                    alerts.append(rule_alerts.alert(about))
                if feeding[position]:
                    signal = Signal(
                        rule_id=self._rules[position].info.rule_id,
                        time=to_micros(event.timestamp),
                        fields=event.fields,
                        event_ids=(event.id,),
                        system=_first_text(event.get("labels.system")),
                        organization=_first_text(event.get("organization.name")),
                    )
                    self._propagate(signal, alerts)
        return alerts

    def advance(self, now: datetime) -> list[Alert]:
        """Let event time reach `now` although no event says so; return what fires.

        Closes the correlation windows that ended before `now` (conditions with an upper
        bound fire only then), so that a quiet source still gets its alerts. Live, run it
        periodically with the wall clock minus how late events may arrive; events older
        than a window's end that come after are too late for that window.
        """
        alerts: list[Alert] = []
        if self._watermark is None or now > self._watermark:
            self._watermark = now
            self._advance(now, alerts)
        return alerts

    def snapshot(self) -> dict[str, Any]:
        """The correlation windows as JSON-compatible data, for `Correlator(state=...)`."""
        self._catch_up([])
        return self._state.snapshot()

    def _advance(self, now: datetime, alerts: list[Alert]) -> None:
        self._behind = False
        for firing in self._state.advance(to_micros(now)):
            self._fired(firing, alerts)
        self._note_deadline()

    def _catch_up(self, alerts: list[Alert]) -> None:
        """Give the windows the watermark they were spared (nothing fires: it is before
        the deadline)."""
        if self._behind and self._watermark is not None:
            self._advance(self._watermark, alerts)

    def _note_deadline(self) -> None:
        deadline = self._state.deadline()
        self._deadline = from_micros(deadline) if deadline is not None else None

    def _propagate(self, signal: Signal, alerts: list[Alert]) -> None:
        consumers = self._consumers.get(signal.rule_id, ())
        if not consumers:
            return
        self._catch_up(alerts)
        for correlation in consumers:
            position = self._correlation_positions[correlation.info.rule_id]
            self._correlation_events[position] += 1
            for firing in self._state.observe(correlation, signal):
                self._fired(firing, alerts)
        self._note_deadline()

    def _fired(self, firing: CorrelationFiring, alerts: list[Alert]) -> None:
        position = self._correlation_positions[firing.correlation.info.rule_id]
        self._correlation_matches[position] += 1
        self._correlation_last[position] = from_micros(firing.time)
        alerts.append(self._correlation_alert(firing))
        self._propagate(firing.signal(), alerts)

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

    def _events_by_rule(self, per_route: Sequence[int] | None = None) -> list[int]:
        """Per rule, the sum over the routes that reach it of `per_route` (by default the
        events routed)."""
        counts = [0] * len(self._rules)
        by_route = self._route_events if per_route is None else per_route
        for route, events in zip(self._routing.routes, by_route, strict=True):
            for position in route.positions:
                counts[position] += events
        return counts

    def _fields_by_rule(self) -> list[set[str]]:
        seen: list[set[str]] = [set() for _ in self._rules]
        for route, fields in zip(self._routing.routes, self._route_fields, strict=True):
            # A UserData value also answers for its name under winlog.event_data (EventView).
            names = fields | {
                EVENT_DATA_PREFIX + leaf for leaf in user_data_leaves(dict.fromkeys(fields))
            }
            for position in route.positions:
                seen[position] |= names
        return seen

    def _note(self, rule: CompiledRule) -> str | None:
        if not rule.routed:
            return NOT_ROUTED
        if not (rule.emits_alerts or rule.info.rule_id in self._consumers):
            return NOT_USED
        return None

    def health(self) -> tuple[RuleHealth, ...]:
        """Health of every rule: detection rules, correlations, then the skipped rules.

        See `RuleHealth`; evaluation times are sampled on one routed event in
        `TIMING_SAMPLE` (timing every evaluation would slow matching down noticeably).
        """
        events = self._events_by_rule()
        timed = self._events_by_rule(self._route_timed)
        seen = self._fields_by_rule()
        lines: list[RuleHealth] = []
        for position, rule in enumerate(self._rules):
            info = rule.info
            routed_to = events[position]
            never_seen = never_seen_fields(rule, seen[position]) if routed_to else ()
            note = self._note(rule)
            if note is None and routed_to and cannot_fire(rule, seen[position]):
                note = CANNOT_FIRE
            lines.append(
                RuleHealth(
                    rule_id=info.rule_id,
                    title=info.title,
                    level=info.severity,
                    kind="detection",
                    path=info.path,
                    routed=rule.routed,
                    events=routed_to,
                    matches=self._rule_matches[position],
                    last_match=self._rule_last[position],
                    evaluation_ns=estimated_ns(
                        self._rule_timed_ns[position], timed[position], routed_to
                    ),
                    never_seen=never_seen,
                    note=note,
                )
            )
        for stats in self.stats()[len(self._rules) :]:
            correlation = self._correlations[self._correlation_positions[stats.rule_id]]
            lines.append(
                RuleHealth(
                    rule_id=stats.rule_id,
                    title=stats.title,
                    level=correlation.info.severity,
                    kind=stats.kind,
                    path=correlation.info.path,
                    routed=stats.routed,
                    events=stats.events,
                    matches=stats.matches,
                    last_match=stats.last_match,
                    evaluation_ns=0,
                    never_seen=(),
                    note=stats.note,
                )
            )
        for error in (*self._ruleset.errors, *self._ruleset.unconfigured):
            lines.append(
                RuleHealth(
                    rule_id=error.rule_id,
                    title=error.rule,
                    level=None,
                    kind=SKIPPED,
                    path=error.path,
                    routed=False,
                    events=0,
                    matches=0,
                    last_match=None,
                    evaluation_ns=0,
                    never_seen=(),
                    note=error.reason,
                )
            )
        return tuple(lines)

    def stats(self) -> tuple[RuleStats, ...]:
        """Counters of every loaded rule: detection rules, then correlations."""
        routed_ids = {rule.info.rule_id for rule in self._rules if rule.routed}
        events = self._events_by_rule()
        stats: list[RuleStats] = []
        for position, rule in enumerate(self._rules):
            note = self._note(rule)
            stats.append(
                RuleStats(
                    rule_id=rule.info.rule_id,
                    title=rule.info.title,
                    kind="detection",
                    routed=rule.routed,
                    events=events[position],
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
