"""The `Store` contract: what every implementation must do, checked through the protocol.

Nothing here may depend on one implementation; the `store` fixture (conftest.py) runs
each test against all of them.
"""

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canhgac.correlator import Severity
from canhgac.events import DeadLetter, Event, FieldValue
from canhgac.incidents import (
    AuditEntry,
    GroupKey,
    Incident,
    IncidentGrowth,
    IncidentRef,
    IncidentStatus,
    IncidentUpdate,
)
from canhgac.storage import (
    ApiKeyRecord,
    Checkpoint,
    IncidentNotFoundError,
    IncidentQuery,
    InvalidCursorError,
    Role,
    Store,
    StoreCounts,
    StoreError,
    WriteBatch,
)
from tests.storage.records import T0, FakeClock, alert, at, event, incident

SQLI_KEY = GroupKey("r-sqli", "source.ip", "203.113.131.5", "So TTTT")


# -- events -------------------------------------------------------------------------


def test_events_read_back_with_every_field_tuple_and_timestamp_intact(store: Store) -> None:
    first = Event(
        id="e1",
        timestamp=datetime(2026, 11, 24, 1, 15, 2, 123456, tzinfo=UTC),
        fields={
            "event.original": 'GET /cong-dich-vu?q=Nguyễn Văn Ánh "đăng nhập" HTTP/1.1',
            "user.name": "nguyễn.văn.ánh",
            "http.response.status_code": 403,
            "http.response.body.bytes": 0,
            "event.risk_score": 7.25,
            "tls.established": False,
            "related.ip": ("203.113.131.5", "10.10.1.4"),
            "related.hosts": (),
            "labels.note": None,
        },
    )
    second = event(2, 5, source__ip="10.0.0.9")
    store.write(WriteBatch(events=[first, second]))

    assert store.get_events(["e2", "missing", "e1"]) == [second, first]
    (read,) = store.get_events(["e1"])
    assert read.fields["related.ip"] == ("203.113.131.5", "10.10.1.4")
    assert isinstance(read.fields["related.ip"], tuple)
    assert read.fields["related.hosts"] == ()
    assert read.fields["tls.established"] is False
    assert read.timestamp == datetime(2026, 11, 24, 1, 15, 2, 123456, tzinfo=UTC)
    assert read.timestamp.utcoffset() == timedelta(0)


def test_event_timestamps_in_other_zones_read_back_as_the_same_instant(store: Store) -> None:
    hanoi = timezone(timedelta(hours=7))
    store.write(WriteBatch(events=[Event("e1", datetime(2026, 11, 24, 15, 15, tzinfo=hanoi), {})]))
    (read,) = store.get_events(["e1"])
    assert read.timestamp == datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
    assert read.timestamp.utcoffset() == timedelta(0)


def test_known_event_ids_names_only_stored_events(store: Store) -> None:
    store.write(WriteBatch(events=[event(1), event(2)]))
    assert store.known_event_ids(["e1", "e3", "e2"]) == {"e1", "e2"}
    assert store.known_event_ids([]) == set()


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
_FIELD_VALUES: st.SearchStrategy[FieldValue] = st.one_of(
    _SCALARS, st.lists(_SCALARS, max_size=4).map(tuple)
)
_FIELD_NAMES = st.text(
    st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="._@-"),
    min_size=1,
    max_size=30,
)
_TIMES = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(_FIELD_NAMES, _FIELD_VALUES, max_size=12), timestamp=_TIMES)
def test_any_event_reads_back_equal(
    store: Store, fields: dict[str, FieldValue], timestamp: datetime
) -> None:
    # A fresh id per example: the store is shared by all examples and keeps the first.
    written = Event(id=uuid.uuid4().hex, timestamp=timestamp, fields=fields)
    store.write(WriteBatch(events=[written]))
    assert store.get_events([written.id]) == [written]


# -- writing batches ----------------------------------------------------------------


def _first_batch() -> WriteBatch:
    new = incident("a", first=0, last=4, alert_count=2)
    return WriteBatch(
        events=[event(1, 0), event(2, 4)],
        alerts=[alert(1, 0), alert(2, 4)],
        alert_incidents={"a1": new.id, "a2": new.id},
        new_incidents=[new],
        checkpoints=[Checkpoint("nginx-portal", {"file": "abc", "offset": 4096})],
    )


def test_writing_the_same_batch_twice_stores_everything_once(store: Store) -> None:
    store.write(_first_batch())
    store.write(_first_batch())

    assert store.counts() == StoreCounts(
        events=2, alerts=2, incidents=1, open_incidents=1, dead_letters=0
    )
    assert [a.id for a in store.incident_alerts("inc-a")] == ["a1", "a2"]
    stored = store.get_incident("inc-a")
    assert stored is not None
    assert stored.alert_count == 2


def test_rewriting_a_known_incident_keeps_the_stored_one(store: Store) -> None:
    store.write(_first_batch())
    store.update_incident("inc-a", IncidentUpdate(status=IncidentStatus.ACKNOWLEDGED), "lan")
    store.write(_first_batch())
    stored = store.get_incident("inc-a")
    assert stored is not None
    assert stored.status is IncidentStatus.ACKNOWLEDGED


def test_a_batch_that_fails_midway_leaves_nothing(store: Store) -> None:
    failing = WriteBatch(
        events=[event(1), event(2)],
        dead_letters=[DeadLetter("nginx-portal", "nginx: bad request line", "\x16\x03\x01", T0)],
        new_incidents=[incident("a")],
        alerts=[alert(1)],
        alert_incidents={"a1": "inc-a"},
        # The growth names an incident that no batch ever wrote: the write must fail
        # after the rows before it were handed to the store.
        incident_growths=[IncidentGrowth("inc-never-written", 1, at(5), Severity.LOW)],
        checkpoints=[Checkpoint("nginx-portal", {"offset": 100})],
    )
    with pytest.raises(StoreError, match="inc-never-written"):
        store.write(failing)

    assert store.counts() == StoreCounts(0, 0, 0, 0, 0)
    assert store.known_event_ids(["e1", "e2"]) == set()
    assert store.checkpoint("nginx-portal") is None
    assert store.dead_letters() == []


def test_an_alert_naming_an_unknown_incident_fails_the_whole_batch(store: Store) -> None:
    failing = WriteBatch(
        events=[event(1)],
        alerts=[alert(1)],
        alert_incidents={"a1": "inc-not-stored"},
        checkpoints=[Checkpoint("nginx-portal", {"offset": 100})],
    )
    with pytest.raises(StoreError):
        store.write(failing)
    assert store.counts() == StoreCounts(0, 0, 0, 0, 0)
    assert store.checkpoint("nginx-portal") is None


def test_an_empty_batch_changes_nothing(store: Store) -> None:
    store.write(WriteBatch())
    assert store.counts() == StoreCounts(0, 0, 0, 0, 0)


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="time zone"):
        store.write(WriteBatch(events=[Event("e1", datetime(2026, 11, 24, 8, 0), {})]))
    with pytest.raises(StoreError, match="time zone"):
        store.open_incidents([SQLI_KEY], datetime(2026, 11, 24, 8, 0))


# -- grouping lookup and growth -----------------------------------------------------


def _write_incidents(store: Store, *incidents: Incident) -> None:
    store.write(WriteBatch(new_incidents=incidents))


def test_open_incidents_finds_the_latest_open_one_for_each_key(store: Store) -> None:
    user_key = GroupKey("r-brute", "user.name", "root", "So TTTT")
    no_entity_key = GroupKey("r-scan", None, None, None)
    _write_incidents(
        store,
        incident("older", first=0, last=10),
        incident("newer", first=11, last=20, severity=Severity.CRITICAL),
        incident("resolved", first=21, last=30, status=IncidentStatus.RESOLVED),
        incident("false-positive", first=21, last=31, status=IncidentStatus.FALSE_POSITIVE),
        incident("other-org", first=21, last=32, org="So Y te"),
        incident("other-ip", first=21, last=33, entity_value="198.51.100.7"),
        incident(
            "root",
            first=0,
            last=25,
            rule="r-brute",
            entity_field="user.name",
            entity_value="root",
            status=IncidentStatus.ACKNOWLEDGED,
        ),
        incident(
            "scan", first=0, last=26, rule="r-scan", entity_field=None, entity_value=None, org=None
        ),
    )
    unknown = GroupKey("r-unknown", "source.ip", "203.113.131.5", "So TTTT")

    found = store.open_incidents([SQLI_KEY, user_key, no_entity_key, unknown], since=at(15))

    assert found == {
        SQLI_KEY: IncidentRef("inc-newer", at(20), Severity.CRITICAL),
        user_key: IncidentRef("inc-root", at(25), Severity.HIGH),
        no_entity_key: IncidentRef("inc-scan", at(26), Severity.HIGH),
    }


def test_open_incidents_ignores_incidents_last_seen_before_since(store: Store) -> None:
    _write_incidents(store, incident("a", first=0, last=10))
    assert store.open_incidents([SQLI_KEY], since=at(10)) == {
        SQLI_KEY: IncidentRef("inc-a", at(10), Severity.HIGH)
    }
    assert store.open_incidents([SQLI_KEY], since=at(10.001)) == {}
    assert store.open_incidents([], since=at(0)) == {}


def test_growths_add_up_and_only_raise_time_and_severity(store: Store, clock: FakeClock) -> None:
    _write_incidents(
        store, incident("a", first=0, last=10, severity=Severity.MEDIUM, alert_count=2)
    )
    grown_at = clock.advance(5)
    store.write(WriteBatch(incident_growths=[IncidentGrowth("inc-a", 3, at(14), Severity.HIGH)]))
    store.write(WriteBatch(incident_growths=[IncidentGrowth("inc-a", 1, at(12), Severity.LOW)]))

    stored = store.get_incident("inc-a")
    assert stored is not None
    assert stored.alert_count == 6
    assert stored.last_seen == at(14)
    assert stored.severity is Severity.HIGH
    assert stored.first_seen == at(0)
    assert stored.updated_at >= grown_at
    assert store.open_incidents([SQLI_KEY], since=at(0)) == {
        SQLI_KEY: IncidentRef("inc-a", at(14), Severity.HIGH)
    }


def test_growths_keep_the_analysts_status_and_assignee(store: Store) -> None:
    _write_incidents(store, incident("a", first=0, last=10))
    store.update_incident(
        "inc-a",
        IncidentUpdate(status=IncidentStatus.ACKNOWLEDGED, assignee="tran.thi.b"),
        actor="tran.thi.b",
    )
    store.write(
        WriteBatch(incident_growths=[IncidentGrowth("inc-a", 2, at(12), Severity.CRITICAL)])
    )
    stored = store.get_incident("inc-a")
    assert stored is not None
    assert (stored.status, stored.assignee) == (IncidentStatus.ACKNOWLEDGED, "tran.thi.b")
    assert stored.title == "SQL injection on the portal: 203.113.131.5"
    assert (stored.alert_count, stored.severity) == (3, Severity.CRITICAL)


def test_alerts_of_a_growth_join_the_incident_oldest_first(store: Store) -> None:
    store.write(_first_batch())
    store.write(
        WriteBatch(
            events=[event(3, 7)],
            alerts=[alert(3, 7)],
            alert_incidents={"a3": "inc-a"},
            incident_growths=[IncidentGrowth("inc-a", 1, at(7), Severity.HIGH)],
        )
    )
    alerts = store.incident_alerts("inc-a")
    assert [a.id for a in alerts] == ["a1", "a2", "a3"]
    assert alerts[2] == alert(3, 7)
    assert [a.id for a in store.incident_alerts("inc-a", limit=2)] == ["a1", "a2"]
    assert store.incident_alerts("inc-unknown") == []


def test_closed_windows_are_no_longer_joined(store: Store) -> None:
    _write_incidents(
        store,
        incident("old", first=0, last=10),
        incident("recent", first=0, last=30, entity_value="198.51.100.7"),
    )
    recent_key = replace(SQLI_KEY, entity_value="198.51.100.7")

    assert store.close_incident_windows(before=at(20)) == 1
    assert store.close_incident_windows(before=at(20)) == 0

    found = store.open_incidents([SQLI_KEY, recent_key], since=at(0))
    assert set(found) == {recent_key}
    closed = store.get_incident("inc-old")
    assert closed is not None
    assert closed.status is IncidentStatus.NEW  # closing the window is not resolving


# -- listing ------------------------------------------------------------------------

_LISTED = (
    incident("n1", first=0, last=50, severity=Severity.CRITICAL, system="portal", org="So TTTT"),
    incident(
        "n2",
        first=5,
        last=45,
        severity=Severity.HIGH,
        system="mail",
        org="So TTTT",
        status=IncidentStatus.ACKNOWLEDGED,
    ),
    incident(
        "n3",
        first=10,
        last=40,
        severity=Severity.MEDIUM,
        system="portal",
        org="So Y te",
        status=IncidentStatus.RESOLVED,
    ),
    incident("n4", first=15, last=35, severity=Severity.LOW, system=None, org=None),
    incident(
        "n5",
        first=20,
        last=30,
        severity=Severity.HIGH,
        system="mail",
        org="So Y te",
        status=IncidentStatus.FALSE_POSITIVE,
    ),
    incident(
        "n6", first=25, last=25, severity=Severity.INFORMATIONAL, system="portal", org="So TTTT"
    ),
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (IncidentQuery(), ["n1", "n2", "n3", "n4", "n5", "n6"]),
        (IncidentQuery(statuses=[IncidentStatus.NEW]), ["n1", "n4", "n6"]),
        (
            IncidentQuery(statuses=[IncidentStatus.RESOLVED, IncidentStatus.FALSE_POSITIVE]),
            ["n3", "n5"],
        ),
        (IncidentQuery(severities=[Severity.HIGH]), ["n2", "n5"]),
        (IncidentQuery(severities=[Severity.CRITICAL, Severity.LOW]), ["n1", "n4"]),
        (IncidentQuery(systems=["portal"]), ["n1", "n3", "n6"]),
        (IncidentQuery(systems=["mail", "hr"]), ["n2", "n5"]),
        (IncidentQuery(organizations=["So Y te"]), ["n3", "n5"]),
        (IncidentQuery(since=at(40)), ["n1", "n2", "n3"]),
        (IncidentQuery(until=at(10)), ["n1", "n2"]),
        (IncidentQuery(since=at(30), until=at(20)), ["n1", "n2", "n3", "n4"]),
        (
            IncidentQuery(
                statuses=[IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED],
                organizations=["So TTTT"],
                systems=["portal"],
            ),
            ["n1", "n6"],
        ),
        (
            IncidentQuery(severities=[Severity.HIGH, Severity.MEDIUM], since=at(35)),
            ["n2", "n3"],
        ),
        (IncidentQuery(systems=["nowhere"]), []),
    ],
)
def test_list_filters_select_and_order_newest_first(
    store: Store, query: IncidentQuery, expected: list[str]
) -> None:
    _write_incidents(store, *_LISTED)
    page = store.list_incidents(query)
    assert [i.id.removeprefix("inc-") for i in page.items] == expected
    assert page.total == len(expected)
    assert page.next_cursor is None


def test_listed_incidents_read_back_whole(store: Store) -> None:
    _write_incidents(store, *_LISTED)
    page = store.list_incidents(IncidentQuery(statuses=[IncidentStatus.ACKNOWLEDGED]))
    assert list(page.items) == [_LISTED[1]]
    assert store.get_incident("inc-n2") == _LISTED[1]
    assert store.get_incident("inc-missing") is None


def test_pages_walk_every_incident_exactly_once(store: Store) -> None:
    # Three incidents share each last_seen, so the cursor must break ties by id.
    written = [
        incident(f"p{n:02d}", first=0, last=n // 3, org="So TTTT" if n % 4 else "So Y te")
        for n in range(23)
    ]
    _write_incidents(store, *written)

    seen: list[str] = []
    totals: set[int] = set()
    cursor: str | None = None
    for _ in range(10):
        page = store.list_incidents(IncidentQuery(limit=5, cursor=cursor))
        seen += [i.id for i in page.items]
        totals.add(page.total)
        cursor = page.next_cursor
        if cursor is None:
            break
        assert re.fullmatch(r"[A-Za-z0-9_=-]+", cursor)

    assert sorted(seen) == sorted(i.id for i in written)
    assert len(seen) == len(set(seen)) == 23
    assert totals == {23}
    order = {i.id: (i.last_seen, i.id) for i in written}
    assert seen == sorted(seen, key=order.__getitem__, reverse=True)


def test_pages_with_a_filter_walk_only_the_matching_incidents(store: Store) -> None:
    written = [
        incident(f"p{n:02d}", first=0, last=n, org="So TTTT" if n % 4 else "So Y te")
        for n in range(23)
    ]
    _write_incidents(store, *written)
    query = IncidentQuery(organizations=["So Y te"], limit=2)
    ids: list[str] = []
    for _ in range(10):
        page = store.list_incidents(query)
        assert page.total == 6
        ids += [i.id for i in page.items]
        if page.next_cursor is None:
            break
        query = replace(query, cursor=page.next_cursor)
    assert ids == ["inc-p20", "inc-p16", "inc-p12", "inc-p08", "inc-p04", "inc-p00"]


@pytest.mark.parametrize(
    "query",
    [
        IncidentQuery(severities=[Severity.HIGH, Severity.CRITICAL, Severity.HIGH], limit=3),
        IncidentQuery(
            statuses=[IncidentStatus.NEW, IncidentStatus.RESOLVED],
            severities=[Severity.LOW, Severity.HIGH],
            limit=2,
        ),
        IncidentQuery(organizations=["So TTTT", "So Y te"], scope=("So Y te", "UBND"), limit=2),
        IncidentQuery(scope=("So TTTT", "UBND"), systems=["egov", "portal"], limit=4),
    ],
)
def test_filters_of_several_values_page_in_order_once(store: Store, query: IncidentQuery) -> None:
    severities = [Severity.HIGH, Severity.CRITICAL, Severity.LOW]
    statuses = [IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED]
    orgs = ["So TTTT", "So Y te", "UBND", None]
    written = [
        incident(
            f"m{n:02d}",
            first=0,
            last=n // 2,  # pairs share a last_seen: the id breaks the tie
            entity_value=str(n),
            severity=severities[n % 3],
            status=statuses[n // 3 % 3],
            org=orgs[n % 4],
            system=("egov", "portal", None)[n // 4 % 3],
        )
        for n in range(40)
    ]
    _write_incidents(store, *written)
    organizations = set(query.organizations or orgs) & set(query.scope or orgs)
    expected = sorted(
        (
            i
            for i in written
            if (not query.severities or i.severity in query.severities)
            and (not query.statuses or i.status in query.statuses)
            and (not query.systems or i.system in query.systems)
            and i.organization in organizations
        ),
        key=lambda i: (i.last_seen, i.id),
        reverse=True,
    )
    assert expected, "the case must keep some incidents"
    seen: list[str] = []
    for _ in range(30):
        page = store.list_incidents(query)
        assert (page.total, page.total_relation) == (len(expected), "eq")
        seen += [i.id for i in page.items]
        if page.next_cursor is None:
            break
        query = replace(query, cursor=page.next_cursor)
    assert seen == [i.id for i in expected]


def test_a_page_exactly_filled_has_no_next_cursor(store: Store) -> None:
    _write_incidents(store, *_LISTED)
    first = store.list_incidents(IncidentQuery(limit=3))
    assert first.next_cursor is not None
    second = store.list_incidents(IncidentQuery(limit=3, cursor=first.next_cursor))
    assert [i.id for i in second.items] == ["inc-n4", "inc-n5", "inc-n6"]
    assert second.next_cursor is None


@pytest.mark.parametrize("cursor", ["not a cursor", "", "eyJ4IjogMX0", "WyJhIiwiYiJd"])
def test_a_cursor_not_taken_from_a_page_is_refused(store: Store, cursor: str) -> None:
    with pytest.raises(InvalidCursorError, match="invalid cursor"):
        store.list_incidents(IncidentQuery(cursor=cursor))


def test_an_altered_cursor_is_refused(store: Store) -> None:
    _write_incidents(store, *_LISTED)
    cursor = store.list_incidents(IncidentQuery(limit=2)).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidCursorError):
        store.list_incidents(IncidentQuery(cursor=cursor[:-3]))


@pytest.mark.parametrize(
    ("cap", "total", "relation"),
    [(30, 23, "eq"), (23, 23, "eq"), (22, 22, "gte"), (5, 5, "gte"), (0, 0, "gte")],
)
def test_the_total_counts_exactly_up_to_its_cap(
    store: Store, cap: int, total: int, relation: str
) -> None:
    _write_incidents(store, *(incident(f"p{n:02d}", first=0, last=n) for n in range(23)))
    page = store.list_incidents(IncidentQuery(limit=4, total_cap=cap))
    assert (page.total, page.total_relation) == (total, relation)
    assert [i.id for i in page.items] == ["inc-p22", "inc-p21", "inc-p20", "inc-p19"]
    assert page.next_cursor is not None


def test_the_total_cap_applies_to_the_matches_of_the_filters(store: Store) -> None:
    written = [
        incident(f"p{n:02d}", first=0, last=n, org="So TTTT" if n % 4 else "So Y te")
        for n in range(23)
    ]
    _write_incidents(store, *written)
    query = IncidentQuery(organizations=["So Y te"], limit=2, total_cap=6)
    assert store.list_incidents(query).total_relation == "eq"
    capped = store.list_incidents(replace(query, total_cap=5))
    assert (capped.total, capped.total_relation) == (5, "gte")
    # Cursor pages count the same matches: the total is not "what is left".
    second = store.list_incidents(replace(query, cursor=capped.next_cursor, total_cap=5))
    assert (second.total, second.total_relation) == (5, "gte")


def test_the_default_total_cap_is_ten_thousand() -> None:
    assert IncidentQuery().total_cap == 10_000


def test_a_negative_total_cap_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="cap"):
        store.list_incidents(IncidentQuery(total_cap=-1))


def test_a_page_size_below_one_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="at least 1"):
        store.list_incidents(IncidentQuery(limit=0))


# -- analyst actions ----------------------------------------------------------------


def test_update_changes_the_incident_and_records_who_did_what(
    store: Store, clock: FakeClock
) -> None:
    _write_incidents(store, incident("a"))
    acknowledged_at = clock.advance(1)
    updated = store.update_incident(
        "inc-a",
        IncidentUpdate(
            status=IncidentStatus.ACKNOWLEDGED, assignee="tran.thi.b", reason="đang xử lý"
        ),
        actor="le.van.c",
    )
    assert (updated.status, updated.assignee) == (IncidentStatus.ACKNOWLEDGED, "tran.thi.b")
    assert updated.updated_at == acknowledged_at
    assert store.get_incident("inc-a") == updated

    resolved_at = clock.advance(30)
    store.update_incident(
        "inc-a",
        IncidentUpdate(status=IncidentStatus.RESOLVED, clear_assignee=True, reason="blocked"),
        actor="tran.thi.b",
    )

    assert store.incident_history("inc-a") == [
        AuditEntry(
            "inc-a",
            acknowledged_at,
            "le.van.c",
            "status_changed",
            "status",
            "new",
            "acknowledged",
            "đang xử lý",
        ),
        AuditEntry(
            "inc-a",
            acknowledged_at,
            "le.van.c",
            "assigned",
            "assignee",
            None,
            "tran.thi.b",
            "đang xử lý",
        ),
        AuditEntry(
            "inc-a",
            resolved_at,
            "tran.thi.b",
            "status_changed",
            "status",
            "acknowledged",
            "resolved",
            "blocked",
        ),
        AuditEntry(
            "inc-a",
            resolved_at,
            "tran.thi.b",
            "unassigned",
            "assignee",
            "tran.thi.b",
            None,
            "blocked",
        ),
    ]


def test_reassigning_records_the_old_and_new_assignee(store: Store) -> None:
    _write_incidents(store, incident("a", assignee="an"))
    store.update_incident("inc-a", IncidentUpdate(assignee="binh"), actor="chi")
    (entry,) = store.incident_history("inc-a")
    assert (entry.action, entry.field, entry.old_value, entry.new_value) == (
        "assigned",
        "assignee",
        "an",
        "binh",
    )


def test_an_update_that_changes_nothing_writes_nothing(store: Store, clock: FakeClock) -> None:
    _write_incidents(store, incident("a", assignee="an"))
    before = store.get_incident("inc-a")
    clock.advance(1)
    for update in (
        IncidentUpdate(),
        IncidentUpdate(status=IncidentStatus.NEW),
        IncidentUpdate(assignee="an"),
        IncidentUpdate(status=IncidentStatus.NEW, assignee="an", reason="no change"),
    ):
        assert store.update_incident("inc-a", update, actor="an") == before
    assert store.get_incident("inc-a") == before
    assert store.incident_history("inc-a") == []


def test_clearing_the_assignee_of_an_unassigned_incident_writes_nothing(store: Store) -> None:
    _write_incidents(store, incident("a"))
    store.update_incident("inc-a", IncidentUpdate(clear_assignee=True), actor="an")
    assert store.incident_history("inc-a") == []


def test_updating_an_unknown_incident_raises_not_found(store: Store) -> None:
    with pytest.raises(IncidentNotFoundError, match="inc-nope"):
        store.update_incident("inc-nope", IncidentUpdate(status=IncidentStatus.RESOLVED), "an")
    assert store.incident_history("inc-nope") == []


def test_history_belongs_to_its_incident(store: Store) -> None:
    _write_incidents(store, incident("a"), incident("b", entity_value="198.51.100.7"))
    store.update_incident("inc-a", IncidentUpdate(assignee="an"), actor="an")
    store.update_incident("inc-b", IncidentUpdate(assignee="binh"), actor="binh")
    assert [e.new_value for e in store.incident_history("inc-b")] == ["binh"]


# -- API keys, checkpoints, dead letters, counts ------------------------------------


def _key(n: int, *, revoked: bool = False, role: Role = Role.ANALYST) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=f"k{n}",
        name=f"Trung tâm giám sát {n}",
        role=role,
        key_hash=f"{n:064x}",
        created_at=at(n),
        revoked=revoked,
    )


def test_api_keys_are_found_by_their_hash(store: Store) -> None:
    store.add_api_key(_key(1))
    store.add_api_key(_key(2, revoked=True, role=Role.ADMIN))
    assert store.api_key_by_hash(f"{1:064x}") == _key(1)
    assert store.api_key_by_hash(f"{2:064x}") == _key(2, revoked=True, role=Role.ADMIN)
    assert store.api_key_by_hash(f"{3:064x}") is None


def test_an_api_key_with_a_stored_hash_is_refused(store: Store) -> None:
    store.add_api_key(_key(1))
    with pytest.raises(StoreError):
        store.add_api_key(replace(_key(1), id="k-other"))
    with pytest.raises(StoreError):
        store.add_api_key(replace(_key(1), key_hash=f"{9:064x}"))
    assert store.api_key_by_hash(f"{9:064x}") is None


def test_checkpoints_keep_the_last_state_written(store: Store) -> None:
    assert store.checkpoint("nginx-portal") is None
    store.write(WriteBatch(checkpoints=[Checkpoint("nginx-portal", {"offset": 10})]))
    state = {"files": [{"fingerprint": "ab12", "offset": 4096}], "inode": 7, "done": False}
    store.write(
        WriteBatch(
            checkpoints=[
                Checkpoint("nginx-portal", state),
                Checkpoint("auth", {"offset": 1}),
            ]
        )
    )
    assert store.checkpoint("nginx-portal") == Checkpoint("nginx-portal", state)
    assert store.checkpoint("auth") == Checkpoint("auth", {"offset": 1})


def test_dead_letters_come_back_newest_first(store: Store) -> None:
    letters = [
        DeadLetter(
            "nginx-portal",
            f"nginx: no request line ({n})",
            f"rác {n}",
            at(n),
            path="/var/log/nginx/access.log",
            line_number=n,
        )
        for n in range(5)
    ]
    store.write(WriteBatch(dead_letters=letters[:3]))
    store.write(WriteBatch(dead_letters=letters[3:]))
    assert store.dead_letters() == letters[::-1]
    assert store.dead_letters(limit=2) == [letters[4], letters[3]]
    sparse = DeadLetter("udp-514", "syslog: empty", "", at(9))
    store.write(WriteBatch(dead_letters=[sparse]))
    assert store.dead_letters(limit=1) == [sparse]


def test_counts_count_each_kind(store: Store) -> None:
    store.write(_first_batch())
    _write_incidents(
        store,
        incident("b", entity_value="198.51.100.7", status=IncidentStatus.ACKNOWLEDGED),
        incident("c", entity_value="198.51.100.8", status=IncidentStatus.RESOLVED),
    )
    store.write(WriteBatch(dead_letters=[DeadLetter("s", "r", "x", T0)]))
    assert store.counts() == StoreCounts(
        events=2, alerts=2, incidents=3, open_incidents=2, dead_letters=1
    )


def test_an_open_store_answers_a_ping(store: Store) -> None:
    store.ping()


def test_a_closed_store_refuses_calls(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError):
        store.ping()
    with pytest.raises(StoreError):
        store.counts()
    with pytest.raises(StoreError):
        store.write(WriteBatch(events=[event(1)]))
    store.close()


def test_many_ids_and_keys_at_once(store: Store) -> None:
    events = [event(n) for n in range(1500)]
    incidents = [
        incident(f"k{n}", entity_value=f"10.0.{n // 250}.{n % 250}", last=5) for n in range(400)
    ]
    store.write(WriteBatch(events=events, new_incidents=incidents))
    ids = [e.id for e in events]
    assert store.known_event_ids([*ids, "e-none"]) == set(ids)
    assert [e.id for e in store.get_events(ids[::-1])] == ids[::-1]
    keys = [i.group_key for i in incidents]
    found = store.open_incidents(keys, since=at(0))
    assert {key: ref.id for key, ref in found.items()} == {i.group_key: i.id for i in incidents}
