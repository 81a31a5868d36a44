"""`SQLiteStore`: the embedded default `Store`, one SQLite file in WAL mode.

One writer connection, guarded by a lock, takes the ingest pipeline's batches and the
analysts' updates; every other thread (the API's pool) reads through its own
connection, which WAL lets run while a write is under way.
"""

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import product
from math import prod
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from canhgac.correlator import Alert, Severity
from canhgac.events import DeadLetter, Event
from canhgac.incidents import (
    OPEN_STATUSES,
    AuditEntry,
    GroupKey,
    Incident,
    IncidentRef,
    IncidentUpdate,
)
from canhgac.storage._encoding import (
    dump_json,
    encode_cursor,
    format_time,
    load_json,
    parse_time,
    sql_text,
)
from canhgac.storage._event_search import check_event_query, sqlite_event_search
from canhgac.storage._incident_changes import (
    ResponseTimes,
    apply_update,
    audit_entries,
    comment_entry,
    response_times,
)
from canhgac.storage._incident_listing import (
    SORT_FIELDS,
    decode_page_cursor,
    encode_page_cursor,
    text_match,
)
from canhgac.storage._migrations import migrate
from canhgac.storage._model import (
    ApiKeyRecord,
    Checkpoint,
    EventQuery,
    IncidentChanges,
    IncidentQuery,
    IncidentSort,
    IncidentStats,
    OrganizationScope,
    Page,
    SourceCounters,
    SourceCountersReport,
    StoreCounts,
    WriteBatch,
)
from canhgac.storage._sqlite_rows import (
    alert_from_row,
    alert_row,
    api_key_from_row,
    api_key_row,
    audit_from_row,
    audit_row,
    dead_letter_from_row,
    dead_letter_row,
    event_from_row,
    event_row,
    incident_from_row,
    incident_row,
)
from canhgac.storage._sqlite_triage import (
    STATS_MARKER,
    TEXT_MATCH,
    incident_changes,
    incident_stats,
    merge_incidents,
)
from canhgac.storage._store import IncidentNotFoundError, StoreError

BUSY_TIMEOUT_SECONDS = 10.0
"""How long a connection waits for another process's lock before failing."""

_OPEN_STATUS_VALUES = tuple(status.value for status in OPEN_STATUSES)

_ERROR_HINTS = (
    ("locked", "another process is using the database; stop it or try again"),
    ("busy", "another process is using the database; stop it or try again"),
    ("readonly", "make the database file and its folder writable"),
    ("full", "free some disk space"),
    ("disk i/o", "check the disk the database is on"),
    ("not a database", "the file is not a canhgac database; move it aside or use another path"),
    ("malformed", "the file is damaged; restore a backup or move it aside"),
    ("foreign key", "an alert or audit entry names an incident that is not stored"),
    ("closed", "open the store again"),
)

# Lists of values are bound as one JSON array and read with json_each: one statement
# whatever the number of ids, and no SQL text built from data. Rows whose id is stored
# already are skipped (ON CONFLICT (id) DO NOTHING, which unlike INSERT OR IGNORE
# still fails on any other broken constraint).
_KNOWN_EVENT_IDS = "SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?))"
_SELECT_EVENTS = "SELECT id, ts, doc FROM events WHERE id IN (SELECT value FROM json_each(?))"
_INSERT_EVENTS = """
INSERT INTO events
    (id, ts, dataset, system, organization, source_ip, user_name, host_name, doc)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING
"""
_INSERT_DEAD_LETTERS = """
INSERT INTO dead_letters (source, path, line_number, reason, raw, received_at)
VALUES (?, ?, ?, ?, ?, ?)
"""
_SELECT_DEAD_LETTERS = """
SELECT source, path, line_number, reason, raw, received_at
FROM dead_letters ORDER BY id DESC LIMIT ?
"""
_INCIDENT_COLUMNS = """id, title, rule_id, rule_title, severity, status, assignee,
    entity_field, entity_value, system, organization, first_seen, last_seen, alert_count,
    created_at, updated_at, merged_into"""
_SELECT_INCIDENT = """
SELECT id, title, rule_id, rule_title, severity, status, assignee,
    entity_field, entity_value, system, organization, first_seen, last_seen, alert_count,
    created_at, updated_at, merged_into, acknowledge_seconds, resolve_seconds
FROM incidents WHERE id = ?
"""
_INSERT_INCIDENTS = """
INSERT INTO incidents (id, title, rule_id, rule_title, severity, status, assignee,
    entity_field, entity_value, system, organization, first_seen, last_seen, alert_count,
    created_at, updated_at, severity_rank)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING
"""
# Growths only raise counts, times and severity: status, assignee and title stay the
# analyst's. In SET, every column reference reads the row as it was before the update.
_GROW_INCIDENT = """
UPDATE incidents SET
    alert_count = alert_count + ?1,
    last_seen = max(last_seen, ?2),
    severity = CASE WHEN ?3 > severity_rank THEN ?4 ELSE severity END,
    severity_rank = max(severity_rank, ?3),
    updated_at = ?5
WHERE id = ?6
"""
_STORED_INCIDENT_IDS = "SELECT id FROM incidents WHERE id IN (SELECT value FROM json_each(?))"
# ?1 is a JSON array of [rule_id, entity_field, entity_value, organization] keys, ?2 the
# open statuses, ?3 `since`. INDEXED BY: without statistics the planner would pick the
# organization index to save a sort, reading every incident of an agency.
_OPEN_INCIDENTS = """
WITH wanted AS (
    SELECT CAST(key AS INTEGER) AS n,
        json_extract(value, '$[0]') AS rule_id,
        json_extract(value, '$[1]') AS entity_field,
        json_extract(value, '$[2]') AS entity_value,
        json_extract(value, '$[3]') AS organization
    FROM json_each(?1)
),
found AS (
    SELECT w.n AS n, (
        SELECT i.id FROM incidents AS i INDEXED BY incidents_grouping
        WHERE i.rule_id = w.rule_id
            AND i.entity_field IS w.entity_field
            AND i.entity_value IS w.entity_value
            AND i.organization IS w.organization
            AND i.status IN (SELECT value FROM json_each(?2))
            AND i.window_closed = 0
            AND i.last_seen >= ?3
        ORDER BY i.last_seen DESC, i.id DESC
        LIMIT 1
    ) AS incident_id
    FROM wanted AS w
)
SELECT found.n, i.id, i.last_seen, i.severity
FROM found JOIN incidents AS i ON i.id = found.incident_id
"""
_CLOSE_WINDOWS = "UPDATE incidents SET window_closed = 1 WHERE window_closed = 0 AND last_seen < ?"
_SET_INCIDENT_WORKFLOW = """
UPDATE incidents SET status = ?, assignee = ?, severity = ?, severity_rank = ?,
    acknowledge_seconds = ?, resolve_seconds = ?, updated_at = ?
WHERE id = ?
"""
_INSERT_ALERTS = """
INSERT INTO alerts (id, rule_id, rule_title, severity, ts, incident_id, system,
    organization, entities, tags, description, event_ids)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING
"""
_SELECT_INCIDENT_ALERTS = """
SELECT id, rule_id, rule_title, severity, ts, incident_id, system,
    organization, entities, tags, description, event_ids
FROM alerts WHERE incident_id = ? ORDER BY ts, id LIMIT ?
"""
_INSERT_AUDIT = """
INSERT INTO audit (incident_id, at, actor, action, field, old_value, new_value, reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_SELECT_AUDIT = """
SELECT incident_id, at, actor, action, field, old_value, new_value, reason
FROM audit WHERE incident_id = ? ORDER BY id
"""
_SELECT_CHECKPOINT = "SELECT state FROM checkpoints WHERE name = ?"
_UPSERT_CHECKPOINT = """
INSERT INTO checkpoints (name, state, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
"""
_COUNTS = """
SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM alerts),
    (SELECT count(*) FROM incidents),
    (SELECT count(*) FROM incidents WHERE status IN (SELECT value FROM json_each(?))),
    (SELECT count(*) FROM dead_letters)
"""
_INSERT_API_KEY = """
INSERT INTO api_keys (id, name, role, key_hash, created_at, revoked, organizations)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
_SELECT_API_KEY_BY_HASH = """
SELECT id, name, role, key_hash, created_at, revoked, organizations
FROM api_keys WHERE key_hash = ?
"""
_SELECT_API_KEYS = """
SELECT id, name, role, key_hash, created_at, revoked, organizations
FROM api_keys ORDER BY created_at, id
"""
_REVOKE_API_KEY = "UPDATE api_keys SET revoked = 1 WHERE id = ?"


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- loss accounting: per-source counters, added to in each batch's transaction --------

# In DO UPDATE, bare column names are the stored row. SQLite's max() of a NULL is NULL,
# hence the coalesce: a batch without events keeps the stored last_event.
_ADD_SOURCE_COUNTERS = """
INSERT INTO source_counters (source, received, parsed, dead_lettered, duplicates,
    aggregated, dropped, late, last_event, last_batch)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source) DO UPDATE SET
    received = received + excluded.received,
    parsed = parsed + excluded.parsed,
    dead_lettered = dead_lettered + excluded.dead_lettered,
    duplicates = duplicates + excluded.duplicates,
    aggregated = aggregated + excluded.aggregated,
    dropped = dropped + excluded.dropped,
    late = late + excluded.late,
    last_event = max(coalesce(last_event, excluded.last_event),
        coalesce(excluded.last_event, last_event)),
    last_batch = max(coalesce(last_batch, excluded.last_batch),
        coalesce(excluded.last_batch, last_batch))
"""
_SELECT_SOURCE_COUNTERS = """
SELECT source, received, parsed, dead_lettered, duplicates, aggregated, dropped, late,
    last_event, last_batch
FROM source_counters ORDER BY source
"""


def _source_counters_row(counters: SourceCounters) -> tuple[Any, ...]:
    return (
        sql_text(counters.source),
        counters.received,
        counters.parsed,
        counters.dead_lettered,
        counters.duplicates,
        counters.aggregated,
        counters.dropped,
        counters.late,
        None if counters.last_event is None else format_time(counters.last_event),
        None if counters.last_batch is None else format_time(counters.last_batch),
    )


def _source_counters_from_row(row: Sequence[Any]) -> SourceCounters:
    return SourceCounters(
        source=row[0],
        received=row[1],
        parsed=row[2],
        dead_lettered=row[3],
        duplicates=row[4],
        aggregated=row[5],
        dropped=row[6],
        late=row[7],
        last_event=None if row[8] is None else parse_time(row[8]),
        last_batch=None if row[9] is None else parse_time(row[9]),
    )


@dataclass(frozen=True, slots=True)
class IncidentListingSql:
    """The two statements behind `list_incidents`: one page, and the capped total
    (which counts at most `total_cap + 1` matches)."""

    page_sql: str
    page_params: tuple[Any, ...]
    count_sql: str
    count_params: tuple[Any, ...]


MAX_MERGED_RANGES = 64
"""How many index ranges (one per combination of the filters' values) a page may merge
in order; a listing with more sorts its matches instead."""

_Clause = tuple[str, tuple[Any, ...]]


def _filter_values(query: IncidentQuery) -> list[tuple[str, list[str | None]]]:
    """Each filtered column with its distinct values; the scope narrows the organizations
    (an empty list of values keeps no incident)."""
    organizations = list(dict.fromkeys(sql_text(org) for org in query.organizations))
    if query.scope is not None:
        scope = [sql_text(org) for org in query.scope]
        organizations = [org for org in organizations if org in scope] if organizations else scope
    filters: list[tuple[str, list[str | None]]] = [
        (column, list(dict.fromkeys(values)))
        for column, values in (
            ("status", [s.value for s in query.statuses]),
            ("severity", [s.value for s in query.severities]),
            ("system", [sql_text(s) for s in query.systems]),
            ("rule_id", [sql_text(r) for r in query.rules]),
            ("entity_value", [sql_text(v) for v in query.entities]),
        )
        if values
    ]
    if query.organizations or query.scope is not None:
        filters.insert(2, ("organization", organizations))
    return filters


def _any_of(column: str, values: Sequence[str | None]) -> _Clause:
    """The clause keeping rows whose `column` is one of `values`. One value is an
    equality, which lets an index on (column, last_seen, id) hand the page over in order;
    several are one JSON array read with json_each (none keeps nothing)."""
    if len(values) == 1:
        return f"{column} = ?", (values[0],)
    return f"{column} IN (SELECT value FROM json_each(?))", (dump_json(list(values)),)  # noqa: S608


def _where(clauses: Sequence[_Clause]) -> _Clause:
    text = " AND ".join(clause for clause, _ in clauses) or "1"
    return text, tuple(value for _, values in clauses for value in values)


def incident_listing_sql(query: IncidentQuery) -> IncidentListingSql:
    """The SQL of a listing: filters of `query`, in its sort order, after the cursor.

    Raises StoreError for a limit below 1 or a negative total cap, and
    InvalidCursorError for a bad cursor.
    """
    if query.limit < 1:
        raise StoreError(f"the page size must be at least 1, not {query.limit}")
    if query.total_cap < 0:
        raise StoreError(f"the total's cap must be 0 or more, not {query.total_cap}")
    filters = _filter_values(query)
    others: list[_Clause] = []
    if (match := text_match(query.text)) is not None:
        others.append((TEXT_MATCH, (sql_text(match),)))
    if query.since is not None:
        others.append(("last_seen >= ?", (format_time(query.since),)))
    if query.until is not None:
        others.append(("first_seen < ?", (format_time(query.until),)))
    fields = SORT_FIELDS[query.sort]
    if query.cursor is not None:
        after = decode_page_cursor(query.cursor, query.sort)
        others_after = [
            *others,
            (f"({', '.join(fields)}) < ({', '.join('?' * len(fields))})", tuple(after)),
        ]
    else:
        others_after = others
    order = ", ".join(f"{name} DESC" for name in fields)
    count_where, count_params = _where([*(_any_of(c, v) for c, v in filters), *others])
    # Only this function's fixed clauses and names are joined into the SQL; values are bound.
    select = f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE "  # noqa: S608
    several = [(column, values) for column, values in filters if len(values) > 1]
    arms = prod(len(values) for _, values in several)
    if several and query.sort is IncidentSort.LAST_SEEN and arms <= MAX_MERGED_RANGES:
        # One index range per combination of values, each read in order and merged (a
        # compound SELECT's ORDER BY): the page reads no more than it shows.
        single = [_any_of(c, v) for c, v in filters if len(v) == 1]
        parts = [
            _where(
                [
                    *single,
                    *(_any_of(c, (v,)) for (c, _), v in zip(several, combination, strict=True)),
                    *others_after,
                ]
            )
            for combination in product(*(values for _, values in several))
        ]
        page_sql = " UNION ALL ".join(select + where for where, _ in parts)
        page_params = tuple(value for _, values in parts for value in values)
    else:
        where, page_params = _where([*(_any_of(c, v) for c, v in filters), *others_after])
        page_sql = select + where
    # Counting stops one past the cap: enough to tell "exactly n" from "at least cap".
    count_sql = f"SELECT count(*) FROM (SELECT 1 FROM incidents WHERE {count_where} LIMIT ?)"  # noqa: S608
    # One row more than the page tells whether another page follows.
    return IncidentListingSql(
        f"{page_sql} ORDER BY {order} LIMIT ?",
        (*page_params, query.limit + 1),
        count_sql,
        (*count_params, query.total_cap + 1),
    )


STATS_CACHE_KEYS = 64
"""How many (time range, scope, hour) combinations the statistics cache keeps."""

_StatsKey = tuple[datetime | None, datetime | None, OrganizationScope, datetime]
_StatsMarker = tuple[int, int]


@dataclass(slots=True)
class _StatsSlot:
    """One key's figures with the change marker they were read at, and the lock its
    computation holds, so that concurrent callers wait for it rather than repeat it."""

    lock: threading.Lock
    # One attribute, replaced whole, so that a reader never pairs a marker with other figures.
    computed: tuple[_StatsMarker, IncidentStats] | None = None

    def fresh(self, marker: _StatsMarker) -> IncidentStats | None:
        computed = self.computed
        return computed[1] if computed is not None and computed[0] == marker else None


class _StatsCache:
    """The dashboard's figures by key, exact: an entry serves only while the store's
    change marker is the one it was computed at (no time to live)."""

    def __init__(self, keys: int) -> None:
        self._keys = keys
        self._slots: OrderedDict[_StatsKey, _StatsSlot] = OrderedDict()
        self._guard = threading.Lock()

    def slot(self, key: _StatsKey) -> _StatsSlot:
        with self._guard:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _StatsSlot(threading.Lock())
                while len(self._slots) > self._keys:
                    self._slots.popitem(last=False)
            else:
                self._slots.move_to_end(key)
            return slot


def _stats_marker(connection: sqlite3.Connection) -> _StatsMarker:
    top, count = connection.execute(STATS_MARKER).fetchone()
    return int(top), int(count)


def _connect(path: Path, *, reader: bool) -> sqlite3.Connection:
    # Autocommit mode: transactions are begun explicitly (BEGIN IMMEDIATE for writes).
    connection = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        if reader:
            connection.execute("PRAGMA query_only = ON")
    except sqlite3.Error:
        connection.close()
        raise
    return connection


class SQLiteStore:
    """The `Store` in one SQLite file. Create it with `SQLiteStore.open(path)`.

    Thread-safe: writes serialize on one connection; each reading thread gets its own.
    Use it as a context manager, or call `close()`.
    """

    def __init__(
        self, path: Path, writer: sqlite3.Connection, clock: Callable[[], datetime]
    ) -> None:
        """Use `SQLiteStore.open`; this takes a writer connection already migrated."""
        self.path = path
        self._writer = writer
        self._write_lock = threading.Lock()
        self._clock = clock
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._stats_cache = _StatsCache(STATS_CACHE_KEYS)

    @classmethod
    def open(cls, path: Path, *, clock: Callable[[], datetime] = _utc_now) -> Self:
        """Open the database at `path`, creating its folder and file and running any
        missing migrations. `clock` stamps updates, audit entries and checkpoints.

        Raises StoreError when the file cannot be opened or upgraded, or was written by
        a newer canhgac.
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder {path.parent} for the database: {exc.strerror}; "
                "create it or choose another data_dir"
            ) from exc
        try:
            writer = _connect(path, reader=False)
        except sqlite3.Error as exc:
            raise StoreError(_failure_message(f"opening {path}", exc)) from exc
        ready = False
        try:
            journal = writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(journal).lower() != "wal":
                raise StoreError(
                    f"cannot use write-ahead logging for {path} (journal mode {journal}); "
                    "put the database on a local file system"
                )
            _require_json_functions(writer)
            migrate(writer, str(path))
            ready = True
        except sqlite3.Error as exc:
            raise StoreError(_failure_message(f"opening {path}", exc)) from exc
        finally:
            if not ready:
                writer.close()
        return cls(path, writer, clock)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection; later calls raise StoreError. Closing twice is fine."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            self._writer.close()
        with self._readers_lock:
            for connection in self._readers:
                connection.close()
            self._readers.clear()

    # -- connections and transactions ------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(
                f"the store of {self.path} is closed; open it again with SQLiteStore.open"
            )

    def _reader(self) -> sqlite3.Connection:
        self._check_open()
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            with self._readers_lock:
                self._check_open()
                connection = _connect(self.path, reader=True)
                self._readers.append(connection)
            self._local.connection = connection
        return connection

    @contextmanager
    def _reading(self, action: str, *, snapshot: bool = False) -> Iterator[sqlite3.Connection]:
        """This thread's reader; with `snapshot`, its statements see one state of the file."""
        try:
            connection = self._reader()
            if not snapshot:
                yield connection
                return
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                connection.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(_failure_message(f"{action} in {self.path}", exc)) from exc

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """The writer, inside BEGIN IMMEDIATE ... COMMIT; any error rolls everything back."""
        with self._write_lock:
            self._check_open()
            connection = self._writer
            committed = False
            try:
                connection.execute("BEGIN IMMEDIATE")
                yield connection
                connection.execute("COMMIT")
                committed = True
            except sqlite3.Error as exc:
                raise StoreError(
                    _failure_message(f"{action} in {self.path}", exc) + "; nothing was written"
                ) from exc
            finally:
                if not committed and connection.in_transaction:
                    connection.rollback()

    # -- ingest side -----------------------------------------------------------------

    def known_event_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these event ids are stored already."""
        with self._reading("looking up event ids") as connection:
            rows = connection.execute(_KNOWN_EVENT_IDS, (dump_json(list(ids)),)).fetchall()
        return {row[0] for row in rows}

    def open_incidents(
        self, keys: Iterable[GroupKey], since: datetime
    ) -> dict[GroupKey, IncidentRef]:
        """For each key, the most recent open incident with an open window and
        last_seen >= since, if any."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        wanted = dump_json(
            [
                (
                    key.rule_id,
                    key.entity_field,
                    sql_text(key.entity_value),
                    sql_text(key.organization),
                )
                for key in unique
            ]
        )
        with self._reading("looking up open incidents") as connection:
            rows = connection.execute(
                _OPEN_INCIDENTS, (wanted, dump_json(_OPEN_STATUS_VALUES), format_time(since))
            ).fetchall()
        return {
            unique[n]: IncidentRef(incident_id, parse_time(last_seen), Severity(severity))
            for n, incident_id, last_seen, severity in rows
        }

    def write(self, batch: WriteBatch) -> None:
        """Write the whole batch in one transaction, or nothing (StoreError).

        Events, alerts and new incidents whose ids are stored already are skipped;
        growths add to the stored incident and must name one that exists.
        """
        now = format_time(self._clock())
        # Rows are built before the transaction so that the write lock is held briefly.
        events = [event_row(event) for event in batch.events]
        letters = [dead_letter_row(letter) for letter in batch.dead_letters]
        incidents = [incident_row(incident) for incident in batch.new_incidents]
        growths = [
            (
                growth.added_alerts,
                format_time(growth.last_seen),
                growth.severity.rank,
                growth.severity.value,
                now,
                growth.incident_id,
            )
            for growth in batch.incident_growths
        ]
        alerts = [alert_row(alert, batch.alert_incidents.get(alert.id)) for alert in batch.alerts]
        checkpoints = [
            (checkpoint.name, dump_json(dict(checkpoint.state)), now)
            for checkpoint in batch.checkpoints
        ]
        counters = [_source_counters_row(counters) for counters in batch.source_counters]
        if not (events or letters or incidents or growths or alerts or checkpoints or counters):
            return
        with self._transaction("writing a batch") as connection:
            if events:
                connection.executemany(_INSERT_EVENTS, events)
            if letters:
                connection.executemany(_INSERT_DEAD_LETTERS, letters)
            if incidents:
                connection.executemany(_INSERT_INCIDENTS, incidents)
            if growths:
                grown = connection.executemany(_GROW_INCIDENT, growths).rowcount
                if grown != len(growths):
                    _refuse_missing_growths(connection, batch)
            if alerts:
                connection.executemany(_INSERT_ALERTS, alerts)
            if checkpoints:
                connection.executemany(_UPSERT_CHECKPOINT, checkpoints)
            if counters:
                connection.executemany(_ADD_SOURCE_COUNTERS, counters)

    def checkpoint(self, name: str) -> Checkpoint | None:
        """The collector position last written under `name`, or None."""
        with self._reading("reading a checkpoint") as connection:
            row = connection.execute(_SELECT_CHECKPOINT, (name,)).fetchone()
        return None if row is None else Checkpoint(name, load_json(row[0]))

    def close_incident_windows(self, before: datetime) -> int:
        """Stop grouping into incidents last seen before `before`; returns how many."""
        before_text = format_time(before)
        with self._transaction("closing incident windows") as connection:
            return connection.execute(_CLOSE_WINDOWS, (before_text,)).rowcount

    def maintain(self) -> None:
        """Copy the journal into the database without waiting for readers, and refresh
        the query planner's statistics."""
        with self._write_lock:
            self._check_open()
            try:
                # PASSIVE never blocks the API's readers; the WAL file is reused anyway.
                self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self._writer.execute("PRAGMA optimize").fetchall()
            except sqlite3.Error as exc:
                raise StoreError(_failure_message(f"maintaining {self.path}", exc)) from exc

    # -- read side ---------------------------------------------------------------------

    def list_incidents(self, query: IncidentQuery) -> Page[Incident]:
        """One page of incidents matching `query`, newest last_seen first; `total`
        counts the matches exactly up to `query.total_cap` (see Page). Raises
        InvalidCursorError for a cursor not taken from a page.
        """
        listing = incident_listing_sql(query)
        with self._reading("listing incidents", snapshot=True) as connection:
            rows = connection.execute(listing.page_sql, listing.page_params).fetchall()
            counted = connection.execute(listing.count_sql, listing.count_params).fetchone()[0]
        items = [incident_from_row(row) for row in rows[: query.limit]]
        next_cursor = None
        if len(rows) > query.limit:
            next_cursor = encode_page_cursor(items[-1], query.sort)
        if counted > query.total_cap:
            return Page(items, query.total_cap, next_cursor, total_relation="gte")
        return Page(items=items, total=counted, next_cursor=next_cursor)

    def get_incident(self, incident_id: str) -> Incident | None:
        with self._reading("reading an incident") as connection:
            row = connection.execute(_SELECT_INCIDENT, (incident_id,)).fetchone()
        return None if row is None else incident_from_row(row)

    def incident_alerts(self, incident_id: str, limit: int = 500) -> list[Alert]:
        """The incident's alerts, oldest first, at most `limit`."""
        with self._reading("reading an incident's alerts") as connection:
            rows = connection.execute(_SELECT_INCIDENT_ALERTS, (incident_id, limit)).fetchall()
        return [alert_from_row(row) for row in rows]

    def get_events(self, event_ids: Sequence[str]) -> list[Event]:
        """The stored events with these ids, in the order given; unknown ids are skipped."""
        with self._reading("reading events") as connection:
            rows = connection.execute(_SELECT_EVENTS, (dump_json(list(event_ids)),)).fetchall()
        found = {row[0]: event_from_row(row) for row in rows}
        return [found[event_id] for event_id in event_ids if event_id in found]

    def incident_history(self, incident_id: str) -> list[AuditEntry]:
        """The incident's audit trail, oldest first (empty for an unknown id)."""
        with self._reading("reading an incident's history") as connection:
            rows = connection.execute(_SELECT_AUDIT, (incident_id,)).fetchall()
        return [audit_from_row(row) for row in rows]

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The most recently written dead letters first."""
        with self._reading("reading dead letters") as connection:
            rows = connection.execute(_SELECT_DEAD_LETTERS, (limit,)).fetchall()
        return [dead_letter_from_row(row) for row in rows]

    def ping(self) -> None:
        """Read the schema: the file is there, readable and not locked out."""
        with self._reading("checking the store") as connection:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()

    def counts(self) -> StoreCounts:
        with self._reading("counting", snapshot=True) as connection:
            row = connection.execute(_COUNTS, (dump_json(_OPEN_STATUS_VALUES),)).fetchone()
        return StoreCounts(
            events=row[0],
            alerts=row[1],
            incidents=row[2],
            open_incidents=row[3],
            dead_letters=row[4],
        )

    # -- loss accounting ---------------------------------------------------------------

    def source_counters(self) -> SourceCountersReport:
        """Every source's counters, by source name, with their totals."""
        with self._reading("reading the source counters") as connection:
            rows = connection.execute(_SELECT_SOURCE_COUNTERS).fetchall()
        return SourceCountersReport.of(_source_counters_from_row(row) for row in rows)

    # -- analyst actions ---------------------------------------------------------------

    def update_incident(self, incident_id: str, update: IncidentUpdate, actor: str) -> Incident:
        """Apply an analyst's change and write one audit entry per changed field, in one
        transaction; a change to what is already there writes nothing.

        Raises IncidentNotFoundError for an unknown id.
        """
        if update.clear_assignee and update.assignee is not None:
            raise StoreError(
                "an update either assigns the incident or clears the assignee, not both"
            )
        now = self._clock()
        with self._transaction("updating an incident") as connection:
            row = connection.execute(_SELECT_INCIDENT, (incident_id,)).fetchone()
            if row is None:
                raise IncidentNotFoundError(
                    f"there is no incident {incident_id!r}; list incidents to find its id"
                )
            current = incident_from_row(row)
            changed = apply_update(current, update, now)
            entries = audit_entries(current, changed, actor, update.reason)
            if not entries:
                return current
            times = response_times(ResponseTimes(row[17], row[18]), current, changed, now)
            connection.execute(
                _SET_INCIDENT_WORKFLOW,
                (
                    changed.status.value,
                    sql_text(changed.assignee),
                    changed.severity.value,
                    changed.severity.rank,
                    times.acknowledge,
                    times.resolve,
                    format_time(now),
                    incident_id,
                ),
            )
            connection.executemany(_INSERT_AUDIT, [audit_row(entry) for entry in entries])
        return changed

    # -- incident triage ---------------------------------------------------------------

    def add_comment(self, incident_id: str, text: str, actor: str) -> AuditEntry:
        """Add a comment to the incident's audit trail. Raises IncidentNotFoundError."""
        entry = comment_entry(incident_id, text, actor, self._clock())
        with self._transaction("commenting an incident") as connection:
            if connection.execute(_SELECT_INCIDENT, (incident_id,)).fetchone() is None:
                raise IncidentNotFoundError(
                    f"there is no incident {incident_id!r}; list incidents to find its id"
                )
            connection.execute(_INSERT_AUDIT, audit_row(entry))
        return entry

    def merge_incidents(
        self, target_id: str, source_id: str, actor: str, reason: str | None
    ) -> Incident:
        """Merge the source into the target in one transaction (see Store)."""
        now = self._clock()
        with self._transaction("merging incidents") as connection:
            return merge_incidents(connection, target_id, source_id, actor, reason, now)

    def incident_stats(
        self, since: datetime | None, until: datetime | None, scope: OrganizationScope
    ) -> IncidentStats:
        """The dashboard's figures (see Store), read from one state of the file.

        Computed once per key (range, scope, the hour now falls in, which ends the
        series) and state of the incidents: concurrent callers wait for the computation
        under way, and any change to an incident makes the next call compute afresh.
        """
        # Cached here, not in the API: only the store can read its change marker in the
        # same snapshot as the figures, so a cached answer is never older than the file.
        now = self._clock()
        slot = self._stats_cache.slot(
            (since, until, scope, now.replace(minute=0, second=0, microsecond=0))
        )
        with self._reading("checking incident statistics", snapshot=True) as connection:
            cached = slot.fresh(_stats_marker(connection))
        if cached is not None:
            return cached
        with slot.lock:
            with self._reading("computing incident statistics", snapshot=True) as connection:
                marker = _stats_marker(connection)
                cached = slot.fresh(marker)
                if cached is not None:
                    return cached
                stats = incident_stats(connection, since, until, scope, now)
            slot.computed = (marker, stats)
            return stats

    def incidents_changed_since(
        self, cursor: str | None, scope: OrganizationScope, limit: int = 200
    ) -> IncidentChanges:
        """The incidents created or changed after `cursor` (see Store)."""
        if limit < 1:
            raise StoreError(f"the page size must be at least 1, not {limit}")
        with self._reading("reading incident changes", snapshot=True) as connection:
            return incident_changes(connection, cursor, scope, limit)

    # -- API keys ----------------------------------------------------------------------

    def add_api_key(self, record: ApiKeyRecord) -> None:
        """Store a new key. Raises StoreError when its id or hash is stored already."""
        row = api_key_row(record)
        with self._transaction("adding an API key") as connection:
            try:
                connection.execute(_INSERT_API_KEY, row)
            except sqlite3.IntegrityError as exc:
                raise StoreError(
                    f"an API key with id {record.id!r} or the same key is stored already; "
                    "generate a new key"
                ) from exc

    def api_key_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        """The key with this SHA-256 hash, revoked or not, or None."""
        with self._reading("looking up an API key") as connection:
            row = connection.execute(_SELECT_API_KEY_BY_HASH, (key_hash,)).fetchone()
        return None if row is None else api_key_from_row(row)

    def api_keys(self) -> list[ApiKeyRecord]:
        """Every stored key, revoked ones too, oldest first."""
        with self._reading("listing API keys") as connection:
            rows = connection.execute(_SELECT_API_KEYS).fetchall()
        return [api_key_from_row(row) for row in rows]

    def revoke_api_key(self, key_id: str) -> bool:
        """Mark the key revoked; False when no key has this id."""
        with self._transaction("revoking an API key") as connection:
            return connection.execute(_REVOKE_API_KEY, (key_id,)).rowcount > 0

    # -- scheduled detection: stored events by time --------------------------------------

    def event_pages(
        self, since: datetime, until: datetime, page_size: int = 1000
    ) -> Iterator[list[Event]]:
        """The stored events with since <= timestamp < until, oldest first (ties by id),
        in pages of at most `page_size`: keyset paging, each page one short read."""
        if page_size < 1:
            raise StoreError(f"the page size must be at least 1, not {page_size}")
        low, high = format_time(since), format_time(until)
        after: tuple[str, str] | None = None
        while True:
            with self._reading("reading events by time") as connection:
                if after is None:
                    rows = connection.execute(_EVENTS_FROM, (low, high, page_size)).fetchall()
                else:
                    rows = connection.execute(
                        _EVENTS_AFTER, (after[0], after[1], high, page_size)
                    ).fetchall()
            if rows:
                yield [event_from_row(row) for row in rows]
            if len(rows) < page_size:
                return
            after = (rows[-1][1], rows[-1][0])

    def known_alert_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these alert ids are stored already."""
        with self._reading("looking up alert ids") as connection:
            rows = connection.execute(_KNOWN_ALERT_IDS, (dump_json(list(ids)),)).fetchall()
        return {row[0] for row in rows}

    # -- event search ------------------------------------------------------------------

    def search_events(self, query: EventQuery) -> Page[Event]:
        """One page of matching events, newest first (see Store); a search by field or
        text needs `since` (EventQueryError), as it reads every event of the range."""
        checked = check_event_query(query)
        sql, params = sqlite_event_search(checked)
        with self._reading("searching events") as connection:
            rows = connection.execute(sql, params).fetchall()
        items = [event_from_row(row) for row in rows[: query.limit]]
        next_cursor = None
        if len(rows) > query.limit:
            last = rows[query.limit - 1]
            next_cursor = encode_cursor(last[1], last[0])
        return Page(items=items, total=len(items), next_cursor=next_cursor)


_EVENTS_FROM = "SELECT id, ts, doc FROM events WHERE ts >= ? AND ts < ? ORDER BY ts, id LIMIT ?"
# `ts >= ?1` lets the planner use the ts index; the row value skips the page's last ties.
_EVENTS_AFTER = """
SELECT id, ts, doc FROM events
WHERE ts >= ?1 AND (ts, id) > (?1, ?2) AND ts < ?3 ORDER BY ts, id LIMIT ?4
"""
_KNOWN_ALERT_IDS = "SELECT id FROM alerts WHERE id IN (SELECT value FROM json_each(?))"


def _refuse_missing_growths(connection: sqlite3.Connection, batch: WriteBatch) -> None:
    wanted = sorted({growth.incident_id for growth in batch.incident_growths})
    rows = connection.execute(_STORED_INCIDENT_IDS, (dump_json(wanted),)).fetchall()
    stored = {row[0] for row in rows}
    missing = [incident_id for incident_id in wanted if incident_id not in stored]
    raise StoreError(
        f"the batch grows incidents that are not stored ({', '.join(missing)}); "
        "nothing was written. An incident must be written (new_incidents) before it can grow"
    )


def _require_json_functions(connection: sqlite3.Connection) -> None:
    try:
        connection.execute("SELECT json_valid('[]')").fetchone()
    except sqlite3.OperationalError as exc:
        raise StoreError(
            f"this Python's SQLite {sqlite3.sqlite_version} lacks the JSON functions the "
            "store needs; use a Python built with SQLite 3.38 or newer"
        ) from exc


def _failure_message(action: str, exc: sqlite3.Error) -> str:
    message = str(exc)
    lowered = message.lower()
    hint = next((hint for needle, hint in _ERROR_HINTS if needle in lowered), None)
    return f"{action} failed: {message}" + (f"; {hint}" if hint else "")
