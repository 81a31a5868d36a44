"""`ServiceLiveState`: the `live:service` document the correlator writes every 15 s, and
the scheduler job that writes it."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from canhgac.config import Settings
from canhgac.pipeline import OutcomeTotals, PipelineStatus
from canhgac.service._correlator_component import CorrelatorComponent
from canhgac.service._live_state import (
    LIVE_SERVICE_CHECKPOINT,
    LIVE_STATE_SECONDS,
    ServiceLiveState,
    rates_between,
)
from canhgac.service._scheduler import add_correlator_jobs, new_scheduler
from canhgac.storage import SourceCounters, SQLiteStore, StoreError, WriteBatch

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Worker:
    def __init__(self) -> None:
        self.totals = OutcomeTotals(batches=7, events=300, alerts=2)
        self.depth = 3

    def status(self) -> PipelineStatus:
        return PipelineStatus(queue_depth=self.depth, queue_capacity=16, batches=7, failed_writes=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore.open(tmp_path / "canhgac.sqlite3") as opened:
        yield opened


def stored_document(store: SQLiteStore) -> dict[str, object]:
    checkpoint = store.checkpoint(LIVE_SERVICE_CHECKPOINT)
    assert checkpoint is not None
    return dict(checkpoint.state)


def test_the_first_document_holds_the_state_and_no_rates(store: SQLiteStore) -> None:
    clock = Clock()
    live = ServiceLiveState(Worker(), store, clock=clock)
    store.write(WriteBatch(source_counters=[SourceCounters("portal", received=5, parsed=4)]))
    clock.now = T0 + timedelta(seconds=30)
    live.write()
    assert stored_document(store) == {
        "written_at": "2026-11-24T08:00:30+00:00",
        "status": "running",
        "started_at": "2026-11-24T08:00:00+00:00",
        "uptime_seconds": 30.0,
        "interval_seconds": 15,
        "queue_depth": 3,
        "queue_capacity": 16,
        "batches": 7,
        "events_in": 300,
        "alerts": 2,
        "failed_writes": 1,
        "sources": {"portal": {"received": 5, "parsed": 4}},
        "events_per_second": {},
    }


def test_rates_come_from_the_last_two_snapshots(store: SQLiteStore) -> None:
    clock = Clock()
    worker = Worker()
    live = ServiceLiveState(worker, store, clock=clock)
    store.write(WriteBatch(source_counters=[SourceCounters("portal", received=10, parsed=10)]))
    live.write()
    clock.now += timedelta(seconds=15)
    store.write(
        WriteBatch(
            source_counters=[
                SourceCounters("portal", received=45, parsed=45),
                SourceCounters("syslog", received=3, parsed=3),
            ]
        )
    )
    worker.depth = 0
    live.write()
    document = stored_document(store)
    assert document["events_per_second"] == {"portal": 3.0, "syslog": 0.2}
    assert document["queue_depth"] == 0
    clock.now += timedelta(seconds=15)
    live.write()
    assert stored_document(store)["events_per_second"] == {"portal": 0.0, "syslog": 0.0}


def test_rates_count_a_counter_that_went_down_from_zero() -> None:
    earlier = {"portal": {"parsed": 900}}
    later = {"portal": {"parsed": 30}, "new": {"parsed": 15}}
    rates = rates_between(earlier, T0, later, T0 + timedelta(seconds=15))
    assert rates == {"portal": 2.0, "new": 1.0}
    assert rates_between(earlier, T0, later, T0) == {}


def test_a_store_failure_is_logged_and_the_next_beat_tries_again(
    store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    live = ServiceLiveState(Worker(), store)
    store.close()
    with caplog.at_level(logging.WARNING):
        live.write()
    assert "live service state not written" in caplog.text
    with pytest.raises(StoreError):
        store.checkpoint(LIVE_SERVICE_CHECKPOINT)


def test_the_correlator_schedules_the_job_every_15_seconds(
    store: SQLiteStore, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    correlator = CorrelatorComponent(settings, store)
    scheduler = new_scheduler()
    add_correlator_jobs(scheduler, settings, correlator.pipeline, correlator.worker, store)
    job = scheduler.get_job("live-service")
    assert job is not None
    assert job.trigger.interval == timedelta(seconds=LIVE_STATE_SECONDS)
    job.func()
    document = stored_document(store)
    assert document["status"] == "running"
    assert document["queue_capacity"] == settings.pipeline.queue_batches
