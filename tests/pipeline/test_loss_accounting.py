"""The pipeline counts each batch per source, in the store write that stores the batch."""

import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.correlator import Alert, Correlator, load_rules
from canhgac.events import DeadLetter, Event
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline import CollectedBatch, IngestPipeline, PipelineWorker
from canhgac.storage import SourceCounters, SQLiteStore, StoreError, WriteBatch

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
BATCH_TIME = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


class NoAlerts:
    """A correlator without correlation rules: nothing can be late for it."""

    def process(self, events: Sequence[Event]) -> list[Alert]:
        return []

    def advance(self, now: datetime) -> list[Alert]:
        return []

    def snapshot(self) -> dict[str, Any]:
        return {}


def event(n: int, minutes: float = 0) -> Event:
    return Event(f"e{n}", T0 + timedelta(minutes=minutes), {"event.original": f"line {n}"})


def letter(n: int) -> DeadLetter:
    return DeadLetter("portal", "nginx: no request line", f"garbage {n}", T0, "/x.log", n)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore.open(tmp_path / "db.sqlite3") as opened:
        yield opened


def pipeline_on(store: SQLiteStore, correlator: Any = None) -> IngestPipeline:
    return IngestPipeline(
        store,
        correlator if correlator is not None else NoAlerts(),
        IncidentGrouper(timedelta(minutes=15)),
        clock=lambda: BATCH_TIME,
    )


def test_a_batch_counts_received_parsed_dead_lettered_and_duplicates(store: SQLiteStore) -> None:
    pipeline = pipeline_on(store)
    pipeline.process(CollectedBatch("portal", [event(1), event(2, 5)], [letter(3)], lines=3))
    # e2 again (read twice), e2 repeated in the batch, one new: 3 duplicates... of 4 events
    outcome = pipeline.process(
        CollectedBatch("portal", [event(1), event(2, 5), event(2, 5), event(4, 1)], [], lines=4)
    )
    assert (outcome.events, outcome.duplicates) == (1, 3)
    (portal,) = store.source_counters().sources
    assert portal == SourceCounters(
        "portal",
        received=7,
        parsed=3,
        dead_lettered=1,
        duplicates=3,
        dropped=0,
        late=0,
        last_event=T0 + timedelta(minutes=5),
        last_batch=BATCH_TIME,
    )
    assert portal.nothing_lost
    assert store.counts().events == portal.parsed


def test_a_collector_that_does_not_count_lines_received_what_it_built(store: SQLiteStore) -> None:
    pipeline_on(store).process(CollectedBatch("evtx", [event(1)], [letter(2), letter(3)]))
    (evtx,) = store.source_counters().sources
    assert (evtx.received, evtx.parsed, evtx.dead_lettered) == (3, 1, 2)


def test_drops_a_receiver_reports_are_counted_and_break_nothing_lost(store: SQLiteStore) -> None:
    outcome = pipeline_on(store).process(
        CollectedBatch("syslog-udp", [event(1)], lines=1, dropped=12)
    )
    assert outcome.dropped == 12
    (udp,) = store.source_counters().sources
    assert (udp.received, udp.parsed, udp.dropped, udp.unaccounted) == (1, 1, 12, 0)
    assert not udp.nothing_lost


def test_packets_folded_into_one_event_are_counted_aggregated(store: SQLiteStore) -> None:
    # 12 packets: one flow's event stands for 10 of them, one packet is unreadable.
    pipeline_on(store).process(
        CollectedBatch("capture", [event(1)], [letter(2)], lines=12, aggregated=10)
    )
    (capture,) = store.source_counters().sources
    assert (capture.received, capture.parsed, capture.aggregated) == (12, 1, 10)
    assert capture.unaccounted == 0


def test_clock_ticks_and_empty_sources_add_no_source(store: SQLiteStore) -> None:
    pipeline = pipeline_on(store)
    pipeline.advance(T0 + timedelta(hours=1))
    assert store.source_counters().sources == ()


class FailingStore:
    """Refuses every write, as a full disk would."""

    def __init__(self, inner: SQLiteStore) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(self, batch: WriteBatch) -> None:
        raise StoreError("disk full")


def test_a_batch_the_store_refuses_is_not_counted(store: SQLiteStore) -> None:
    pipeline = IngestPipeline(
        FailingStore(store),
        NoAlerts(),
        IncidentGrouper(timedelta(minutes=15)),
    )
    with pytest.raises(StoreError):
        pipeline.process(CollectedBatch("portal", [event(1)], lines=1))
    assert store.source_counters().sources == ()


def test_events_older_than_every_open_correlation_window_are_counted_late(
    store: SQLiteStore,
) -> None:
    # The bundled rules' longest correlation timespan is 1 hour.
    correlator = Correlator(load_rules([], bundled=True))
    pipeline = pipeline_on(store, correlator)
    pipeline.process(CollectedBatch("portal", [event(1, 120)], lines=1))
    outcome = pipeline.process(
        CollectedBatch(
            "portal",
            [
                event(2, 61),  # 59 minutes behind the newest: still in a window
                event(3, 59),  # 61 minutes behind: too late
                event(4, 180),  # moves the watermark on
                event(5, 119),  # 61 minutes behind the new watermark: too late
                event(6, 120),  # exactly an hour behind: still counted by a window
            ],
            lines=5,
        )
    )
    assert outcome.late == 2
    (portal,) = store.source_counters().sources
    assert (portal.late, portal.parsed, portal.unaccounted) == (2, 6, 0)


def test_lateness_is_measured_from_the_watermark_restored_after_a_restart(
    store: SQLiteStore,
) -> None:
    rules = load_rules([], bundled=True)
    first = Correlator(rules)
    pipeline_on(store, first).process(CollectedBatch("portal", [event(1, 120)], lines=1))
    restarted = Correlator(rules, state=first.snapshot())
    outcome = pipeline_on(store, restarted).process(
        CollectedBatch("portal", [event(2, 30)], lines=1)
    )
    assert outcome.late == 1


def test_the_worker_reports_its_queue_and_what_it_stored(store: SQLiteStore) -> None:
    worker = PipelineWorker(pipeline_on(store), max_batches=4)
    before = worker.status()
    assert (before.queue_depth, before.queue_capacity, before.batches) == (0, 4, 0)
    worker.start()
    worker.submit(CollectedBatch("portal", [event(1)], lines=1))
    worker.stop()
    after = worker.status()
    assert (after.queue_depth, after.batches, after.failed_writes) == (0, 1, 0)


# -- the identity holds whatever a batch holds ------------------------------------------

_BATCHES = st.lists(
    st.tuples(
        st.lists(st.integers(min_value=0, max_value=30), max_size=12),  # event numbers
        st.integers(min_value=0, max_value=5),  # dead letters
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None)
@given(batches=_BATCHES)
def test_received_always_equals_parsed_plus_dead_lettered_plus_duplicates(
    batches: list[tuple[list[int], int]],
) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        SQLiteStore.open(Path(folder) / "db.sqlite3") as opened,
    ):
        pipeline = pipeline_on(opened)
        for numbers, dead in batches:
            events = [event(n, n) for n in numbers]
            letters = [letter(k) for k in range(dead)]
            pipeline.process(CollectedBatch("portal", events, letters, lines=len(events) + dead))
        (portal,) = opened.source_counters().sources
        assert portal.received == sum(len(numbers) + dead for numbers, dead in batches)
        assert portal.parsed == len({n for numbers, _ in batches for n in numbers})
        assert portal.dead_lettered == sum(dead for _, dead in batches)
        assert portal.unaccounted == 0
        assert opened.counts().events == portal.parsed
        assert opened.counts().dead_letters == portal.dead_lettered
