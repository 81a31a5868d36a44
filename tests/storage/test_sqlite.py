"""What only the SQLite store promises: its file, schema versions, indexes and threads."""

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from canhgac.correlator import Severity
from canhgac.events import DeadLetter, Event
from canhgac.incidents import (
    GroupKey,
    Incident,
    IncidentGrowth,
    IncidentStatus,
    IncidentUpdate,
)
from canhgac.storage import (
    ApiKeyRecord,
    IncidentQuery,
    IncidentSort,
    IncidentStats,
    Role,
    SQLiteStore,
    StoreCounts,
    StoreError,
    WriteBatch,
    _sqlite,
    _sqlite_triage,
)
from canhgac.storage._migrations import MIGRATIONS, SCHEMA_VERSION
from canhgac.storage._sqlite import incident_listing_sql
from canhgac.storage._sqlite_triage import stats_statements
from tests.storage.records import FakeClock, alert, at, event, incident


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to the file, as a user's sqlite3 shell would open it."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        yield connection


def user_version(path: Path) -> int:
    with raw(path) as connection:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])


# -- the file -----------------------------------------------------------------------


def test_open_creates_the_folder_and_a_wal_database(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "canhgac.sqlite3"
    with SQLiteStore.open(path) as store:
        store.write(WriteBatch(events=[event(1)]))
        assert path.exists()
        assert path.with_name("canhgac.sqlite3-wal").exists()
    with raw(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert user_version(path) == SCHEMA_VERSION


def test_data_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "canhgac.sqlite3"
    with SQLiteStore.open(path) as store:
        store.write(WriteBatch(events=[event(1)], new_incidents=[incident("a")]))
    with SQLiteStore.open(path) as store:
        assert store.counts() == StoreCounts(1, 0, 1, 1, 0)
        assert store.get_incident("inc-a") == incident("a")


def test_timestamps_are_stored_as_fixed_width_utc_text(sqlite_store: SQLiteStore) -> None:
    hanoi = timezone(timedelta(hours=7))
    sqlite_store.write(
        WriteBatch(
            events=[
                Event("e1", datetime(2026, 11, 24, 8, 15, 2, 123456, tzinfo=hanoi), {}),
                Event("e2", datetime(2026, 11, 24, 1, 15, tzinfo=UTC), {}),
            ]
        )
    )
    with raw(sqlite_store.path) as connection:
        rows = connection.execute("SELECT id, ts FROM events ORDER BY ts").fetchall()
    assert rows == [("e2", "2026-11-24T01:15:00.000000Z"), ("e1", "2026-11-24T01:15:02.123456Z")]


def test_event_columns_hold_the_fields_the_panel_searches(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write(
        WriteBatch(
            events=[
                event(
                    1,
                    source__ip="203.113.131.5",
                    user__name="nguyễn.văn.ánh",
                    host__name="web01",
                    labels__system="portal",
                    organization__name="So TTTT",
                    related__ip=("203.113.131.5",),
                )
            ]
        )
    )
    with raw(sqlite_store.path) as connection:
        row = connection.execute(
            "SELECT dataset, system, organization, source_ip, user_name, host_name FROM events"
        ).fetchone()
    assert row == ("nginx.access", "portal", "So TTTT", "203.113.131.5", "nguyễn.văn.ánh", "web01")


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "canhgac.sqlite3"
    path.write_bytes(b"these are not the bytes of a SQLite database\n" * 100)
    with pytest.raises(StoreError, match="not a canhgac database"):
        SQLiteStore.open(path)


def test_a_folder_that_cannot_be_created_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StoreError, match="cannot create the folder"):
        SQLiteStore.open(blocker / "canhgac.sqlite3")


# -- schema versions ----------------------------------------------------------------


def test_a_version_1_database_is_migrated_forward_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "canhgac.sqlite3"
    with raw(path) as connection:
        connection.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
        connection.execute(
            "INSERT INTO incidents (id, title, rule_id, rule_title, severity, severity_rank,"
            " status, assignee, entity_field, entity_value, system, organization, first_seen,"
            " last_seen, alert_count, created_at, updated_at, window_closed) VALUES"
            " ('inc-old', 'SSH brute force: root', 'r-brute', 'SSH brute force', 'high', 3,"
            " 'acknowledged', 'an', 'user.name', 'root', 'mail', 'So TTTT',"
            " '2026-11-24T08:00:00.000000Z', '2026-11-24T08:10:00.000000Z', 4,"
            " '2026-11-24T08:00:00.000000Z', '2026-11-24T08:05:00.000000Z', 0)"
        )
    assert user_version(path) == 1

    with SQLiteStore.open(path) as store:
        assert user_version(path) == SCHEMA_VERSION
        (listed,) = store.list_incidents(
            IncidentQuery(statuses=[IncidentStatus.ACKNOWLEDGED])
        ).items
        assert listed.id == "inc-old"
        assert listed.assignee == "an"
        assert listed.last_seen == datetime(2026, 11, 24, 8, 10, tzinfo=UTC)
        assert store.open_incidents(
            [GroupKey("r-brute", "user.name", "root", "So TTTT")], since=at(0)
        )
    with raw(path) as connection:
        indexes = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    assert {"incidents_status", "incidents_last_seen", "incidents_organization"} <= indexes


def test_a_database_from_a_newer_canhgac_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "canhgac.sqlite3"
    with SQLiteStore.open(path) as store:
        store.write(WriteBatch(events=[event(1)]))
    with raw(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    with pytest.raises(StoreError, match="upgrade canhgac"):
        SQLiteStore.open(path)
    assert user_version(path) == SCHEMA_VERSION + 1


def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "canhgac.sqlite3"
    with raw(path) as connection:
        # A table of the same name that is not ours: migration 1 cannot create its own.
        connection.execute("CREATE TABLE events (something TEXT)")
    with pytest.raises(StoreError, match="schema version 0"):
        SQLiteStore.open(path)
    assert user_version(path) == 0
    with raw(path) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert tables == {"events"}


# -- indexes ------------------------------------------------------------------------

_EACH_FILTER = [
    IncidentQuery(),
    IncidentQuery(statuses=[IncidentStatus.NEW]),
    IncidentQuery(statuses=[IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED]),
    IncidentQuery(severities=[Severity.HIGH]),
    IncidentQuery(severities=[Severity.HIGH, Severity.CRITICAL]),
    IncidentQuery(systems=["portal"]),
    IncidentQuery(organizations=["So TTTT"]),
    IncidentQuery(since=at(0)),
    IncidentQuery(until=at(0)),
    # Incident triage (issue 5): rule, entity, free text, organization scope, each sort.
    IncidentQuery(rules=["r-sqli"]),
    IncidentQuery(entities=["203.113.131.5"]),
    IncidentQuery(text="portal injection"),
    IncidentQuery(scope=("So TTTT",)),
    IncidentQuery(scope=("So TTTT",), statuses=[IncidentStatus.NEW], text="portal"),
    *(IncidentQuery(sort=sort) for sort in IncidentSort),
    *(IncidentQuery(sort=sort, statuses=[IncidentStatus.NEW]) for sort in IncidentSort),
    *(IncidentQuery(sort=sort, scope=("So TTTT",)) for sort in IncidentSort),
    # The speed target (issue 5): the pairs the benchmark and the panel filter by.
    IncidentQuery(statuses=[IncidentStatus.NEW], severities=[Severity.HIGH]),
    IncidentQuery(organizations=["So TTTT"], systems=["portal"]),
]

# The filters the panel and the dashboard send (one value each) and the benchmark's
# pairs: their page is read from an index already in the listing's order, never sorted.
_IN_ORDER = [
    IncidentQuery(),
    IncidentQuery(statuses=[IncidentStatus.NEW]),
    IncidentQuery(severities=[Severity.HIGH]),
    IncidentQuery(systems=["portal"]),
    IncidentQuery(organizations=["So TTTT"]),
    IncidentQuery(rules=["r-sqli"]),
    IncidentQuery(entities=["203.113.131.5"]),
    IncidentQuery(scope=("So TTTT",)),
    IncidentQuery(statuses=[IncidentStatus.NEW], severities=[Severity.HIGH]),
    IncidentQuery(organizations=["So TTTT"], systems=["portal"]),
    IncidentQuery(statuses=[IncidentStatus.NEW], since=at(0)),
    # Several values: one index range per combination, merged in order.
    IncidentQuery(severities=[Severity.HIGH, Severity.CRITICAL]),
    IncidentQuery(
        statuses=[IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED],
        severities=[Severity.HIGH, Severity.CRITICAL],
    ),
    IncidentQuery(scope=("So TTTT", "So 1")),
    IncidentQuery(organizations=["So TTTT", "So 2"], scope=("So TTTT", "So 1"), systems=["egov"]),
]


def _plan(connection: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[str]:
    return [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql, params)]


def _full_scans(plan: list[str]) -> list[str]:
    """Plan steps that read the whole incidents table rather than an index (or the
    whole free-text index rather than its matches)."""
    return [
        step
        for step in plan
        if (step.split()[:2] == ["SCAN", "incidents"] and "USING" not in step)
        or (step.startswith("SCAN incidents_text") and "INDEX 0:M" not in step)
    ]


def _listing_plans(store: SQLiteStore, query: IncidentQuery) -> tuple[list[str], list[str]]:
    """The query plans of a listing's page and of its capped total."""
    listing = incident_listing_sql(query)
    with raw(store.path) as connection:
        return (
            _plan(connection, listing.page_sql, listing.page_params),
            _plan(connection, listing.count_sql, listing.count_params),
        )


@pytest.mark.parametrize("query", _EACH_FILTER)
@pytest.mark.parametrize("with_cursor", [False, True])
def test_listing_never_scans_the_incidents_table(
    sqlite_store: SQLiteStore, query: IncidentQuery, with_cursor: bool
) -> None:
    sqlite_store.write(
        WriteBatch(new_incidents=[incident(f"n{n}", last=n, entity_value=str(n)) for n in range(3)])
    )
    if with_cursor:
        cursor = sqlite_store.list_incidents(IncidentQuery(limit=1, sort=query.sort)).next_cursor
        assert cursor is not None
        query = replace(query, cursor=cursor)
    page_plan, count_plan = _listing_plans(sqlite_store, query)
    assert _full_scans(page_plan) == [], page_plan
    assert _full_scans(count_plan) == [], count_plan
    assert any("incidents" in step for step in page_plan)


def _varied_incidents(count: int) -> list[Incident]:
    """Incidents spread over statuses, severities, systems, organizations, rules and
    addresses, as the benchmark stores them, for the planner's statistics to see."""
    statuses, severities = list(IncidentStatus), list(Severity)
    return [
        incident(
            f"v{n}",
            first=n,
            last=n + 5,
            rule=f"r-{n % 40}" if n % 40 else "r-sqli",
            entity_value=f"203.113.131.{n % 50}",
            severity=severities[n % len(severities)],
            status=statuses[n // 5 % len(statuses)],
            system=("portal", "egov", "qlvb", "lgsp", "baocao", "hop", "app")[n % 7],
            org=f"So {n % 9}" if n % 9 else "So TTTT",
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("query", _IN_ORDER)
@pytest.mark.parametrize("analyzed", [False, True])
@pytest.mark.parametrize("with_cursor", [False, True])
def test_filtered_pages_come_in_index_order_and_the_total_counts_on_an_index(
    sqlite_store: SQLiteStore, query: IncidentQuery, analyzed: bool, with_cursor: bool
) -> None:
    sqlite_store.write(WriteBatch(new_incidents=_varied_incidents(1_000)))
    if analyzed:  # what `maintain` leaves the planner after PRAGMA optimize
        with raw(sqlite_store.path) as connection:
            connection.execute("ANALYZE")
    if with_cursor:
        cursor = sqlite_store.list_incidents(replace(query, limit=3)).next_cursor
        assert cursor is not None
        query = replace(query, cursor=cursor)
    page_plan, count_plan = _listing_plans(sqlite_store, query)
    assert _full_scans(page_plan) == [], page_plan
    assert not any("TEMP B-TREE" in step for step in page_plan), page_plan
    assert _full_scans(count_plan) == [], count_plan
    # Every filter is a lookup in the one index read, so a page reads only its matches.
    wanted = _filtered_columns(query)
    for plan in (page_plan, count_plan):
        assert any(all(f"{c}=?" in step for c in wanted) for step in plan), (wanted, plan)


def _filtered_columns(query: IncidentQuery) -> list[str]:
    pairs = (
        ("status", query.statuses),
        ("severity", query.severities),
        ("system", query.systems),
        ("organization", (*query.organizations, *(query.scope or ()))),
        ("rule_id", query.rules),
        ("entity_value", query.entities),
    )
    return [column for column, values in pairs if values]


def test_the_capped_count_stops_one_past_the_cap(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write(
        WriteBatch(new_incidents=[incident(f"n{n}", entity_value=str(n)) for n in range(7)])
    )
    listing = incident_listing_sql(IncidentQuery(total_cap=4))
    with raw(sqlite_store.path) as connection:
        counted = connection.execute(listing.count_sql, listing.count_params).fetchone()[0]
    assert counted == 5
    page = sqlite_store.list_incidents(IncidentQuery(total_cap=4, limit=2))
    assert (page.total, page.total_relation) == (4, "gte")


@pytest.mark.parametrize(
    ("since", "until", "scope"),
    [(None, None, None), (at(0), at(60), None), (None, None, ("So TTTT",)), (at(0), None, ())],
)
def test_every_stats_query_reads_an_index(
    sqlite_store: SQLiteStore,
    since: datetime | None,
    until: datetime | None,
    scope: tuple[str, ...] | None,
) -> None:
    sqlite_store.write(
        WriteBatch(new_incidents=[incident(f"n{n}", last=n, entity_value=str(n)) for n in range(3)])
    )
    statements = stats_statements(since, until, scope, at(120))
    assert set(statements) == {
        "grouped",
        "top_rules",
        "top_source_addresses",
        "by_hour",
        "by_day",
    }
    with raw(sqlite_store.path) as connection:
        for name, (sql, params) in statements.items():
            plan = _plan(connection, sql, params)
            assert _full_scans(plan) == [], (name, plan)


@pytest.mark.parametrize(
    ("since", "until", "scope"),
    [(None, None, None), (at(100), at(900), None), (None, None, ("So TTTT", "So 1"))],
)
def test_with_the_planners_statistics_stats_read_covering_indexes(
    sqlite_store: SQLiteStore,
    since: datetime | None,
    until: datetime | None,
    scope: tuple[str, ...] | None,
) -> None:
    sqlite_store.write(WriteBatch(new_incidents=_varied_incidents(1_000)))
    statements = stats_statements(since, until, scope, at(1_200))
    with raw(sqlite_store.path) as connection:
        connection.execute("ANALYZE")
        plans = {name: _plan(connection, *statement) for name, statement in statements.items()}
    for name, plan in plans.items():
        assert _full_scans(plan) == [], (name, plan)
    # Each bucket of the series is a range of the created_at index, whatever the scope.
    for name in ("by_hour", "by_day"):
        assert any("COVERING INDEX incidents_created (created_at>" in s for s in plans[name])
    if (since, until, scope) == (None, None, None):  # read on the covering indexes alone
        assert any("COVERING INDEX incidents_rule_created" in s for s in plans["top_rules"])
        assert any(
            "COVERING INDEX incidents_source_address_created" in step
            for step in plans["top_source_addresses"]
        )


def test_the_stats_breakdowns_are_one_pass_over_a_covering_index_in_group_order(
    sqlite_store: SQLiteStore,
) -> None:
    sqlite_store.write(WriteBatch(new_incidents=_varied_incidents(1_000)))
    sql, params = stats_statements(None, None, None, at(120))["grouped"]
    with raw(sqlite_store.path) as connection:
        connection.execute("ANALYZE")
        plan = _plan(connection, sql, params)
    assert plan == ["SCAN incidents USING COVERING INDEX incidents_stats"], plan


@pytest.mark.parametrize("scope", [None, ("So TTTT",)])
def test_the_change_feed_reads_its_index(
    sqlite_store: SQLiteStore, scope: tuple[str, ...] | None
) -> None:
    start = sqlite_store.incidents_changed_since(None, scope).cursor
    sqlite_store.write(WriteBatch(new_incidents=[incident("a")]))
    sqlite_store.incidents_changed_since(start, scope)  # the statement works as planned
    where = "change_seq > ?" + ("" if scope is None else " AND " + _sqlite_triage.IN_SCOPE)
    params: tuple[object, ...] = (0,) if scope is None else (0, '["So TTTT"]')
    with raw(sqlite_store.path) as connection:
        plan = _plan(
            connection,
            f"SELECT id FROM incidents WHERE {where} ORDER BY change_seq LIMIT 200",
            params,
        )
        top = _plan(connection, _sqlite_triage._TOP_CHANGE, ())
    assert _full_scans(plan) == [], plan
    assert any("incidents_change_seq" in step for step in top), top


def test_the_full_scan_check_recognises_a_full_scan(sqlite_store: SQLiteStore) -> None:
    with raw(sqlite_store.path) as connection:
        plan = _plan(connection, "SELECT id FROM incidents WHERE title = ?", ("x",))
    assert _full_scans(plan) == ["SCAN incidents"]


def test_the_grouping_lookup_uses_its_index(sqlite_store: SQLiteStore) -> None:
    with raw(sqlite_store.path) as connection:
        plan = _plan(
            connection,
            _sqlite._OPEN_INCIDENTS,
            ('[["r", "source.ip", "1.2.3.4", null]]', '["new"]', "2026-11-24T00:00:00.000000Z"),
        )
    assert any("USING INDEX incidents_grouping" in step for step in plan), plan
    assert _full_scans(plan) == []


# -- threads and locks --------------------------------------------------------------


def test_readers_see_committed_data_while_another_writer_holds_the_lock(
    sqlite_store: SQLiteStore,
) -> None:
    sqlite_store.write(WriteBatch(events=[event(1)]))
    with raw(sqlite_store.path) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO dead_letters (source, reason, raw, received_at)"
            " VALUES ('s', 'r', 'x', '2026-11-24T08:00:00.000000Z')"
        )
        # The other writer has not committed: readers are not blocked and see the old state.
        assert sqlite_store.counts() == StoreCounts(1, 0, 0, 0, 0)
        other.execute("COMMIT")
    assert sqlite_store.counts() == StoreCounts(1, 0, 0, 0, 1)


def test_a_write_blocked_by_another_process_fails_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite, "BUSY_TIMEOUT_SECONDS", 0.05)
    with SQLiteStore.open(tmp_path / "canhgac.sqlite3") as store, raw(store.path) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="another process"):
            store.write(WriteBatch(events=[event(1)]))
        other.execute("ROLLBACK")
        store.write(WriteBatch(events=[event(1)]))
        assert store.known_event_ids(["e1"]) == {"e1"}


def test_a_reader_thread_works_while_the_pipeline_writes(sqlite_store: SQLiteStore) -> None:
    batches = 40

    def write() -> None:
        for b in range(batches):
            new = incident(f"b{b}", first=b, entity_value=f"10.0.0.{b}")
            sqlite_store.write(
                WriteBatch(
                    events=[event(b * 100 + n, b) for n in range(100)],
                    new_incidents=[new],
                    alerts=[alert(b, b, ip=f"10.0.0.{b}")],
                    alert_incidents={f"a{b}": new.id},
                )
            )

    def read(writer: Future[None]) -> list[int]:
        seen: list[int] = []
        while not writer.done():
            counts = sqlite_store.counts()
            # One batch is one transaction: a reader sees all of it or none of it.
            assert counts.events == counts.incidents * 100 == counts.alerts * 100
            page = sqlite_store.list_incidents(IncidentQuery(limit=10))
            assert page.total >= counts.incidents
            assert len(page.items) == min(10, page.total)
            seen.append(counts.events)
        return seen

    with ThreadPoolExecutor(max_workers=2) as pool:
        writer = pool.submit(write)
        reader = pool.submit(read, writer)
        writer.result(timeout=60)
        seen = reader.result(timeout=60)

    assert seen == sorted(seen)
    assert sqlite_store.counts() == StoreCounts(
        events=batches * 100,
        alerts=batches,
        incidents=batches,
        open_incidents=batches,
        dead_letters=0,
    )


def test_close_closes_the_connections_of_every_thread(sqlite_store: SQLiteStore) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(lambda: sqlite_store.counts().events).result() == 0
        sqlite_store.close()
        with pytest.raises(StoreError, match="closed"):
            pool.submit(sqlite_store.counts).result()
    with pytest.raises(StoreError, match="closed"):
        sqlite_store.counts()
    with pytest.raises(StoreError, match="closed"):
        sqlite_store.maintain()


def test_maintain_keeps_the_data(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write(WriteBatch(events=[event(n) for n in range(50)]))
    sqlite_store.maintain()
    assert sqlite_store.counts().events == 50
    assert [e.id for e in sqlite_store.get_events(["e7"])] == ["e7"]


# -- text SQLite cannot hold --------------------------------------------------------


def test_lone_surrogates_never_fail_a_batch(sqlite_store: SQLiteStore) -> None:
    odd = "admin\udcff"  # a byte 0xff decoded with errors="surrogateescape"
    sqlite_store.write(
        WriteBatch(
            events=[event(1, user__name=odd, event__original=f"login {odd}")],
            dead_letters=[DeadLetter("udp-514", "invalid UTF-8", f"raw {odd}", at(0))],
            new_incidents=[incident("a", entity_field="user.name", entity_value=odd)],
        )
    )
    (read,) = sqlite_store.get_events(["e1"])
    assert read.fields["user.name"] == odd  # the event document keeps the exact text
    assert sqlite_store.dead_letters()[0].raw == "raw admin\ufffd"  # columns get U+FFFD
    assert sqlite_store.open_incidents(
        [GroupKey("r-sqli", "user.name", odd, "So TTTT")], since=at(0)
    )


def test_integers_beyond_64_bits_read_back_exactly(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write(WriteBatch(events=[event(1, big=2**70, small=-(2**64))]))
    (read,) = sqlite_store.get_events(["e1"])
    assert read.fields["big"] == 2**70
    assert read.fields["small"] == -(2**64)


# -- what SQLiteStore adds to the Store ---------------------------------------------


def test_api_keys_can_be_listed_and_revoked(sqlite_store: SQLiteStore) -> None:
    first = ApiKeyRecord("k1", "ioc-dashboard", Role.VIEWER, "a" * 64, at(1))
    second = ApiKeyRecord("k2", "analyst-lan", Role.ANALYST, "b" * 64, at(2))
    sqlite_store.add_api_key(second)
    sqlite_store.add_api_key(first)
    assert sqlite_store.api_keys() == [first, second]

    assert sqlite_store.revoke_api_key("k2") is True
    assert sqlite_store.revoke_api_key("k-none") is False
    revoked = sqlite_store.api_key_by_hash("b" * 64)
    assert revoked is not None
    assert revoked.revoked is True


def test_updates_and_growths_are_stamped_by_the_clock(
    sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    sqlite_store.write(WriteBatch(new_incidents=[incident("a")]))
    grown_at = clock.advance(3)
    sqlite_store.write(
        WriteBatch(incident_growths=[IncidentGrowth("inc-a", 1, at(2), Severity.LOW)])
    )
    stored = sqlite_store.get_incident("inc-a")
    assert stored is not None
    assert stored.updated_at == grown_at


# -- the statistics' cache ------------------------------------------------------------


@dataclass
class CountingStats:
    """Stands in for the statistics' computation: counts the calls, and can hold each
    one until the test lets it finish."""

    calls: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.release.set()
        self._compute = _sqlite_triage.incident_stats

    def __call__(self, *args: Any) -> IncidentStats:
        self.calls += 1
        assert self.release.wait(timeout=30), "the test never let the computation finish"
        return self._compute(*args)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingStats:
    counter = CountingStats()
    # The store calls the computation by this name: the seam the tests count through.
    monkeypatch.setattr("canhgac.storage._sqlite.incident_stats", counter)
    return counter


def _status_counts(stats: IncidentStats) -> dict[str | None, int]:
    return {entry.key: entry.count for entry in stats.by_status}


def test_stats_are_computed_once_while_nothing_changes(
    sqlite_store: SQLiteStore, counting: CountingStats
) -> None:
    sqlite_store.write(WriteBatch(new_incidents=[incident("a"), incident("b", first=1)]))
    first = sqlite_store.incident_stats(None, None, None)
    again = sqlite_store.incident_stats(None, None, None)
    assert again == first
    assert counting.calls == 1
    sqlite_store.incident_stats(at(0), None, None)  # another range is another figure
    sqlite_store.incident_stats(None, None, ("So TTTT",))  # and another scope
    assert counting.calls == 3


def test_stats_see_a_new_incident_and_an_analyst_change_at_once(
    sqlite_store: SQLiteStore, counting: CountingStats
) -> None:
    sqlite_store.write(WriteBatch(new_incidents=[incident("a")]))
    assert sqlite_store.incident_stats(None, None, None).total == 1

    sqlite_store.write(WriteBatch(new_incidents=[incident("b", first=1, org="So Y te")]))
    grown = sqlite_store.incident_stats(None, None, None)
    assert grown.total == 2
    assert {entry.key for entry in grown.by_organization} == {"So TTTT", "So Y te"}

    sqlite_store.update_incident(
        "inc-a", IncidentUpdate(status=IncidentStatus.ACKNOWLEDGED), actor="analyst"
    )
    changed = sqlite_store.incident_stats(None, None, None)
    assert _status_counts(changed) == {"new": 1, "acknowledged": 1}
    assert changed.mean_time_to_acknowledge_seconds is not None
    assert counting.calls == 3


def test_stats_see_a_removed_incident(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write(WriteBatch(new_incidents=[incident("a"), incident("b", first=1)]))
    assert sqlite_store.incident_stats(None, None, None).total == 2
    # Removed by hand (no canhgac path deletes incidents): the newest change stays.
    with raw(sqlite_store.path) as connection:
        connection.execute("DELETE FROM incidents WHERE id = 'inc-a'")
    assert sqlite_store.incident_stats(None, None, None).total == 1


def test_stats_move_to_the_next_hour_with_the_clock(
    sqlite_store: SQLiteStore, clock: FakeClock, counting: CountingStats
) -> None:
    sqlite_store.write(WriteBatch(new_incidents=[incident("a")]))
    before = sqlite_store.incident_stats(None, None, None)
    clock.advance(60)
    after = sqlite_store.incident_stats(None, None, None)
    assert after.by_hour[-1].start == before.by_hour[-1].start + timedelta(hours=1)
    assert counting.calls == 2


def test_concurrent_callers_share_one_computation(
    sqlite_store: SQLiteStore, counting: CountingStats
) -> None:
    sqlite_store.write(WriteBatch(new_incidents=[incident("a")]))
    counting.release.clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [pool.submit(sqlite_store.incident_stats, None, None, None) for _ in range(8)]
        # Let every caller reach the cache while the first computation is held.
        threading.Event().wait(0.3)
        counting.release.set()
        results = [answer.result(timeout=30) for answer in answers]
    assert counting.calls == 1
    assert all(result == results[0] for result in results)
    assert results[0].total == 1
