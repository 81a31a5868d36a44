"""GET /api/v1/collectors: the stored source counters, the configured sources, and the
correlator's `live:service` as `ServiceLiveState` writes it."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from canhgac.api import create_app, generate_api_key
from canhgac.config import Settings
from canhgac.pipeline import OutcomeTotals, PipelineStatus
from canhgac.service._live_state import LIVE_SERVICE_CHECKPOINT, ServiceLiveState
from canhgac.storage import Checkpoint, Role, SourceCounters, SQLiteStore, WriteBatch
from tests.api.seed_data import ORG_TTTT, ORG_UBND, ORG_YTE, Keys

SOURCES: list[dict[str, object]] = [
    {"name": "portal-nginx", "paths": ["/var/log/nginx/access.log"], "organization": ORG_TTTT},
    {"name": "mail-auth", "paths": ["/var/log/auth.log"], "organization": ORG_YTE},
    {
        "type": "portal_monitor",
        "name": "portals",
        "targets": [
            {"name": "dvc", "url": "https://dichvucong.example.vn/", "organization": ORG_UBND}
        ],
    },
]


class FakeWorker:
    def __init__(self) -> None:
        self.totals = OutcomeTotals(batches=4, events=120, alerts=3)

    def status(self) -> PipelineStatus:
        return PipelineStatus(queue_depth=2, queue_capacity=16, batches=4, failed_writes=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sourced(store: SQLiteStore) -> Iterator[TestClient]:
    settings = Settings.model_validate(
        {"sources": SOURCES, "api": {"auth_failures_per_minute": 1000}}
    )
    with TestClient(create_app(store, settings)) as client:
        yield client


def count(store: SQLiteStore, *counters: SourceCounters) -> None:
    store.write(WriteBatch(source_counters=counters))


def scoped_key(store: SQLiteStore, *organizations: str) -> dict[str, str]:
    key, record = generate_api_key("scoped", Role.VIEWER)
    store.add_api_key(replace(record, organizations=organizations))
    return {"Authorization": f"Bearer {key}"}


def test_without_live_state_the_service_is_unknown_and_sources_are_at_zero(
    sourced: TestClient, keys: Keys
) -> None:
    body = sourced.get("/api/v1/collectors", headers=keys.header(keys.viewer)).json()
    assert body["service"]["status"] == "unknown"
    assert body["service"]["queue_depth"] is None
    assert [(s["name"], s["type"]) for s in body["sources"]] == [
        ("mail-auth", "file"),
        ("portal-nginx", "file"),
        ("portals", "portal_monitor"),
    ]
    assert all(s["received"] == 0 and s["events_per_second"] == 0.0 for s in body["sources"])
    assert all(s["last_event"] is None for s in body["sources"])


def test_counters_rates_and_service_state_from_two_snapshots(
    sourced: TestClient, keys: Keys, store: SQLiteStore
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20)
    clock = Clock(start)
    live = ServiceLiveState(FakeWorker(), store, clock=clock)
    count(store, SourceCounters("portal-nginx", received=100, parsed=90, dead_lettered=10))
    live.write()
    clock.now = start + timedelta(seconds=15)
    last = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    count(
        store,
        SourceCounters("portal-nginx", received=40, parsed=30, duplicates=10, last_event=last),
        SourceCounters("agent-7", received=6, parsed=6, dropped=2, late=1),
    )
    live.write()
    body = sourced.get("/api/v1/collectors", headers=keys.header(keys.viewer)).json()
    service = body["service"]
    assert service["status"] == "running"
    assert service["queue_depth"] == 2
    assert service["queue_capacity"] == 16
    assert (service["batches"], service["events_in"], service["alerts"]) == (4, 120, 3)
    assert service["failed_writes"] == 1
    assert service["uptime_seconds"] == 15.0
    assert datetime.fromisoformat(service["started_at"]) == start
    by_name = {s["name"]: s for s in body["sources"]}
    assert list(by_name) == ["agent-7", "mail-auth", "portal-nginx", "portals"]
    nginx = by_name["portal-nginx"]
    # 30 more parsed events over 15 s.
    assert nginx["events_per_second"] == 2.0
    assert (nginx["received"], nginx["parsed"], nginx["dead_letters"]) == (140, 120, 10)
    assert nginx["duplicates"] == 10
    assert datetime.fromisoformat(nginx["last_event"]) == last
    agent = by_name["agent-7"]
    # New since the first snapshot: counted from zero.
    assert agent["events_per_second"] == 0.4
    assert agent["type"] is None
    assert (agent["dropped"], agent["late"]) == (2, 1)
    assert by_name["mail-auth"]["events_per_second"] == 0.0


def test_a_state_not_written_for_three_intervals_is_stale_and_has_no_rates(
    sourced: TestClient, keys: Keys, store: SQLiteStore
) -> None:
    clock = Clock(datetime.now(UTC) - timedelta(minutes=5))
    live = ServiceLiveState(FakeWorker(), store, clock=clock)
    live.write()
    count(store, SourceCounters("portal-nginx", received=30, parsed=30))
    clock.now += timedelta(seconds=15)
    live.write()
    stored = store.checkpoint(LIVE_SERVICE_CHECKPOINT)
    assert stored is not None
    assert stored.state["events_per_second"] == {"portal-nginx": 2.0}
    body = sourced.get("/api/v1/collectors", headers=keys.header(keys.viewer)).json()
    assert body["service"]["status"] == "stale"
    assert body["service"]["queue_depth"] == 2
    assert {s["name"]: s["events_per_second"] for s in body["sources"]}["portal-nginx"] == 0.0


def test_an_unreadable_live_state_counts_as_none(
    sourced: TestClient, keys: Keys, store: SQLiteStore
) -> None:
    store.write(WriteBatch(checkpoints=[Checkpoint(LIVE_SERVICE_CHECKPOINT, {"status": 3})]))
    body = sourced.get("/api/v1/collectors", headers=keys.header(keys.viewer)).json()
    assert body["service"] == {
        "status": "unknown",
        "written_at": None,
        "started_at": None,
        "uptime_seconds": None,
        "queue_depth": None,
        "queue_capacity": None,
        "batches": None,
        "events_in": None,
        "alerts": None,
        "failed_writes": None,
    }


def test_a_scoped_key_sees_its_organizations_sources_and_no_global_figures(
    sourced: TestClient, store: SQLiteStore
) -> None:
    ServiceLiveState(FakeWorker(), store).write()
    count(
        store,
        SourceCounters("portal-nginx", received=5, parsed=5),
        SourceCounters("agent-7", received=6, parsed=6),
    )
    body = sourced.get("/api/v1/collectors", headers=scoped_key(store, ORG_YTE, ORG_UBND)).json()
    # Not the other organization's source, nor one whose organization is not configured.
    assert [s["name"] for s in body["sources"]] == ["mail-auth", "portals"]
    service = body["service"]
    assert service["status"] == "running"
    assert service["queue_depth"] == 2
    assert (service["batches"], service["events_in"], service["alerts"]) == (None, None, None)
