"""The `Store` contract for scheduled detection: events by time range, alert ids.

Runs against every implementation through the `store` fixture (conftest.py), like
test_store_contract.py.
"""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canhgac.events import Event
from canhgac.storage import Store, StoreError, WriteBatch
from tests.storage.records import T0, alert, at, event

_DAYS = itertools.count(1)


def _ids(store: Store, since: datetime, until: datetime, page_size: int) -> list[list[str]]:
    return [[e.id for e in page] for page in store.event_pages(since, until, page_size)]


def test_events_of_a_range_come_oldest_first_from_its_start_up_to_its_end(store: Store) -> None:
    # Written out of order, in two batches; e0 and e5 lie on the bounds.
    store.write(WriteBatch(events=[event(3, 3), event(0, 0), event(5, 5)]))
    store.write(WriteBatch(events=[event(1, 1), event(4, 4.5), event(9, -1)]))

    pages = _ids(store, at(0), at(5), 1000)

    assert pages == [["e0", "e1", "e3", "e4"]]


def test_pages_hold_at_most_the_page_size_and_together_every_event_once(store: Store) -> None:
    # Twelve events, several sharing one timestamp: the keyset must not skip or repeat ties.
    events = [event(n, n // 3) for n in range(12)]
    store.write(WriteBatch(events=events))

    pages = _ids(store, at(0), at(10), 5)

    assert [len(page) for page in pages] == [5, 5, 2]
    flat = [event_id for page in pages for event_id in page]
    assert sorted(flat) == sorted(e.id for e in events)
    times = [e.timestamp for page in store.event_pages(at(0), at(10), 5) for e in page]
    assert times == sorted(times)


def test_a_page_size_dividing_the_count_ends_without_an_empty_page(store: Store) -> None:
    store.write(WriteBatch(events=[event(n, n) for n in range(4)]))

    assert _ids(store, at(0), at(10), 2) == [["e0", "e1"], ["e2", "e3"]]


def test_an_empty_range_or_an_empty_store_gives_no_page(store: Store) -> None:
    assert _ids(store, at(0), at(10), 10) == []
    store.write(WriteBatch(events=[event(1, 1)]))
    assert _ids(store, at(2), at(10), 10) == []


def test_events_read_by_range_are_the_events_written(store: Store) -> None:
    written = Event(
        "e-full",
        datetime(2026, 11, 24, 8, 15, 2, 123000, tzinfo=UTC),
        {"event.dataset": "nginx.access", "source.ip": "203.113.131.5", "labels.note": "x"},
    )
    store.write(WriteBatch(events=[written]))

    (page,) = store.event_pages(T0, T0 + timedelta(hours=1))

    assert page == [written]


def test_a_page_size_below_one_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="page size"):
        list(store.event_pages(at(0), at(1), 0))


def test_known_alert_ids_are_those_stored(store: Store) -> None:
    store.write(WriteBatch(events=[event(1), event(2)], alerts=[alert(1), alert(2)]))

    assert store.known_alert_ids(["a2", "a9", "a1"]) == {"a1", "a2"}
    assert store.known_alert_ids([]) == set()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=40), max_size=30),
    page_size=st.integers(min_value=1, max_value=7),
    bounds=st.tuples(st.integers(0, 40), st.integers(0, 41)),
)
def test_paging_gives_each_event_of_the_range_once_in_time_order(
    store: Store, offsets: list[int], page_size: int, bounds: tuple[int, int]
) -> None:
    # Each example on a day of its own: the store keeps the earlier examples' events.
    day = T0 + timedelta(days=next(_DAYS))
    events = [
        Event(f"{day.date()}-{n}", day + timedelta(seconds=offset), {"event.dataset": "x"})
        for n, offset in enumerate(offsets)
    ]
    if events:
        store.write(WriteBatch(events=events))
    low, high = (day + timedelta(seconds=b) for b in bounds)

    pages = list(store.event_pages(low, high, page_size))

    read = [event for page in pages for event in page]
    assert all(0 < len(page) <= page_size for page in pages)
    assert sorted(e.id for e in read) == sorted(e.id for e in events if low <= e.timestamp < high)
    assert [e.timestamp for e in read] == sorted(e.timestamp for e in read)
