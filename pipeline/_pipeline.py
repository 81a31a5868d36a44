"""`IngestPipeline`: one collected batch through correlation and grouping into the store."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from canhgac.correlator import Alert
from canhgac.events import Event
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline._batch import BatchOutcome, CollectedBatch
from canhgac.storage import Checkpoint, Store, WriteBatch

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
        self.watermark: datetime | None = None
        """The newest event time processed: incident windows close relative to it."""

    def process(self, batch: CollectedBatch) -> BatchOutcome:
        fresh = self._unseen(batch.events)
        alerts = self._correlator.process(fresh)
        return self._store_outcome(batch, fresh, alerts)

    def advance(self, now: datetime) -> BatchOutcome:
        """Let correlation windows that end before `now` fire, and store what they raise."""
        alerts = self._correlator.advance(now)
        return self._store_outcome(CollectedBatch(source="correlator", events=()), [], alerts)

    def _store_outcome(
        self, batch: CollectedBatch, fresh: list[Event], alerts: list[Alert]
    ) -> BatchOutcome:
        keys = {self._grouper.key_for(a) for a in alerts}
        since = min((a.timestamp for a in alerts), default=None)
        known = self._store.open_incidents(keys, since - self._grouper.window) if since else {}
        grouping = self._grouper.group(alerts, known, self._clock())
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
            )
        )
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
