"""Faults on real clusters of the tests' own (scripts/elasticsearch, its own state and
ports): a node stopped in the middle of an ingest, and one node of three killed."""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from canhgac.api import create_app, generate_api_key
from canhgac.config import Settings
from canhgac.events import Event
from canhgac.storage import Checkpoint, ElasticsearchStore, Role, WriteBatch
from tests.storage.elasticsearch_node import ScriptedCluster, scripted_cluster
from tests.storage.records import incident

pytestmark = [pytest.mark.integration, pytest.mark.slow]

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
BATCHES = 120
PER_BATCH = 250


def batch(n: int) -> WriteBatch:
    """Batch n of an nginx log: its events (ids unique over the ingest) and checkpoint."""
    events = [
        Event(
            f"b{n}-{k}",
            T0 + timedelta(seconds=n * PER_BATCH + k),
            {
                "event.dataset": "nginx.access",
                "source.ip": f"203.113.{n % 250}.{k % 250}",
                "http.response.status_code": 200 + k % 3,
                "event.original": f"line {n * PER_BATCH + k}",
            },
        )
        for k in range(PER_BATCH)
    ]
    return WriteBatch(events=events, checkpoints=[Checkpoint("nginx-portal", {"batch": n})])


class Ingest:
    """Writes BATCHES batches from a thread, as the pipeline does; `written` counts them.

    It stops after `pause_after` batches until `resume` is set, so that the test's fault
    lands in the middle of the ingest however fast or slow the machine is.
    """

    def __init__(self, store: ElasticsearchStore, pause_after: int) -> None:
        self.store = store
        self.pause_after = pause_after
        self.paused = threading.Event()
        self.resume = threading.Event()
        self.written = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        try:
            for n in range(BATCHES):
                if n == self.pause_after:
                    self.paused.set()
                    assert self.resume.wait(timeout=300), "the test never resumed the ingest"
                self.store.write(batch(n))
                self.written = n + 1
                time.sleep(0.02)
        except BaseException as exc:  # re-raised in the test by `join`
            self.error = exc
            raise

    def pause(self) -> None:
        """Wait until the ingest stopped after `pause_after` batches."""
        assert self.paused.wait(timeout=120), f"only {self.written} batches written"

    def wait_for(self, written: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.written < written and self.thread.is_alive():
            assert time.monotonic() < deadline, f"only {self.written} batches written"
            time.sleep(0.05)

    def join(self) -> None:
        self.thread.join(timeout=300)
        if self.error is not None:
            raise self.error
        assert self.written == BATCHES


def assert_everything_arrived_once(url: str, store: ElasticsearchStore) -> None:
    assert store.flush(timeout=180), f"{store.spooled_batches} batch(es) still spooled"
    assert store.counts().events == BATCHES * PER_BATCH
    wanted = [f"b{n}-{k}" for n in range(BATCHES) for k in range(PER_BATCH)]
    assert store.known_event_ids(wanted) == set(wanted)
    # All ids stored and no more documents than ids: each event once.
    with Elasticsearch(url.split(","), request_timeout=60) as es:
        es.indices.refresh(index=f"{store.prefix}-events")
        assert es.count(index=f"{store.prefix}-events")["count"] == BATCHES * PER_BATCH
    assert store.checkpoint("nginx-portal") == Checkpoint("nginx-portal", {"batch": BATCHES - 1})


@pytest.fixture
def single_node(tmp_path: Path) -> Iterator[ScriptedCluster]:
    with scripted_cluster(tmp_path / "es-single", nodes=1, first_port=9610) as cluster:
        yield cluster


@pytest.fixture
def three_nodes(tmp_path: Path) -> Iterator[ScriptedCluster]:
    with scripted_cluster(tmp_path / "es-three", nodes=3, first_port=9620) as cluster:
        yield cluster


@pytest.mark.timeout(600)
def test_a_node_stopped_mid_ingest_and_started_again_loses_and_doubles_nothing(
    single_node: ScriptedCluster, tmp_path: Path
) -> None:
    with ElasticsearchStore.open(single_node.url, spool_dir=tmp_path / "spool") as store:
        ingest = Ingest(store, pause_after=20)
        ingest.thread.start()
        ingest.pause()
        single_node.stop_node(1)
        ingest.resume.set()
        # The ingest goes on into the spool while the node is down.
        ingest.wait_for(20 + 30)
        assert store.spooled_batches > 0
        single_node.start_node(1)
        ingest.join()
        assert_everything_arrived_once(single_node.url, store)


def _primary_node(url: str, index_pattern: str) -> int:
    """The number (1..3) of the node holding the primary shard of the indices, once
    their replicas are in sync (the cluster is green)."""
    with Elasticsearch(url.split(","), request_timeout=90) as es:
        health = es.cluster.health(index=index_pattern, wait_for_status="green", timeout="60s")
        assert health["status"] == "green", health
        shards = es.search_shards(index=index_pattern)
    names = [
        shards["nodes"][copy["node"]]["name"]
        for group in shards["shards"]
        for copy in group
        if copy["primary"]
    ]
    assert names, f"no primary shard of {index_pattern}"
    return int(names[0].removeprefix("node-"))


@pytest.mark.timeout(600)
def test_a_node_of_three_killed_mid_ingest_loses_nothing_and_the_api_answers(
    three_nodes: ScriptedCluster, tmp_path: Path
) -> None:
    store = ElasticsearchStore.open(three_nodes.url, spool_dir=tmp_path / "spool", replicas=1)
    key, record = generate_api_key("soc", Role.VIEWER)
    store.add_api_key(record)
    store.write(WriteBatch(new_incidents=[incident("a")]))
    answers: list[int] = []
    stop = threading.Event()

    def ask(get: Callable[[], int]) -> None:
        while not stop.is_set():
            answers.append(get())
            time.sleep(0.2)

    with TestClient(create_app(store, Settings())) as api:
        asker = threading.Thread(
            target=ask,
            args=(
                lambda: (
                    api.get(
                        "/api/v1/incidents", headers={"Authorization": f"Bearer {key}"}
                    ).status_code
                ),
            ),
        )
        try:
            # The day's index exists, its replica in sync, before the ingest starts
            # (whose first batch is then written a second time: stored once).
            store.write(batch(0))
            assert store.flush(timeout=60)
            victim = _primary_node(three_nodes.url, f"{store.prefix}-events-*")
            ingest = Ingest(store, pause_after=20)
            ingest.thread.start()
            asker.start()
            ingest.pause()
            three_nodes.stop_node(victim, kill=True)
            ingest.resume.set()
            ingest.join()
            assert_everything_arrived_once(three_nodes.url, store)
        finally:
            stop.set()
            if asker.is_alive():
                asker.join()
            store.close()
    assert len(answers) > 10
    assert set(answers) == {200}, f"answers while a node died: {sorted(set(answers))}"
