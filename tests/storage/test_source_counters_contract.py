"""Loss accounting in the `Store` contract: per-source counters written with each batch.

Like test_store_contract.py, the `store` fixture (conftest.py) runs each test on every
implementation; the values expected are written out by hand.
"""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from canhgac.correlator import Severity
from canhgac.events import DeadLetter
from canhgac.incidents import IncidentGrowth
from canhgac.storage import (
    ElasticsearchStore,
    SourceCounters,
    SourceCountersReport,
    Store,
    StoreError,
    WriteBatch,
)
from tests.storage.elasticsearch_node import elasticsearch_url, fresh_store
from tests.storage.records import T0, FakeClock, at, event


def test_a_new_store_has_no_sources_and_zero_totals(store: Store) -> None:
    report = store.source_counters()
    assert report.sources == ()
    assert report.totals == SourceCounters("total")
    assert report.totals.nothing_lost


def test_counters_add_up_per_source_and_in_the_totals(store: Store) -> None:
    store.write(
        WriteBatch(
            events=[event(1), event(2, minutes=3)],
            dead_letters=[DeadLetter("portal", "nginx: no request line", "garbage", T0)],
            source_counters=[
                SourceCounters(
                    "portal",
                    received=3,
                    parsed=2,
                    dead_lettered=1,
                    last_event=at(3),
                    last_batch=at(10),
                )
            ],
        )
    )
    store.write(
        WriteBatch(
            source_counters=[
                SourceCounters(
                    "portal",
                    received=4,
                    parsed=1,
                    duplicates=2,
                    dead_lettered=1,
                    late=1,
                    last_event=at(1),  # older than the stored one: the newest is kept
                    last_batch=at(11),
                ),
                SourceCounters("syslog-udp", received=5, parsed=5, dropped=7, last_batch=at(9)),
                SourceCounters("capture", received=30, parsed=2, aggregated=28),
            ]
        )
    )
    report = store.source_counters()
    assert [c.source for c in report.sources] == ["capture", "portal", "syslog-udp"]
    capture, portal, udp = report.sources
    assert capture == SourceCounters("capture", received=30, parsed=2, aggregated=28)
    assert capture.nothing_lost
    assert portal == SourceCounters(
        "portal",
        received=7,
        parsed=3,
        dead_lettered=2,
        duplicates=2,
        dropped=0,
        late=1,
        last_event=at(3),
        last_batch=at(11),
    )
    assert portal.nothing_lost
    assert udp == SourceCounters("syslog-udp", received=5, parsed=5, dropped=7, last_batch=at(9))
    assert udp.unaccounted == 0
    assert not udp.nothing_lost  # the kernel dropped 7 datagrams before they were read
    assert report.totals == SourceCounters(
        "total",
        received=42,
        parsed=10,
        dead_lettered=2,
        duplicates=2,
        aggregated=28,
        dropped=7,
        late=1,
        last_event=at(3),
        last_batch=at(11),
    )
    assert report.source("portal") == portal
    assert report.source("nope") is None


def test_counters_are_written_with_the_events_they_count(store: Store) -> None:
    store.write(
        WriteBatch(
            events=[event(1), event(2)],
            source_counters=[SourceCounters("portal", received=2, parsed=2, last_event=at(0))],
        )
    )
    assert store.counts().events == 2
    assert store.source_counters().totals.parsed == 2


def test_a_refused_batch_counts_nothing(store: Store) -> None:
    refused = WriteBatch(
        events=[event(1)],
        incident_growths=[IncidentGrowth("no-such-incident", 1, at(1), Severity.HIGH)],
        source_counters=[SourceCounters("portal", received=1, parsed=1)],
    )
    with pytest.raises(StoreError):
        store.write(refused)
    assert store.source_counters().sources == ()


def test_source_names_and_times_read_back_exactly(store: Store) -> None:
    name = "Cổng dịch vụ công / nginx"
    moment = datetime(2026, 11, 24, 1, 15, 2, 123456, tzinfo=UTC)
    store.write(
        WriteBatch(
            source_counters=[
                SourceCounters(name, received=1, dead_lettered=1, last_batch=moment),
            ]
        )
    )
    (read,) = store.source_counters().sources
    assert read.source == name
    assert read.last_batch == moment
    assert read.last_event is None
    assert read.unaccounted == 0


# -- the identity, as a user checks it ---------------------------------------------------


def test_unaccounted_is_what_was_read_but_neither_stored_nor_recognised() -> None:
    lost = SourceCounters("portal", received=10, parsed=6, dead_lettered=2, duplicates=1)
    assert lost.unaccounted == 1
    assert not lost.nothing_lost
    whole = SourceCounters("portal", received=10, parsed=6, dead_lettered=2, duplicates=2, late=4)
    assert whole.unaccounted == 0  # late events are parsed events: not a loss
    assert whole.nothing_lost


def test_a_report_sums_its_sources_and_orders_them_by_name() -> None:
    report = SourceCountersReport.of(
        [
            SourceCounters("b", received=1, parsed=1, last_event=at(5)),
            SourceCounters("a", received=2, dead_lettered=2, last_batch=at(1)),
        ]
    )
    assert [c.source for c in report.sources] == ["a", "b"]
    assert report.totals == SourceCounters(
        "total", received=3, parsed=1, dead_lettered=2, last_event=at(5), last_batch=at(1)
    )


# -- Elasticsearch: a batch sent twice is counted once -----------------------------------


@pytest.mark.integration
def test_elasticsearch_counts_a_batch_sent_twice_once(tmp_path: Path) -> None:
    clock = FakeClock()
    with fresh_store(elasticsearch_url(), tmp_path, clock) as store:
        assert isinstance(store, ElasticsearchStore)
        batch = WriteBatch(
            events=[event(1)],
            source_counters=[
                SourceCounters("portal", received=2, parsed=1, dead_lettered=1, last_event=at(0))
            ],
        )
        store.write(batch)
        assert store.flush(60)
        # What the sender does again after a kill between sending and marking it done.
        record = store._record_of(batch, clock())[0]
        store._apply([record, record])
        store._apply([record])
        (portal,) = store.source_counters().sources
        assert (portal.received, portal.parsed, portal.dead_lettered) == (4, 2, 2)
        assert portal.last_event == at(0)


def test_counter_times_in_other_zones_read_back_as_the_same_instant_in_utc(
    store: Store,
) -> None:
    hanoi = datetime(2026, 11, 24, 15, 0, tzinfo=timezone(timedelta(hours=7)))
    store.write(WriteBatch(source_counters=[SourceCounters("x", received=1, last_event=hanoi)]))
    (read,) = store.source_counters().sources
    assert read.last_event == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert read.last_event.utcoffset() == timedelta(0)
