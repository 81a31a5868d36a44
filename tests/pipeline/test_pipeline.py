from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from canhgac.correlator import Alert, Severity, alert_id
from canhgac.events import DeadLetter, Event
from canhgac.incidents import IncidentGrouper, IncidentStatus, IncidentUpdate
from canhgac.pipeline import STATE_CHECKPOINT, CollectedBatch, IngestPipeline
from canhgac.storage import Checkpoint, IncidentQuery, SQLiteStore

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


class EveryEventAlerts:
    """A correlator that raises one alert per event whose message says 'attack'."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.pending: list[Alert] = []

    def snapshot(self) -> dict[str, Any]:
        return {"seen": len(self.seen)}

    def advance(self, now: datetime) -> list[Alert]:
        due, self.pending = [a for a in self.pending if a.timestamp < now], []
        return due

    def process(self, events: Sequence[Event]) -> list[Alert]:
        self.seen.extend(e.id for e in events)
        return [
            Alert(
                id=alert_id("r-attack", (e.id,)),
                rule_id="r-attack",
                rule_title="Attack",
                severity=Severity.HIGH,
                timestamp=e.timestamp,
                event_ids=(e.id,),
                entities=(("source.ip", str(e.get("source.ip"))),),
                organization="So TTTT",
            )
            for e in events
            if e.get("message") == "attack"
        ]


def event(n: int, message: str = "attack", minutes: float = 0) -> Event:
    return Event(
        id=f"e{n}",
        timestamp=T0 + timedelta(minutes=minutes),
        fields={"message": message, "source.ip": "198.51.100.9", "event.original": f"line {n}"},
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore.open(tmp_path / "db.sqlite3") as opened:
        yield opened


def batch(*events: Event, offset: int = 0) -> CollectedBatch:
    return CollectedBatch(
        source="portal",
        events=events,
        dead_letters=(DeadLetter("portal", "bad", "garbage", T0, "/x.log", 3),),
        checkpoints=(Checkpoint("file:portal:/x.log", {"offset": offset}),),
        lines=len(events) + 1,
    )


def test_a_batch_is_stored_with_its_alerts_incident_and_checkpoint(store: SQLiteStore) -> None:
    correlator = EveryEventAlerts()
    pipeline = IngestPipeline(store, correlator, IncidentGrouper(timedelta(minutes=15)))
    outcome = pipeline.process(batch(event(1), event(2, "normal"), event(3, minutes=5), offset=42))
    assert (outcome.events, outcome.alerts, outcome.new_incidents, outcome.dead_letters) == (
        3,
        2,
        1,
        1,
    )
    page = store.list_incidents(IncidentQuery())
    assert [i.alert_count for i in page.items] == [2]
    checkpoint = store.checkpoint("file:portal:/x.log")
    assert checkpoint is not None
    assert checkpoint.state["offset"] == 42
    assert store.counts().dead_letters == 1


def test_events_seen_before_are_neither_stored_nor_correlated_again(store: SQLiteStore) -> None:
    correlator = EveryEventAlerts()
    pipeline = IngestPipeline(store, correlator, IncidentGrouper(timedelta(minutes=15)))
    pipeline.process(batch(event(1), event(2)))
    outcome = pipeline.process(batch(event(1), event(2), event(2), event(4)))
    assert outcome.events == 1
    assert outcome.duplicates == 3
    assert correlator.seen == ["e1", "e2", "e4"]
    assert store.counts().events == 3
    assert store.list_incidents(IncidentQuery()).items[0].alert_count == 3


def test_alerts_after_an_analyst_resolved_the_incident_open_a_new_one(store: SQLiteStore) -> None:
    pipeline = IngestPipeline(store, EveryEventAlerts(), IncidentGrouper(timedelta(minutes=15)))
    pipeline.process(batch(event(1)))
    (first,) = store.list_incidents(IncidentQuery()).items
    store.update_incident(first.id, IncidentUpdate(status=IncidentStatus.RESOLVED), "analyst")
    pipeline.process(batch(event(2, minutes=1)))
    incidents = store.list_incidents(IncidentQuery()).items
    assert sorted(i.status for i in incidents) == [IncidentStatus.NEW, IncidentStatus.RESOLVED]


def test_windows_close_relative_to_the_newest_event_time(store: SQLiteStore) -> None:
    pipeline = IngestPipeline(store, EveryEventAlerts(), IncidentGrouper(timedelta(minutes=15)))
    assert pipeline.close_incident_windows() == 0
    pipeline.process(batch(event(1)))
    pipeline.process(batch(event(2, "normal", minutes=40)))
    assert pipeline.close_incident_windows() == 1
    pipeline.process(batch(event(3, minutes=41)))
    assert store.counts().incidents == 2


def test_the_correlation_state_is_stored_with_every_batch(store: SQLiteStore) -> None:
    pipeline = IngestPipeline(store, EveryEventAlerts(), IncidentGrouper(timedelta(minutes=15)))
    pipeline.process(batch(event(1), event(2, "normal")))
    state = store.checkpoint(STATE_CHECKPOINT)
    assert state is not None
    assert state.state == {"seen": 2}


def test_alerts_raised_when_the_clock_advances_are_grouped_and_stored(store: SQLiteStore) -> None:
    correlator = EveryEventAlerts()
    pipeline = IngestPipeline(store, correlator, IncidentGrouper(timedelta(minutes=15)))
    correlator.pending = correlator.process([event(7)])
    outcome = pipeline.advance(T0 + timedelta(hours=1))
    assert (outcome.alerts, outcome.new_incidents, outcome.events) == (1, 1, 0)
    assert store.counts().alerts == 1
