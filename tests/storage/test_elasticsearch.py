"""What only the Elasticsearch store promises, against a real node (CANHGAC_TEST_ES_URL):
ECS mappings, daily indices behind an alias, optimistic concurrency, rejected documents
dead-lettered, the spool that survives an unreachable cluster, retention."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from canhgac.collectors import FileReader, SourceLabels
from canhgac.config import Settings
from canhgac.correlator import Severity
from canhgac.events import Event
from canhgac.incidents import (
    GroupKey,
    IncidentGrouper,
    IncidentGrowth,
    IncidentRef,
    IncidentStatus,
    IncidentUpdate,
)
from canhgac.pipeline import IngestPipeline
from canhgac.service import build_correlator
from canhgac.storage import (
    Checkpoint,
    ElasticsearchStore,
    IncidentQuery,
    SQLiteStore,
    Store,
    StoreCounts,
    StoreError,
    WriteBatch,
)
from tests.storage.elasticsearch_node import (
    FaultyProxy,
    delete_prefix,
    elasticsearch_url,
    fresh_store,
    new_prefix,
)
from tests.storage.records import FakeClock, alert, at, event, incident

pytestmark = pytest.mark.integration

SQLI_KEY = GroupKey("r-sqli", "source.ip", "203.113.131.5", "So TTTT")
SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples"


@pytest.fixture
def url() -> str:
    return elasticsearch_url()


@pytest.fixture
def es(url: str) -> Iterator[Elasticsearch]:
    """A plain client, as an operator's tool (Kibana, curl) would see the indices."""
    with Elasticsearch(url.split(","), request_timeout=60) as client:
        yield client


@pytest.fixture
def es_store(url: str, tmp_path: Path, clock: FakeClock) -> Iterator[ElasticsearchStore]:
    with fresh_store(url, tmp_path, clock) as opened:
        yield opened


def hits(es: Elasticsearch, index: str, query: dict[str, Any]) -> list[str]:
    es.indices.refresh(index=index)
    response = es.search(index=index, query=query, size=100, source=False)
    return sorted(hit["_id"] for hit in response["hits"]["hits"])


# -- mappings and indices ----------------------------------------------------------------


def test_event_fields_are_searchable_with_their_ecs_types(
    es_store: ElasticsearchStore, es: Elasticsearch
) -> None:
    es_store.write(
        WriteBatch(
            events=[
                event(
                    1,
                    0,
                    source__ip="203.113.131.5",
                    http__response__status_code=403,
                    url__original="/cong-dich-vu?q=UNION SELECT password",
                    labels__system="Cổng dịch vụ công",
                    vendor__score=7,
                ),
                event(2, 30, source__ip="10.10.1.4", http__response__status_code=200),
                event(3, 60, source__ip="not an address", http__response__status_code="n/a"),
            ]
        )
    )
    assert es_store.flush()
    events = f"{es_store.prefix}-events"
    assert hits(es, events, {"term": {"source.ip": "203.113.131.0/24"}}) == ["e1"]
    assert hits(es, events, {"range": {"http.response.status_code": {"gte": 400}}}) == ["e1"]
    assert hits(es, events, {"match": {"url.original.text": "union"}}) == ["e1"]
    assert hits(es, events, {"term": {"labels.system": "Cổng dịch vụ công"}}) == ["e1"]
    assert hits(es, events, {"range": {"@timestamp": {"gte": "2026-11-24T08:20:00Z"}}}) == [
        "e2",
        "e3",
    ]
    # Not mapped: kept, not indexed.
    assert hits(es, events, {"term": {"vendor.score": 7}}) == []
    assert es_store.get_events(["e1"])[0].fields["vendor.score"] == 7
    # A malformed value costs its field's index entry, never the event.
    (third,) = es_store.get_events(["e3"])
    assert third.fields["source.ip"] == "not an address"


def test_events_go_to_the_index_of_their_utc_day_behind_one_alias(
    es_store: ElasticsearchStore, es: Elasticsearch
) -> None:
    first = Event("d1", datetime(2026, 11, 23, 23, 59, tzinfo=UTC), {"event.kind": "event"})
    second = Event("d2", datetime(2026, 11, 24, 0, 1, tzinfo=UTC), {"event.kind": "event"})
    es_store.write(WriteBatch(events=[first, second]))
    assert es_store.flush()
    prefix = es_store.prefix
    aliases = es.indices.get_alias(name=f"{prefix}-events")
    assert sorted(aliases.body) == [f"{prefix}-events-2026.11.23", f"{prefix}-events-2026.11.24"]
    assert hits(es, f"{prefix}-events-2026.11.24", {"match_all": {}}) == ["d2"]
    assert es_store.get_events(["d2", "d1"]) == [second, first]


def test_incidents_and_alerts_have_their_own_indices_with_keyword_fields(
    es_store: ElasticsearchStore, es: Elasticsearch
) -> None:
    es_store.write(
        WriteBatch(
            alerts=[alert(1)], alert_incidents={"a1": "inc-a"}, new_incidents=[incident("a")]
        )
    )
    assert es_store.flush()
    prefix = es_store.prefix
    assert hits(es, f"{prefix}-incidents", {"term": {"organization": "So TTTT"}}) == ["inc-a"]
    assert hits(es, f"{prefix}-alerts", {"term": {"incident_id": "inc-a"}}) == ["a1"]


# -- analysts and growths at the same time -----------------------------------------------


def test_analysts_updating_one_incident_at_once_lose_no_update(
    es_store: ElasticsearchStore,
) -> None:
    es_store.write(WriteBatch(new_incidents=[incident("a")]))
    analysts = [f"analyst-{n}" for n in range(8)]
    start = threading.Barrier(len(analysts))

    def assign(name: str) -> None:
        start.wait()
        es_store.update_incident("inc-a", IncidentUpdate(assignee=name), actor=name)

    with ThreadPoolExecutor(len(analysts)) as pool:
        for finished in [pool.submit(assign, name) for name in analysts]:
            finished.result()  # an analyst's failure fails the test

    history = es_store.incident_history("inc-a")
    assert sorted(entry.new_value or "" for entry in history) == analysts
    # Each change records the value it replaced: the changes form one chain.
    assert [entry.old_value for entry in history] == [None] + [e.new_value for e in history[:-1]]
    stored = es_store.get_incident("inc-a")
    assert stored is not None
    assert stored.assignee == history[-1].new_value


def test_growths_and_an_analysts_change_at_once_keep_both(
    es_store: ElasticsearchStore,
) -> None:
    es_store.write(WriteBatch(new_incidents=[incident("a", alert_count=1)]))
    done = threading.Event()

    def grow() -> None:
        for n in range(20):
            growth = IncidentGrowth("inc-a", 1, at(1 + n), Severity.HIGH)
            es_store.write(WriteBatch(incident_growths=[growth]))
        done.set()

    grower = threading.Thread(target=grow)
    grower.start()
    es_store.update_incident(
        "inc-a", IncidentUpdate(status=IncidentStatus.ACKNOWLEDGED, assignee="lan"), actor="lan"
    )
    grower.join()
    assert done.is_set()
    assert es_store.flush()
    stored = es_store.get_incident("inc-a")
    assert stored is not None
    assert (stored.alert_count, stored.last_seen) == (21, at(20))
    assert (stored.status, stored.assignee) == (IncidentStatus.ACKNOWLEDGED, "lan")


# -- nothing dropped ---------------------------------------------------------------------


def test_documents_refused_for_good_become_dead_letters_holding_the_document(
    es_store: ElasticsearchStore, es: Elasticsearch
) -> None:
    # Someone made the day's index by hand, with source.ip a number that must parse.
    es.indices.create(
        index=f"{es_store.prefix}-events-2026.11.24",
        mappings={
            "properties": {
                "source": {"properties": {"ip": {"type": "long", "ignore_malformed": False}}}
            }
        },
    )
    refused = event(1, 0, source__ip="203.113.131.5")
    kept = Event("e2", datetime(2026, 11, 25, 9, 0, tzinfo=UTC), {"event.kind": "event"})
    es_store.write(WriteBatch(events=[refused, kept]))
    assert es_store.flush()

    assert es_store.get_events(["e1", "e2"]) == [kept]
    (letter,) = es_store.dead_letters()
    assert letter.source == "elasticsearch"
    assert "e1" in letter.reason
    assert "document_parsing_exception" in letter.reason
    assert '"source.ip":"203.113.131.5"' in letter.raw
    assert es_store.counts() == StoreCounts(1, 0, 0, 0, 1)


def test_a_batch_cut_off_midway_is_completed_once(url: str, tmp_path: Path) -> None:
    with FaultyProxy(url) as proxy, fresh_store(proxy.url, tmp_path) as store:
        store.write(
            WriteBatch(
                new_incidents=[incident("a", alert_count=1)],
                alerts=[alert(1)],
                alert_incidents={"a1": "inc-a"},
            )
        )
        assert store.flush()
        # The node "dies" on every request carrying events: the growth and the alert of
        # the batch are written, its events and checkpoint are not.
        proxy.drop = lambda method, path, body: b"-events-" in body
        store.write(
            WriteBatch(
                events=[event(2, 5), event(3, 6)],
                alerts=[alert(2, 5)],
                alert_incidents={"a2": "inc-a"},
                incident_growths=[IncidentGrowth("inc-a", 1, at(6), Severity.CRITICAL)],
                checkpoints=[Checkpoint("nginx-portal", {"offset": 300})],
            )
        )
        assert not store.flush(timeout=3)
        assert proxy.dropped > 0
        assert store.spooled_batches == 1
        # The ingest side knows what it handed over, even before the cluster has it.
        assert store.known_event_ids(["e2", "e3", "e4"]) == {"e2", "e3"}
        assert store.checkpoint("nginx-portal") == Checkpoint("nginx-portal", {"offset": 300})

        proxy.drop = lambda method, path, body: False
        assert store.flush(timeout=60)
        assert store.spooled_batches == 0
        stored = store.get_incident("inc-a")
        assert stored is not None
        assert (stored.alert_count, stored.severity) == (2, Severity.CRITICAL)
        assert [a.id for a in store.incident_alerts("inc-a")] == ["a1", "a2"]
        assert store.counts() == StoreCounts(2, 2, 1, 1, 0)


def test_what_an_unreachable_cluster_left_spooled_the_next_store_sends(
    url: str, tmp_path: Path
) -> None:
    prefix = new_prefix()
    spool = tmp_path / "spool"
    try:
        with FaultyProxy(url) as proxy:
            store = ElasticsearchStore.open(proxy.url, spool_dir=spool, index_prefix=prefix)
            proxy.drop = lambda method, path, body: True
            for n in range(5):
                store.write(
                    WriteBatch(
                        events=[event(10 * n + k, n) for k in range(10)],
                        checkpoints=[Checkpoint("auth", {"offset": n})],
                    )
                )
            # Lookups answer from what was handed over while the cluster is away.
            assert store.known_event_ids(["e0", "e49", "e50"]) == {"e0", "e49"}
            assert store.checkpoint("auth") == Checkpoint("auth", {"offset": 4})
            with pytest.raises(StoreError):
                store.counts()
            assert store.spooled_batches == 5
            store.close()

        with ElasticsearchStore.open(url, spool_dir=spool, index_prefix=prefix) as reopened:
            assert reopened.flush(timeout=60)
            assert reopened.counts().events == 50
            assert reopened.known_event_ids([f"e{n}" for n in range(50)]) == {
                f"e{n}" for n in range(50)
            }
            assert reopened.checkpoint("auth") == Checkpoint("auth", {"offset": 4})
    finally:
        delete_prefix(url, prefix)


def test_open_incidents_answer_from_the_spool_while_the_cluster_is_away(
    url: str, tmp_path: Path, clock: FakeClock
) -> None:
    with FaultyProxy(url) as proxy, fresh_store(proxy.url, tmp_path, clock) as store:
        store.write(WriteBatch(new_incidents=[incident("a", first=0, last=10)]))
        assert store.flush()
        proxy.drop = lambda method, path, body: True
        store.write(
            WriteBatch(incident_growths=[IncidentGrowth("inc-a", 2, at(12), Severity.HIGH)])
        )
        assert store.open_incidents([SQLI_KEY], since=at(5)) == {
            SQLI_KEY: IncidentRef("inc-a", at(12), Severity.HIGH)
        }
        proxy.drop = lambda method, path, body: False
        assert store.flush(timeout=60)
        stored = store.get_incident("inc-a")
        assert stored is not None
        assert stored.alert_count == 3


def test_one_spool_folder_serves_one_store(url: str, tmp_path: Path) -> None:
    with fresh_store(url, tmp_path), pytest.raises(StoreError, match="in use by another"):
        ElasticsearchStore.open(url, spool_dir=tmp_path / "spool", index_prefix=new_prefix())


def test_an_unreachable_cluster_at_open_is_named_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:9.*cannot reach Elasticsearch"):
        ElasticsearchStore.open(
            "http://127.0.0.1:9", spool_dir=tmp_path / "spool", request_timeout=2
        )


# -- retention ---------------------------------------------------------------------------


def test_retention_deletes_only_event_indices_older_than_the_kept_days(
    url: str, tmp_path: Path, es: Elasticsearch
) -> None:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    days = {"old": 8, "edge": 7, "recent": 3, "today": 0}
    events = [
        Event(name, now - timedelta(days=back), {"event.kind": "event"})
        for name, back in days.items()
    ]
    with fresh_store(url, tmp_path, lambda: now, retention_days=7) as store:
        store.write(WriteBatch(events=events, new_incidents=[incident("a")]))
        assert store.flush()
        store.maintain()
        assert [e.id for e in store.get_events(list(days))] == ["edge", "recent", "today"]
        remaining = sorted(
            entry["name"] for entry in es.indices.resolve_index(name=f"{store.prefix}-*")["indices"]
        )
        assert f"{store.prefix}-events-2026.11.16" not in remaining
        assert f"{store.prefix}-events-2026.11.17" in remaining
        assert f"{store.prefix}-incidents" in remaining
        assert store.get_incident("inc-a") is not None


# -- the whole ingest, on both stores ------------------------------------------------------


def ingest_samples(store: Store) -> None:
    """The bundled provincial logs through the collectors, correlator and grouper, as
    `canhgac ingest` runs them, twice (the second time, nothing is new)."""
    settings = Settings()
    for _ in range(2):
        pipeline = IngestPipeline(
            store, build_correlator(settings, store), IncidentGrouper(settings.incidents.window)
        )
        for name in ("portal-access.log", "auth.log"):
            labels = SourceLabels("samples", "Cổng dịch vụ công", "Sở KH&CN")
            with FileReader(
                SAMPLES / name, format="auto", labels=labels, timezone=settings.zone, batch_lines=50
            ) as reader:
                for step in reader.batches():
                    pipeline.process(step.batch)


def incident_summary(store: Store) -> list[tuple[object, ...]]:
    page = store.list_incidents(IncidentQuery(limit=500))
    return sorted(
        (
            i.rule_id,
            i.entity_field,
            i.entity_value,
            i.severity,
            i.status,
            i.alert_count,
            i.first_seen,
            i.last_seen,
            len(store.incident_alerts(i.id)),
        )
        for i in page.items
    )


def test_the_sample_logs_give_the_same_incidents_on_sqlite_and_elasticsearch(
    es_store: ElasticsearchStore, tmp_path: Path
) -> None:
    with SQLiteStore.open(tmp_path / "canhgac.sqlite3") as sqlite:
        ingest_samples(sqlite)
        ingest_samples(es_store)
        assert es_store.counts() == sqlite.counts()
        assert es_store.counts().incidents > 0
        assert incident_summary(es_store) == incident_summary(sqlite)
        assert letters(es_store) == letters(sqlite)


def letters(store: Store) -> list[tuple[object, ...]]:
    """The dead letters, but for when they were read (the wall clock of each run)."""
    return sorted((d.source, d.reason, d.raw, d.path, d.line_number) for d in store.dead_letters())
