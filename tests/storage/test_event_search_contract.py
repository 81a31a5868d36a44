"""Event search in the `Store` contract: filters, free text, time range, scope, keyset pages.

Like test_store_contract.py, the `store` fixture (conftest.py) runs each test on every
implementation (Elasticsearch with CANHGAC_TEST_ES_URL); the expected ids are written
out by hand.
"""

from datetime import timedelta

import pytest

from canhgac.events import Event
from canhgac.storage import (
    ElasticsearchStore,
    EventFilter,
    EventQuery,
    EventQueryError,
    InvalidCursorError,
    SQLiteStore,
    Store,
    StoreError,
    WriteBatch,
)
from tests.storage.records import T0, at, event

TTTT = "Sở TT&TT"
YTE = "Sở Y tế"

# e1..e6, minutes after T0; e4 and e5 share one instant.
EVENTS = [
    event(
        1,
        minutes=1,
        source__ip="203.113.131.5",
        organization__name=TTTT,
        labels__system="dichvucong",
        message="GET /index.php?id=1 UNION SELECT password",
        user__name="admin",
    ),
    event(
        2,
        minutes=2,
        source__ip="14.160.2.9",
        organization__name=YTE,
        labels__system="mail",
        message="Failed password for root from 14.160.2.9",
        user__name="root",
        event__dataset="system.auth",
    ),
    event(
        3,
        minutes=3,
        source__ip="203.113.131.5",
        organization__name=TTTT,
        labels__system="dichvucong",
        message="GET /tin-tuc HTTP/1.1",
        related__ip=("203.113.131.5", "10.0.0.8"),
    ),
    event(
        4,
        minutes=4,
        source__ip="45.76.1.1",
        labels__system="egov",
        message="Accepted password for administrator",
        user__name="administrator",
    ),
    event(
        5,
        minutes=4,
        source__ip="45.76.1.2",
        organization__name=YTE,
        labels__system="egov",
        message="session opened for user admin2",
        user__name="admin2",
    ),
    event(
        6,
        minutes=6,
        source__ip="10.0.0.8",
        organization__name=TTTT,
        labels__system="dichvucong",
        message="union select in the admin panel",
    ),
]


def ids(events: list[Event] | tuple[Event, ...] | object) -> list[str]:
    assert isinstance(events, list | tuple)
    return [e.id for e in events]


def search(store: Store, **query: object) -> list[str]:
    """The ids of every page of the search, walking cursors to the end."""
    found: list[str] = []
    cursor: str | None = None
    while True:
        page = store.search_events(EventQuery(**query, cursor=cursor))  # type: ignore[arg-type]
        found.extend(ids(page.items))
        assert page.total == len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


@pytest.fixture
def stored(store: Store) -> Store:
    store.write(WriteBatch(events=EVENTS))
    return store


SINCE = T0 - timedelta(days=1)


def test_events_come_newest_first_ties_by_id_descending(stored: Store) -> None:
    assert search(stored) == ["e6", "e5", "e4", "e3", "e2", "e1"]


def test_events_read_back_whole(stored: Store) -> None:
    page = stored.search_events(EventQuery(limit=6))
    assert sorted(page.items, key=lambda e: e.id) == EVENTS


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6])
def test_pages_walk_every_event_exactly_once(stored: Store, limit: int) -> None:
    assert search(stored, limit=limit) == ["e6", "e5", "e4", "e3", "e2", "e1"]


def test_a_page_exactly_filled_has_no_next_cursor(stored: Store) -> None:
    page = stored.search_events(EventQuery(limit=6))
    assert len(page.items) == 6
    assert page.next_cursor is None


def test_many_events_of_one_instant_are_paged_without_repeats_or_gaps(store: Store) -> None:
    same = [event(n, minutes=10) for n in range(10, 40)]
    store.write(WriteBatch(events=[*same, event(1, minutes=9), event(2, minutes=11)]))
    expected = ["e2", *sorted((f"e{n}" for n in range(10, 40)), reverse=True), "e1"]
    assert search(store, limit=7) == expected
    assert search(store, limit=1) == expected


def test_time_range_is_since_inclusive_until_exclusive(stored: Store) -> None:
    assert search(stored, since=at(2), until=at(4)) == ["e3", "e2"]
    assert search(stored, since=at(4)) == ["e6", "e5", "e4"]
    assert search(stored, until=at(1)) == []


def test_microseconds_count_at_the_bounds(store: Store) -> None:
    close = [
        Event("m1", T0 + timedelta(microseconds=100), {"message": "a"}),
        Event("m2", T0 + timedelta(microseconds=700), {"message": "b"}),
    ]
    store.write(WriteBatch(events=close))
    middle = T0 + timedelta(microseconds=400)
    assert search(store, since=middle) == ["m2"]
    assert search(store, until=middle) == ["m1"]
    assert search(store, limit=1) == ["m2", "m1"]


def test_an_exact_filter_matches_the_whole_value(stored: Store) -> None:
    only = [EventFilter("source.ip", "203.113.131.5")]
    assert search(stored, filters=only, since=SINCE) == ["e3", "e1"]
    assert search(stored, filters=[EventFilter("user.name", "admin")], since=SINCE) == ["e1"]


def test_a_filter_matches_any_value_of_a_list(stored: Store) -> None:
    assert search(stored, filters=[EventFilter("related.ip", "10.0.0.8")], since=SINCE) == ["e3"]


def test_a_prefix_filter_matches_the_start_case_sensitively(stored: Store) -> None:
    admins = [EventFilter("user.name", "admin", prefix=True)]
    assert search(stored, filters=admins, since=SINCE) == ["e5", "e4", "e1"]
    assert search(stored, filters=[EventFilter("user.name", "Admin", True)], since=SINCE) == []


def test_every_filter_must_hold(stored: Store) -> None:
    both = [EventFilter("labels.system", "egov"), EventFilter("organization.name", YTE)]
    assert search(stored, filters=both, since=SINCE) == ["e5"]
    datasets = [EventFilter("event.dataset", "system.auth")]
    assert search(stored, filters=datasets, since=SINCE) == ["e2"]


def test_free_text_needs_every_word_in_the_message(stored: Store) -> None:
    assert search(stored, text="union SELECT", since=SINCE) == ["e6", "e1"]
    assert search(stored, text="password", since=SINCE) == ["e4", "e2", "e1"]
    assert search(stored, text="password root", since=SINCE) == ["e2"]
    assert search(stored, text="nowhere", since=SINCE) == []


def test_text_and_filters_and_range_combine(stored: Store) -> None:
    found = search(
        stored,
        text="password",
        filters=[EventFilter("labels.system", "dichvucong")],
        since=SINCE,
        until=at(3),
    )
    assert found == ["e1"]


def test_a_scope_keeps_its_organizations_events_only(stored: Store) -> None:
    assert search(stored, scope=(YTE,)) == ["e5", "e2"]
    assert search(stored, scope=(TTTT, YTE)) == ["e6", "e5", "e3", "e2", "e1"]
    # An event without an organization is no scoped key's.
    assert "e4" not in search(stored, scope=(TTTT, YTE))
    # The scope holds whatever the filters ask for.
    other = [EventFilter("organization.name", YTE)]
    assert search(stored, scope=(TTTT,), filters=other, since=SINCE) == []


def test_values_with_like_wildcards_match_literally(store: Store) -> None:
    store.write(
        WriteBatch(
            events=[
                event(1, user__name="a_b", message="100% sure"),
                event(2, minutes=1, user__name="axb", message="1000 sure"),
            ]
        )
    )
    assert search(store, filters=[EventFilter("user.name", "a_", True)], since=SINCE) == ["e1"]
    assert search(store, text="100%", since=SINCE) == ["e1"]


@pytest.mark.parametrize("cursor", ["nonsense", "", "eyJ4IjoxfQ"])
def test_a_cursor_not_taken_from_a_page_is_refused(stored: Store, cursor: str) -> None:
    with pytest.raises(InvalidCursorError, match="cursor"):
        stored.search_events(EventQuery(cursor=cursor))


@pytest.mark.parametrize("limit", [0, 1001])
def test_a_page_size_out_of_range_is_refused(stored: Store, limit: int) -> None:
    with pytest.raises(StoreError, match="page size"):
        stored.search_events(EventQuery(limit=limit))


@pytest.mark.parametrize("name", ['message"', "a b", "", "$.x", "x'--"])
def test_a_field_name_that_is_not_one_is_refused(stored: Store, name: str) -> None:
    with pytest.raises(EventQueryError, match="field"):
        stored.search_events(EventQuery(filters=[EventFilter(name, "x")], since=SINCE))


def test_an_empty_store_finds_nothing(store: Store) -> None:
    page = store.search_events(EventQuery(text="anything", since=SINCE))
    assert page.items == []
    assert page.next_cursor is None


# -- what differs between the stores, each said in its error -----------------------------


def test_sqlite_needs_since_to_search_by_field_or_text(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write(WriteBatch(events=EVENTS))
    for query in (
        EventQuery(text="password"),
        EventQuery(filters=[EventFilter("user.name", "root")], until=at(10)),
    ):
        with pytest.raises(EventQueryError, match="needs `since`"):
            sqlite_store.search_events(query)
    # A plain listing (and a scope) walks the time index: no bound needed.
    assert len(sqlite_store.search_events(EventQuery(scope=(YTE,))).items) == 2


def test_sqlite_filters_any_stored_field_as_text(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write(
        WriteBatch(events=[event(1, http__response__status_code=404, custom__field="x")])
    )
    for condition in (
        EventFilter("http.response.status_code", "404"),
        EventFilter("custom.field", "x"),
        EventFilter("event.original", "line", prefix=True),
    ):
        assert search(sqlite_store, filters=[condition], since=SINCE) == ["e1"]


def test_elasticsearch_refuses_fields_it_does_not_index(store: Store) -> None:
    if not isinstance(store, ElasticsearchStore):
        pytest.skip("Elasticsearch's mapping only")
    store.write(WriteBatch(events=[event(1, http__response__status_code=404)]))
    for condition, reason in (
        (EventFilter("custom.field", "x"), "does not index"),
        (EventFilter("message", "x"), "free text"),
        (EventFilter("event.original", "x"), "free text"),
        (EventFilter("source.ip", "10.", prefix=True), "exact values only"),
        (EventFilter("source.ip", "not-an-ip"), "not one"),
    ):
        with pytest.raises(EventQueryError, match=reason):
            store.search_events(EventQuery(filters=[condition], since=SINCE))
    found = search(store, filters=[EventFilter("http.response.status_code", "404")], since=SINCE)
    assert found == ["e1"]
