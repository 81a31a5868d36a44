"""Scheduled detection on both stores: windows over stored events, incidents once,
reruns raising nothing twice, and a restart continuing from the checkpoint."""

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from canhgac.config import RulesConfig, Settings
from canhgac.correlator import Alert, load_rules
from canhgac.events import Event
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline import IngestPipeline, PipelineWorker
from canhgac.scheduled import (
    WINDOW_CHECKPOINT,
    LuceneRuleConverter,
    ScheduledDetection,
    StoredEventWindow,
    select_rules,
)
from canhgac.service import Service
from canhgac.storage import ElasticsearchStore, IncidentQuery, SQLiteStore, Store, WriteBatch
from tests.storage.elasticsearch_node import elasticsearch_url, fresh_store
from tests.storage.records import T0, FakeClock, at

SCANNER = "Vulnerability Scanner User Agent"
BRUTE_FORCE = "SSH Brute Force From One Address"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=at(6))


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    if request.param == "sqlite":
        with SQLiteStore.open(tmp_path / "canhgac.sqlite3", clock=clock) as opened:
            yield opened
    else:
        with fresh_store(elasticsearch_url(), tmp_path, clock) as elastic:
            yield elastic


def _scan(n: int, minutes: float) -> Event:
    return Event(
        f"scan-{n}",
        at(minutes),
        {
            "event.dataset": "nginx.access",
            "source.ip": "203.113.131.5",
            "url.original": "/ho-so/tra-cuu?id=1",
            "user_agent.original": "sqlmap/1.8.2#stable (https://sqlmap.org)",
        },
    )


def _failed_ssh(n: int, minutes: float) -> Event:
    return Event(
        f"ssh-{n}",
        at(minutes),
        {
            "event.dataset": "system.auth",
            "process.name": "sshd",
            "event.action": "ssh_login",
            "event.outcome": "failure",
            "source.ip": "198.51.100.7",
            "user.name": "root",
        },
    )


# Scans in the first window (0-5 min), on its end and in the second (5-10 min); ten
# failed SSH logins from one address within 3.5-5.3 min, across the two windows.
EVENTS = [
    _scan(1, 1),
    _scan(2, 3),
    _scan(3, 5),
    _scan(4, 8),
    *(_failed_ssh(n, 3.5 + n * 0.2) for n in range(10)),
]


def _detection(store: Store, clock: FakeClock) -> ScheduledDetection:
    ruleset, missing = select_rules(load_rules([]), [SCANNER, BRUTE_FORCE, "no such rule"])
    assert missing == ["no such rule"]
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)
    queries = converter.convert_paths([], bundled=True)
    return ScheduledDetection(
        store,
        ruleset,
        queries,
        interval=timedelta(minutes=5),
        lag=timedelta(minutes=1),
        clock=clock,
    )


def _pipeline(store: Store, clock: FakeClock) -> IngestPipeline:
    return IngestPipeline(store, _NoCorrelator(), IncidentGrouper(timedelta(minutes=15)), clock)


class _NoCorrelator:
    """Scheduled detection stores alerts without the live correlator."""

    def process(self, events: Sequence[Event]) -> list[Alert]:
        raise AssertionError("scheduled detection must not run the live correlator")

    def advance(self, now: datetime) -> list[Alert]:
        raise AssertionError("scheduled detection must not run the live correlator")

    def snapshot(self) -> dict[str, Any]:
        raise AssertionError("scheduled detection must not run the live correlator")


def _incidents(store: Store) -> list[tuple[str, str | None, int]]:
    page = store.list_incidents(IncidentQuery(limit=100))
    return sorted((i.rule_title, i.entity_value, i.alert_count) for i in page.items)


def test_windows_of_stored_events_raise_incidents_once_and_resume_after_a_restart(
    store: Store, clock: FakeClock
) -> None:
    store.write(WriteBatch(events=EVENTS))
    detection = _detection(store, clock)
    pipeline = _pipeline(store, clock)
    lucene = {plan.title for plan in detection.plan if plan.query is not None}
    assert lucene == ({SCANNER} if isinstance(store, ElasticsearchStore) else set())

    # 6 min: the first window is [0, 5) (its end a minute behind the clock).
    first = detection.run_window(pipeline)

    assert first is not None
    assert first.alerts == 2
    assert _incidents(store) == [(SCANNER, "203.113.131.5", 2)]
    saved = store.checkpoint(WINDOW_CHECKPOINT)
    assert saved is not None
    assert saved.state == {"end": at(5).isoformat()}

    # Nothing is due until the clock moves on.
    assert detection.run_window(pipeline) is None
    # The same window searched again raises nothing twice.
    again = detection.alerts_between(StoredEventWindow(T0, at(5)))
    assert len(again.alerts) == 2
    assert pipeline.store_alerts(again.alerts).alerts == 0
    assert _incidents(store) == [(SCANNER, "203.113.131.5", 2)]

    # A restart (new objects, same store) at 11 min continues from the checkpoint:
    # [5, 10) holds the scan on the boundary, the later one and the tenth failed login.
    clock.now = at(11)
    restarted = _detection(store, clock)
    outcome = restarted.run_window(_pipeline(store, clock))

    assert outcome is not None
    assert outcome.alerts == 3
    assert _incidents(store) == [
        (BRUTE_FORCE, "198.51.100.7", 1),
        (SCANNER, "203.113.131.5", 4),
    ]
    assert store.counts().alerts == 5


def test_a_backtest_over_a_range_gives_the_alerts_and_writes_nothing(
    store: Store, clock: FakeClock
) -> None:
    store.write(WriteBatch(events=EVENTS))
    detection = _detection(store, clock)

    result = detection.alerts_between(StoredEventWindow(T0, at(10)))

    titles = [(alert.rule_title, alert.event_ids[-1]) for alert in result.alerts]
    assert titles == [
        (SCANNER, "scan-1"),
        (SCANNER, "scan-2"),
        (SCANNER, "scan-3"),
        (BRUTE_FORCE, "ssh-9"),
        (SCANNER, "scan-4"),
    ]
    assert store.counts().alerts == 0
    assert store.checkpoint(WINDOW_CHECKPOINT) is None


def test_the_service_schedules_the_configured_rules_and_a_failed_run_keeps_its_window(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(rules=RulesConfig(scheduled=[SCANNER], schedule_minutes=7))
    with SQLiteStore.open(tmp_path / "canhgac.sqlite3", clock=clock) as store:
        pipeline = _pipeline(store, clock)
        scheduler = Service(settings)._scheduler([], pipeline, PipelineWorker(pipeline), store)
        job = scheduler.get_job("scheduled-detection")
        assert job is not None
        assert job.trigger.interval == timedelta(minutes=7)

        detection = ScheduledDetection.from_settings(settings, store)
        assert [plan.title for plan in detection.plan] == [SCANNER]
    # The store is closed now: the job logs the failure, raises nothing, stores nothing.
    detection.job(pipeline)()
    assert "scheduled detection failed" in caplog.text
    assert "the next run tries again" in caplog.text
