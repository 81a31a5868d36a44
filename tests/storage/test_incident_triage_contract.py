"""The `Store` contract of incident triage (issue 5), checked on every implementation:
listing filters, sorts and their cursors, free text, organization scopes, severity
changes, comments, merges, the dashboard's statistics and the change feed.

Expected values are worked out by hand from the incidents each test writes.
"""

from datetime import UTC, datetime, timedelta

import pytest

from canhgac.correlator import Severity
from canhgac.incidents import Incident, IncidentGrowth, IncidentStatus, IncidentUpdate
from canhgac.storage import (
    ApiKeyRecord,
    CountByKey,
    CountByTime,
    IncidentMergeError,
    IncidentNotFoundError,
    IncidentQuery,
    IncidentSort,
    InvalidCursorError,
    Role,
    Store,
    StoreError,
    WriteBatch,
)
from tests.storage.records import FakeClock, alert, at, incident

ORG_A = "Sở TT&TT"
ORG_B = "Sở Y tế"


def _triage_set() -> list[Incident]:
    """Five incidents with distinct sort keys (minutes after T0 for first/last seen).

    name    severity  alerts  first  last  rule      entity         system  org
    web     high      3       0      50    r-sqli    203.113.131.5  portal  ORG_A
    ssh     medium    7       10     40    r-ssh     14.160.2.9     mail    ORG_B
    admin   critical  1       20     30    r-admin   45.76.1.1      egov    ORG_A
    scan    low       7       -120   -60   r-scan    185.220.101.4  portal  ORG_A
    trav    high      2       60     70    r-trav    user:lan (user.name) -  None
    """
    return [
        incident("web", first=0, last=50, rule="r-sqli", org=ORG_A, alert_count=3),
        incident(
            "ssh",
            first=10,
            last=40,
            rule="r-ssh",
            entity_value="14.160.2.9",
            severity=Severity.MEDIUM,
            system="mail",
            org=ORG_B,
            alert_count=7,
            assignee="tran.thi.lan",
        ),
        incident(
            "admin",
            first=20,
            last=30,
            rule="r-admin",
            entity_value="45.76.1.1",
            severity=Severity.CRITICAL,
            system="egov",
            org=ORG_A,
        ),
        incident(
            "scan",
            first=-120,
            last=-60,
            rule="r-scan",
            entity_value="185.220.101.4",
            severity=Severity.LOW,
            org=ORG_A,
            alert_count=7,
        ),
        incident(
            "trav",
            first=60,
            last=70,
            rule="r-trav",
            entity_field="user.name",
            entity_value="lan",
            system=None,
            org=None,
            alert_count=2,
        ),
    ]


@pytest.fixture
def triaged(store: Store) -> Store:
    store.write(WriteBatch(new_incidents=_triage_set()))
    return store


def _ids(store: Store, query: IncidentQuery) -> list[str]:
    return [i.id for i in store.list_incidents(query).items]


# -- filters and free text ------------------------------------------------------------


def test_rule_and_entity_filters_match_exactly(triaged: Store) -> None:
    assert _ids(triaged, IncidentQuery(rules=["r-ssh", "r-scan"])) == ["inc-ssh", "inc-scan"]
    assert _ids(triaged, IncidentQuery(entities=["45.76.1.1"])) == ["inc-admin"]
    assert _ids(triaged, IncidentQuery(entities=["45.76.1"])) == []
    page = triaged.list_incidents(IncidentQuery(rules=["r-sqli"], entities=["203.113.131.5"]))
    assert [i.id for i in page.items] == ["inc-web"]
    assert page.total == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail", ["inc-ssh"]),  # system
        ("tran.thi.lan", ["inc-ssh"]),  # assignee
        ("14.160.2.9", ["inc-ssh"]),  # entity, in the title too
        ("Y tế", ["inc-ssh"]),  # organization
        ("egov", ["inc-admin"]),
        ("injection 45.76.1.1", ["inc-admin"]),  # every word must match
        ("SQL", ["inc-trav", "inc-web", "inc-ssh", "inc-admin", "inc-scan"]),  # rule title
        ("nothing-like-this", []),
        ('"', []),  # query syntax is just text
    ],
)
def test_free_text_searches_title_rule_entity_system_organization_and_assignee(
    triaged: Store, text: str, expected: list[str]
) -> None:
    page = triaged.list_incidents(IncidentQuery(text=text))
    assert [i.id for i in page.items] == expected
    assert page.total == len(expected)


def test_blank_free_text_filters_nothing(triaged: Store) -> None:
    assert triaged.list_incidents(IncidentQuery(text="   ")).total == 5


def test_free_text_sees_a_new_assignee(triaged: Store) -> None:
    triaged.update_incident("inc-admin", IncidentUpdate(assignee="nguyen.van.hoa"), "lead")
    assert _ids(triaged, IncidentQuery(text="nguyen.van.hoa")) == ["inc-admin"]


def test_a_scope_keeps_only_its_organizations(triaged: Store) -> None:
    assert _ids(triaged, IncidentQuery(scope=(ORG_B,))) == ["inc-ssh"]
    page = triaged.list_incidents(IncidentQuery(scope=(ORG_A,)))
    assert [i.id for i in page.items] == ["inc-web", "inc-admin", "inc-scan"]
    assert page.total == 3
    # A filter cannot widen the scope: another organization's incidents stay out.
    assert _ids(triaged, IncidentQuery(scope=(ORG_A,), organizations=[ORG_B])) == []
    assert _ids(triaged, IncidentQuery(scope=())) == []
    assert triaged.list_incidents(IncidentQuery(scope=(ORG_B,), text="SQL")).total == 1


# -- sorts and their cursors ----------------------------------------------------------

_ORDERS = {
    IncidentSort.LAST_SEEN: ["inc-trav", "inc-web", "inc-ssh", "inc-admin", "inc-scan"],
    IncidentSort.FIRST_SEEN: ["inc-trav", "inc-admin", "inc-ssh", "inc-web", "inc-scan"],
    # critical, then the two highs by last seen, medium, low
    IncidentSort.SEVERITY: ["inc-admin", "inc-trav", "inc-web", "inc-ssh", "inc-scan"],
    # 7 and 7 by last seen, 3, 2, 1
    IncidentSort.ALERT_COUNT: ["inc-ssh", "inc-scan", "inc-web", "inc-trav", "inc-admin"],
}


@pytest.mark.parametrize("sort", list(IncidentSort))
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_each_sort_pages_through_every_incident_once_in_order(
    triaged: Store, sort: IncidentSort, limit: int
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = triaged.list_incidents(IncidentQuery(sort=sort, limit=limit, cursor=cursor))
        assert page.total == 5
        seen += [i.id for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == _ORDERS[sort]


def test_a_cursor_of_another_sort_is_refused(triaged: Store) -> None:
    by_severity = triaged.list_incidents(IncidentQuery(sort=IncidentSort.SEVERITY, limit=1))
    assert by_severity.next_cursor is not None
    with pytest.raises(InvalidCursorError, match="alert_count sort"):
        triaged.list_incidents(
            IncidentQuery(sort=IncidentSort.ALERT_COUNT, cursor=by_severity.next_cursor)
        )
    with pytest.raises(InvalidCursorError):
        triaged.list_incidents(IncidentQuery(cursor=by_severity.next_cursor))


# -- severity, comments ---------------------------------------------------------------


def test_changing_the_severity_is_audited_and_reorders(triaged: Store, clock: FakeClock) -> None:
    changed = triaged.update_incident(
        "inc-scan", IncidentUpdate(severity=Severity.CRITICAL, reason="a known APT host"), "lan"
    )
    assert changed.severity is Severity.CRITICAL
    stored = triaged.get_incident("inc-scan")
    assert stored is not None
    assert stored.severity is Severity.CRITICAL
    (entry,) = triaged.incident_history("inc-scan")
    assert (entry.action, entry.field, entry.old_value, entry.new_value, entry.reason) == (
        "severity_changed",
        "severity",
        "low",
        "critical",
        "a known APT host",
    )
    assert (entry.actor, entry.at) == ("lan", clock.now)
    first_two = _ids(triaged, IncidentQuery(sort=IncidentSort.SEVERITY, limit=2))
    assert first_two == ["inc-admin", "inc-scan"]  # both critical, admin seen later
    assert _ids(triaged, IncidentQuery(severities=[Severity.LOW])) == []


def test_a_growth_after_a_lowered_severity_raises_it_again(triaged: Store) -> None:
    triaged.update_incident("inc-web", IncidentUpdate(severity=Severity.LOW), "lan")
    triaged.write(
        WriteBatch(incident_growths=[IncidentGrowth("inc-web", 1, at(55), Severity.MEDIUM)])
    )
    stored = triaged.get_incident("inc-web")
    assert stored is not None
    assert (stored.severity, stored.alert_count) == (Severity.MEDIUM, 4)


def test_comments_join_the_history_in_order(triaged: Store, clock: FakeClock) -> None:
    triaged.update_incident("inc-web", IncidentUpdate(status=IncidentStatus.ACKNOWLEDGED), "lan")
    clock.advance(1)
    entry = triaged.add_comment("inc-web", "Chặn IP tại tường lửa", "hoa")
    assert (entry.incident_id, entry.action, entry.new_value, entry.actor, entry.at) == (
        "inc-web",
        "comment",
        "Chặn IP tại tường lửa",
        "hoa",
        clock.now,
    )
    history = triaged.incident_history("inc-web")
    assert [(e.action, e.actor) for e in history] == [("status_changed", "lan"), ("comment", "hoa")]
    assert history[1] == entry
    # A comment changes nothing else.
    stored = triaged.get_incident("inc-web")
    assert stored is not None
    assert stored.status is IncidentStatus.ACKNOWLEDGED


def test_commenting_an_unknown_incident_raises_not_found(triaged: Store) -> None:
    with pytest.raises(IncidentNotFoundError):
        triaged.add_comment("inc-missing", "hello", "hoa")
    with pytest.raises(StoreError):
        triaged.add_comment("inc-web", "   ", "hoa")


# -- merges ---------------------------------------------------------------------------


def _with_alerts(store: Store) -> None:
    """inc-web: alerts a1 (min 0), a2 (min 50); inc-admin: a3 (min 20), all ORG_A."""
    store.write(
        WriteBatch(
            alerts=[alert(1, 0, org=ORG_A), alert(2, 50, org=ORG_A), alert(3, 20, org=ORG_A)],
            alert_incidents={"a1": "inc-web", "a2": "inc-web", "a3": "inc-admin"},
        )
    )


def test_a_merge_moves_the_alerts_and_recomputes_the_target(
    triaged: Store, clock: FakeClock
) -> None:
    _with_alerts(triaged)
    target = triaged.merge_incidents("inc-admin", "inc-web", "lan", "same attacker")
    # admin: critical, 1 alert, 20..30; web: high, 3 alerts, 0..50
    assert (target.id, target.alert_count, target.severity) == ("inc-admin", 4, Severity.CRITICAL)
    assert (target.first_seen, target.last_seen) == (at(0), at(50))
    assert target.updated_at == clock.now
    assert triaged.get_incident("inc-admin") == target
    assert [a.id for a in triaged.incident_alerts("inc-admin")] == ["a1", "a3", "a2"]
    assert triaged.incident_alerts("inc-web") == []
    source = triaged.get_incident("inc-web")
    assert source is not None
    assert (source.status, source.merged_into) == (IncidentStatus.MERGED, "inc-admin")
    assert not source.status.is_open
    target_history = triaged.incident_history("inc-admin")
    assert [(e.action, e.field, e.new_value, e.reason) for e in target_history] == [
        ("merged", "merged_from", "inc-web", "same attacker")
    ]
    source_history = triaged.incident_history("inc-web")
    assert [(e.action, e.field, e.old_value, e.new_value) for e in source_history] == [
        ("status_changed", "status", "new", "merged"),
        ("merged", "merged_into", None, "inc-admin"),
    ]
    assert _ids(triaged, IncidentQuery(statuses=[IncidentStatus.MERGED])) == ["inc-web"]
    assert triaged.counts().open_incidents == 4  # all five were new


def test_a_merged_incident_keeps_its_status(triaged: Store) -> None:
    triaged.merge_incidents("inc-admin", "inc-web", "lan", None)
    with pytest.raises(IncidentMergeError, match="inc-admin"):
        triaged.update_incident("inc-web", IncidentUpdate(status=IncidentStatus.NEW), "lan")
    assigned = triaged.update_incident("inc-web", IncidentUpdate(assignee="hoa"), "lan")
    assert (assigned.status, assigned.assignee) == (IncidentStatus.MERGED, "hoa")


def test_merged_incidents_no_longer_take_alerts(triaged: Store) -> None:
    triaged.merge_incidents("inc-admin", "inc-web", "lan", None)
    web = triaged.get_incident("inc-web")
    assert web is not None
    assert triaged.open_incidents([web.group_key], at(-1000)) == {}


@pytest.mark.parametrize(
    ("target", "source", "message"),
    [
        ("inc-web", "inc-web", "itself"),
        ("inc-web", "inc-ssh", "organizations"),
        ("inc-trav", "inc-web", "organizations"),
    ],
)
def test_impossible_merges_are_refused_and_change_nothing(
    triaged: Store, target: str, source: str, message: str
) -> None:
    before = {i.id: i for i in triaged.list_incidents(IncidentQuery()).items}
    with pytest.raises(IncidentMergeError, match=message):
        triaged.merge_incidents(target, source, "lan", None)
    assert {i.id: i for i in triaged.list_incidents(IncidentQuery()).items} == before
    assert triaged.incident_history(target) == []


def test_an_incident_merged_already_cannot_be_merged_again(triaged: Store) -> None:
    triaged.merge_incidents("inc-admin", "inc-web", "lan", None)
    with pytest.raises(IncidentMergeError, match="inc-admin"):
        triaged.merge_incidents("inc-scan", "inc-web", "lan", None)
    with pytest.raises(IncidentMergeError, match="merged"):
        triaged.merge_incidents("inc-web", "inc-scan", "lan", None)


def test_merging_an_unknown_incident_raises_not_found(triaged: Store) -> None:
    with pytest.raises(IncidentNotFoundError, match="inc-missing"):
        triaged.merge_incidents("inc-web", "inc-missing", "lan", None)
    with pytest.raises(IncidentNotFoundError, match="inc-missing"):
        triaged.merge_incidents("inc-missing", "inc-web", "lan", None)


# -- statistics -----------------------------------------------------------------------


def test_stats_count_every_dimension(triaged: Store) -> None:
    stats = triaged.incident_stats(None, None, None)
    assert (stats.open, stats.total) == (5, 5)
    assert stats.by_severity == (
        CountByKey("critical", 1),
        CountByKey("high", 2),
        CountByKey("medium", 1),
        CountByKey("low", 1),
    )
    assert stats.by_status == (CountByKey("new", 5),)
    assert stats.by_system == (
        CountByKey("portal", 2),
        CountByKey("egov", 1),
        CountByKey("mail", 1),
        CountByKey(None, 1),
    )
    assert stats.by_organization == (
        CountByKey(ORG_A, 3),
        CountByKey(ORG_B, 1),
        CountByKey(None, 1),
    )
    # Five rules, named by their title (the same for every fixture incident).
    assert stats.top_rules == (CountByKey("SQL injection on the portal", 1),) * 5
    assert stats.top_source_addresses == (
        CountByKey("14.160.2.9", 1),
        CountByKey("185.220.101.4", 1),
        CountByKey("203.113.131.5", 1),
        CountByKey("45.76.1.1", 1),
    )
    assert stats.mean_time_to_acknowledge_seconds is None
    assert stats.mean_time_to_resolve_seconds is None


def test_stats_measure_the_times_to_acknowledge_and_resolve(
    triaged: Store, clock: FakeClock
) -> None:
    # inc-web was created at minute 0, inc-admin at minute 20; the clock starts at 60.
    triaged.update_incident("inc-web", IncidentUpdate(status=IncidentStatus.ACKNOWLEDGED), "lan")
    clock.advance(30)  # minute 90
    triaged.update_incident("inc-web", IncidentUpdate(status=IncidentStatus.RESOLVED), "lan")
    triaged.update_incident(
        "inc-admin", IncidentUpdate(status=IncidentStatus.FALSE_POSITIVE, reason="test"), "lan"
    )
    stats = triaged.incident_stats(None, None, None)
    # acknowledged: web after 60 min, admin (straight to false_positive) after 70 min
    assert stats.mean_time_to_acknowledge_seconds == pytest.approx(65 * 60)
    # resolved: web after 90 min, admin after 70 min
    assert stats.mean_time_to_resolve_seconds == pytest.approx(80 * 60)
    assert (stats.open, stats.total) == (3, 5)
    assert stats.by_status == (
        CountByKey("new", 3),
        CountByKey("resolved", 1),
        CountByKey("false_positive", 1),
    )
    # Reopening forgets the resolution, not the acknowledgement.
    triaged.update_incident("inc-web", IncidentUpdate(status=IncidentStatus.ACKNOWLEDGED), "lan")
    stats = triaged.incident_stats(None, None, None)
    assert stats.mean_time_to_resolve_seconds == pytest.approx(70 * 60)
    assert stats.mean_time_to_acknowledge_seconds == pytest.approx(65 * 60)


def test_stats_keep_to_the_time_range_and_the_scope(triaged: Store) -> None:
    # created at first seen: web 0, ssh 10, admin 20, scan -120, trav 60
    ranged = triaged.incident_stats(at(0), at(20), None)
    assert ranged.total == 2
    assert {c.key for c in ranged.by_organization} == {ORG_A, ORG_B}
    scoped = triaged.incident_stats(None, None, (ORG_A,))
    assert scoped.total == 3
    assert scoped.by_organization == (CountByKey(ORG_A, 3),)
    assert {c.key for c in scoped.top_source_addresses} == {
        "203.113.131.5",
        "45.76.1.1",
        "185.220.101.4",
    }
    assert triaged.incident_stats(None, None, ()).total == 0


def test_stats_series_cover_every_hour_and_day_up_to_until(triaged: Store) -> None:
    until = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # T0 is 08:00
    stats = triaged.incident_stats(None, until, None)
    assert len(stats.by_hour) == 48
    assert stats.by_hour[-1].start == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert stats.by_hour[0].start == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    hours = {point.start.hour: point.count for point in stats.by_hour[-4:]}
    # 06:00 scan (-120), 08:00 web, ssh, admin, 09:00 trav
    assert hours == {6: 1, 7: 0, 8: 3, 9: 1}
    assert sum(point.count for point in stats.by_hour) == 5
    assert len(stats.by_day) == 30
    assert stats.by_day[-1] == CountByTime(datetime(2026, 11, 24, tzinfo=UTC), 5)
    assert stats.by_day[0].start == datetime(2026, 11, 24, tzinfo=UTC) - timedelta(days=29)


# -- the change feed ------------------------------------------------------------------


def test_the_feed_starts_now_and_brings_creations_and_changes_once(store: Store) -> None:
    start = store.incidents_changed_since(None, None)
    assert start.changes == ()
    store.write(WriteBatch(new_incidents=[incident("a"), incident("b", entity_value="10.0.0.2")]))
    first = store.incidents_changed_since(start.cursor, None)
    assert [(c.incident.id, c.created) for c in first.changes] == [("inc-a", True), ("inc-b", True)]
    assert first.changes[0].incident == store.get_incident("inc-a")
    assert store.incidents_changed_since(first.cursor, None).changes == ()

    store.update_incident("inc-a", IncidentUpdate(assignee="lan"), "lan")
    second = store.incidents_changed_since(first.cursor, None)
    assert [(c.incident.id, c.created, c.incident.assignee) for c in second.changes] == [
        ("inc-a", False, "lan")
    ]
    # Resuming after the first event of a poll brings the rest, not the first again.
    resumed = store.incidents_changed_since(first.changes[0].cursor, None)
    assert [c.incident.id for c in resumed.changes] == ["inc-b", "inc-a"]
    # From the start, each incident once, in its latest state, by its last change.
    again = store.incidents_changed_since(start.cursor, None)
    assert [c.incident.id for c in again.changes] == ["inc-b", "inc-a"]
    assert again.changes[1].incident.assignee == "lan"


def test_the_feed_brings_growths_comments_do_not_change_incidents(store: Store) -> None:
    store.write(WriteBatch(new_incidents=[incident("a")]))
    start = store.incidents_changed_since(None, None)
    store.write(WriteBatch(incident_growths=[IncidentGrowth("inc-a", 2, at(9), Severity.HIGH)]))
    grown = store.incidents_changed_since(start.cursor, None)
    assert [(c.incident.id, c.incident.alert_count) for c in grown.changes] == [("inc-a", 3)]


def test_the_feed_keeps_to_the_scope_and_moves_past_the_rest(store: Store) -> None:
    start = store.incidents_changed_since(None, (ORG_A,))
    store.write(
        WriteBatch(
            new_incidents=[
                incident("a", org=ORG_B),
                incident("b", org=ORG_A, entity_value="10.0.0.2"),
                incident("c", org=None, entity_value="10.0.0.3"),
            ]
        )
    )
    scoped = store.incidents_changed_since(start.cursor, (ORG_A,))
    assert [c.incident.id for c in scoped.changes] == ["inc-b"]
    assert store.incidents_changed_since(scoped.cursor, (ORG_A,)).changes == ()
    assert store.incidents_changed_since(start.cursor, ()).changes == ()


def test_the_feed_pages_with_a_limit(store: Store) -> None:
    start = store.incidents_changed_since(None, None)
    store.write(
        WriteBatch(new_incidents=[incident(str(n), entity_value=f"10.0.0.{n}") for n in range(5)])
    )
    seen: list[str] = []
    cursor = start.cursor
    for _ in range(5):
        page = store.incidents_changed_since(cursor, None, limit=2)
        seen += [c.incident.id for c in page.changes]
        cursor = page.cursor
    assert seen == [f"inc-{n}" for n in range(5)]


@pytest.mark.parametrize("cursor", ["", "not-a-cursor", "WyJjaGFuZ2VzIiwieCJd"])
def test_a_feed_cursor_not_from_the_feed_is_refused(store: Store, cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        store.incidents_changed_since(cursor, None)


def test_a_page_cursor_is_not_a_feed_cursor(triaged: Store) -> None:
    cursor = triaged.list_incidents(IncidentQuery(limit=1)).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidCursorError):
        triaged.incidents_changed_since(cursor, None)


# -- keys scoped to organizations -----------------------------------------------------


def test_api_keys_keep_their_organizations(store: Store) -> None:
    record = ApiKeyRecord(
        id="k1",
        name="so-y-te",
        role=Role.ANALYST,
        key_hash="c" * 64,
        created_at=at(0),
        organizations=(ORG_B, ORG_A),
    )
    store.add_api_key(record)
    assert store.api_key_by_hash("c" * 64) == record
    assert record.scope == (ORG_B, ORG_A)
    unscoped = ApiKeyRecord("k2", "soc", Role.VIEWER, "d" * 64, at(0))
    store.add_api_key(unscoped)
    found = store.api_key_by_hash("d" * 64)
    assert found is not None
    assert (found.organizations, found.scope) == ((), None)
