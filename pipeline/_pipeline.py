"""`IngestPipeline`: one collected batch through correlation and grouping into the store."""

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from canhgac.correlator import Alert, Correlator
from canhgac.events import Event
from canhgac.incidents import GroupingResult, IncidentGrouper
from canhgac.pipeline._batch import BatchOutcome, CollectedBatch
from canhgac.storage import Checkpoint, SourceCounters, Store, WriteBatch
from canhgac.tuning import RuleTuning

STATE_CHECKPOINT = "correlator:state"
"""The checkpoint holding the correlator's open correlation windows."""


class EventCorrelator(Protocol):
    """The part of the correlator the pipeline uses."""

    def process(self, events: Sequence[Event]) -> list[Alert]: ...

    def advance(self, now: datetime) -> list[Alert]:
        """Close correlation windows that end before `now` (a quiet source's clock)."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """The correlation state, restorable after a restart."""
        ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class IngestPipeline:
    """Deduplicates, correlates, groups and writes each batch in one store transaction.

    Only events the store has never seen reach the correlator, so reading a file twice
    (a restart, a repeated `canhgac ingest`) raises no alert twice. One thread at a time
    may call `process`: it is the store's single writer.
    """

    def __init__(
        self,
        store: Store,
        correlator: EventCorrelator,
        grouper: IncidentGrouper,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._correlator = correlator
        self._grouper = grouper
        self._clock = clock
        # Scheduled detection stores alerts from another thread: one grouping at a time,
        # or two threads could each open an incident for the same key.
        self._grouping = threading.Lock()
        self.watermark: datetime | None = None
        """The newest event time processed: incident windows close relative to it."""
        self.tuning = RuleTuning()
        """The admin's rule settings, applied to alerts before grouping (canhgac.tuning)."""
        self._tuning_lock = threading.Lock()
        self._suppressed: Counter[str] = Counter()
        self._disabled: Counter[str] = Counter()

    @property
    def correlator(self) -> EventCorrelator:
        return self._correlator

    def use_correlator(self, correlator: EventCorrelator) -> None:
        """Correlate the next batches with `correlator` (rules reloaded); call it from the
        thread that calls `process`, between two batches."""
        self._correlator = correlator

    def tuning_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Alerts dropped by rule id since the start: (suppressed by an exception, of a
        disabled rule)."""
        with self._tuning_lock:
            return dict(self._suppressed), dict(self._disabled)

    def _tuned(self, alerts: list[Alert], fresh: Sequence[Event]) -> list[Alert]:
        """The alerts left once the rule settings are applied; the evidence events an
        exception must see come from the batch, else from the store."""
        tuning = self.tuning
        if tuning.is_empty or not alerts:
            return alerts
        now = self._clock()
        needed = tuning.evidence_needed(alerts, now)
        events = {event.id: event for event in fresh if event.id in needed}
        if missing := [eid for eid in needed if eid not in events]:
            events.update((event.id, event) for event in self._store.get_events(missing))
        tuned = tuning.apply(alerts, events, now)
        if tuned.suppressed or tuned.disabled:
            with self._tuning_lock:
                self._suppressed.update(tuned.suppressed)
                self._disabled.update(tuned.disabled)
        return list(tuned.alerts)

    def process(self, batch: CollectedBatch) -> BatchOutcome:
        fresh = self._unseen(batch.events)
        counters = self._source_counters(batch, fresh, late=self._late(fresh))
        alerts = self._tuned(self._correlator.process(fresh), fresh)
        return self._store_outcome(batch, fresh, alerts, counters)

    def advance(self, now: datetime) -> BatchOutcome:
        """Let correlation windows that end before `now` fire, and store what they raise."""
        alerts = self._tuned(self._correlator.advance(now), ())
        return self._store_outcome(CollectedBatch(source="correlator", events=()), [], alerts)

    def store_alerts(
        self, alerts: Sequence[Alert], checkpoints: Sequence[Checkpoint] = ()
    ) -> BatchOutcome:
        """Group alerts raised outside a collected batch (scheduled detection over stored
        events) into incidents and write them with `checkpoints`, in one store write.

        Alerts the store has already are left out, so a rerun raises nothing twice. Safe
        to call from another thread than `process`: grouping and writing are serialized.
        """
        alerts = self._tuned(list(alerts), ())
        known = self._store.known_alert_ids([a.id for a in alerts]) if alerts else set()
        fresh = [a for a in dict((a.id, a) for a in alerts).values() if a.id not in known]
        with self._grouping:
            grouping = self._group(fresh)
            self._store.write(
                WriteBatch(
                    alerts=fresh,
                    alert_incidents=grouping.alert_incidents,
                    new_incidents=grouping.new_incidents,
                    incident_growths=grouping.growths,
                    checkpoints=checkpoints,
                )
            )
        return BatchOutcome(
            lines=0,
            events=0,
            duplicates=len(alerts) - len(fresh),
            dead_letters=0,
            alerts=len(fresh),
            new_incidents=len(grouping.new_incidents),
            updated_incidents=len(grouping.growths),
        )

    def _group(self, alerts: list[Alert]) -> GroupingResult:
        keys = {self._grouper.key_for(a) for a in alerts}
        since = min((a.timestamp for a in alerts), default=None)
        known = self._store.open_incidents(keys, since - self._grouper.window) if since else {}
        return self._grouper.group(alerts, known, self._clock())

    def _store_outcome(
        self,
        batch: CollectedBatch,
        fresh: list[Event],
        alerts: list[Alert],
        counters: SourceCounters | None = None,
    ) -> BatchOutcome:
        with self._grouping:
            grouping = self._group(alerts)
            self._write_outcome(batch, fresh, alerts, grouping, counters)
        newest = max((e.timestamp for e in fresh), default=None)
        if newest is not None and (self.watermark is None or newest > self.watermark):
            self.watermark = newest
        return BatchOutcome(
            lines=batch.lines,
            events=len(fresh),
            duplicates=len(batch.events) - len(fresh),
            dead_letters=len(batch.dead_letters),
            alerts=len(alerts),
            new_incidents=len(grouping.new_incidents),
            updated_incidents=len(grouping.growths),
            dropped=batch.dropped,
            late=0 if counters is None else counters.late,
        )

    def _write_outcome(
        self,
        batch: CollectedBatch,
        fresh: list[Event],
        alerts: list[Alert],
        grouping: GroupingResult,
        counters: SourceCounters | None = None,
    ) -> None:
        self._store.write(
            WriteBatch(
                events=fresh,
                dead_letters=batch.dead_letters,
                alerts=alerts,
                alert_incidents=grouping.alert_incidents,
                new_incidents=grouping.new_incidents,
                incident_growths=grouping.growths,
                # The correlation state is stored with the events that shaped it, so a
                # restart neither loses nor double-counts a window.
                checkpoints=(
                    *batch.checkpoints,
                    Checkpoint(STATE_CHECKPOINT, self._correlator.snapshot()),
                ),
                # Counted in the same write as what they count: they cannot disagree.
                source_counters=() if counters is None else (counters,),
            )
        )

    def close_incident_windows(self) -> int:
        """Stop grouping into incidents whose window has passed, by event time."""
        if self.watermark is None:
            return 0
        return self._store.close_incident_windows(self.watermark - self._grouper.window)

    def _unseen(self, events: Sequence[Event]) -> list[Event]:
        known = self._store.known_event_ids([e.id for e in events]) if events else set()
        fresh: list[Event] = []
        for event in events:
            if event.id not in known:
                known.add(event.id)  # a batch may itself repeat a line's id
                fresh.append(event)
        return fresh

    # -- loss accounting ------------------------------------------------------------------

    def _source_counters(
        self, batch: CollectedBatch, fresh: list[Event], *, late: int
    ) -> SourceCounters:
        """The batch's increment of its source's counters (see `storage.SourceCounters`)."""
        return SourceCounters(
            source=batch.source,
            # A collector that does not count its records made each an event or dead letter.
            received=batch.lines or len(batch.events) + len(batch.dead_letters) + batch.aggregated,
            parsed=len(fresh),
            dead_lettered=len(batch.dead_letters),
            duplicates=len(batch.events) - len(fresh),
            aggregated=batch.aggregated,
            dropped=batch.dropped,
            late=late,
            last_event=max((e.timestamp for e in batch.events), default=None),
            last_batch=self._clock(),
        )

    def _late(self, events: Sequence[Event]) -> int:
        """How many of these events, correlated in this order, are too late for every
        correlation window: older than the correlator's watermark (which each event
        moves forward) minus its longest correlation timespan. As the correlator itself
        decides (correlator/_correlation.py), such a match counts in no window."""
        horizon = _correlation_horizon(self._correlator)
        if horizon is None:
            return 0
        watermark, span = horizon
        late = 0
        for event in events:
            moment = event.timestamp
            if watermark is None or moment > watermark:
                watermark = moment
            elif moment < watermark - span:
                late += 1
        return late


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _correlation_horizon(correlator: EventCorrelator) -> tuple[datetime | None, timedelta] | None:
    """The correlator's watermark and longest correlation timespan; None when it has no
    correlation rule (nothing can be late for a window) or is not a `Correlator`."""
    if not isinstance(correlator, Correlator):
        return None
    spans = [correlation.timespan for correlation in correlator.ruleset.correlations]
    if not spans:
        return None
    # The windows' watermark is current between batches: `snapshot` brings it up to date.
    micros = correlator.state.watermark
    return (None if micros is None else _EPOCH + timedelta(microseconds=micros)), max(spans)
