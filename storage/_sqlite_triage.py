"""The SQL of incident triage in `SQLiteStore`: merges, the dashboard's statistics and the
change feed the stream polls. Each function runs on a connection the store hands it (the
writer inside a transaction, or a reader inside a snapshot).
"""

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from canhgac.incidents import OPEN_STATUSES, Incident, IncidentStatus
from canhgac.storage._encoding import dump_json, format_time, sql_text
from canhgac.storage._incident_changes import check_mergeable, merge_entries, merged
from canhgac.storage._incident_listing import (
    bucket_counts,
    day_starts,
    decode_change_cursor,
    encode_change_cursor,
    hour_starts,
)
from canhgac.storage._model import (
    CountByKey,
    CountByTime,
    IncidentChange,
    IncidentChanges,
    IncidentStats,
    OrganizationScope,
)
from canhgac.storage._sqlite_rows import audit_row, incident_from_row
from canhgac.storage._store import IncidentNotFoundError

IN_SCOPE = "organization IN (SELECT value FROM json_each(?))"
"""The clause keeping the incidents of a scope's organizations (bound: `scope_json`)."""

TEXT_MATCH = "rowid IN (SELECT rowid FROM incidents_text WHERE incidents_text MATCH ?)"
"""The clause keeping the incidents matching an FTS5 query (`text_match`)."""

TOP = 10
"""How many rules and source addresses the statistics name."""

_COLUMNS = """id, title, rule_id, rule_title, severity, status, assignee,
    entity_field, entity_value, system, organization, first_seen, last_seen, alert_count,
    created_at, updated_at, merged_into"""
_WIDTH = 17  # columns of _COLUMNS
_SEVERITY_ORDER = ("critical", "high", "medium", "low", "informational")

_SELECT_FOR_MERGE = f"SELECT {_COLUMNS} FROM incidents WHERE id = ?"  # noqa: S608
_GROW_BY_MERGE = """
UPDATE incidents SET alert_count = ?, first_seen = ?, last_seen = ?, severity = ?,
    severity_rank = ?, updated_at = ?
WHERE id = ?
"""
# A merged incident's window closes: alerts of its key open a new incident.
_FOLD_BY_MERGE = """
UPDATE incidents SET status = ?, merged_into = ?, window_closed = 1, updated_at = ? WHERE id = ?
"""
_MOVE_ALERTS = "UPDATE alerts SET incident_id = ? WHERE incident_id = ?"
_INSERT_AUDIT = """
INSERT INTO audit (incident_id, at, actor, action, field, old_value, new_value, reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_TOP_CHANGE = "SELECT coalesce(max(change_seq), 0) FROM incidents"
STATS_MARKER = f"SELECT ({_TOP_CHANGE}), (SELECT count(*) FROM incidents)"  # noqa: S608
"""What the statistics depend on: every visible change of an incident raises its change_seq
(the stream's feed), and the count sees a removed one; both are read on indexes alone."""


def scope_json(scope: Sequence[str]) -> str:
    """The bound value of IN_SCOPE."""
    return dump_json([sql_text(name) for name in scope])


def merge_incidents(
    connection: sqlite3.Connection,
    target_id: str,
    source_id: str,
    actor: str,
    reason: str | None,
    now: datetime,
) -> Incident:
    """Merge `source_id` into `target_id` (see Store.merge_incidents), inside the
    caller's transaction."""
    target, source = (_incident(connection, incident_id) for incident_id in (target_id, source_id))
    check_mergeable(target, source)
    grown, folded = merged(target, source, now)
    stamp = format_time(now)
    connection.execute(_FOLD_BY_MERGE, (folded.status.value, folded.merged_into, stamp, source.id))
    connection.execute(_MOVE_ALERTS, (target.id, source.id))
    connection.execute(
        _GROW_BY_MERGE,
        (
            grown.alert_count,
            format_time(grown.first_seen),
            format_time(grown.last_seen),
            grown.severity.value,
            grown.severity.rank,
            stamp,
            target.id,
        ),
    )
    into_target, into_source = merge_entries(target, source, actor, reason, now)
    connection.executemany(_INSERT_AUDIT, [audit_row(e) for e in (*into_source, *into_target)])
    return grown


def _incident(connection: sqlite3.Connection, incident_id: str) -> Incident:
    row = connection.execute(_SELECT_FOR_MERGE, (incident_id,)).fetchone()
    if row is None:
        raise IncidentNotFoundError(
            f"there is no incident {incident_id!r}; list incidents to find its id"
        )
    return incident_from_row(row)


def incident_changes(
    connection: sqlite3.Connection, cursor: str | None, scope: OrganizationScope, limit: int
) -> IncidentChanges:
    """Store.incidents_changed_since, on a reader inside a snapshot."""
    top = int(connection.execute(_TOP_CHANGE).fetchone()[0])
    if cursor is None:
        return IncidentChanges((), encode_change_cursor(top))
    after = decode_change_cursor(cursor)
    where = "change_seq > ?"
    params: list[Any] = [after]
    if scope is not None:
        where += " AND " + IN_SCOPE
        params.append(scope_json(scope))
    rows = connection.execute(
        f"SELECT {_COLUMNS}, change_seq, created_seq FROM incidents "  # noqa: S608
        f"WHERE {where} ORDER BY change_seq LIMIT ?",
        (*params, limit),
    ).fetchall()
    changes = tuple(
        IncidentChange(
            incident_from_row(row[:_WIDTH]),
            created=row[_WIDTH + 1] > after,
            cursor=encode_change_cursor(row[_WIDTH]),
        )
        for row in rows
    )
    # A full page may leave changes after its last one; else every change up to `top` was
    # looked at (those out of scope too).
    end = rows[-1][_WIDTH] if len(rows) >= limit else max(top, after)
    return IncidentChanges(changes, encode_change_cursor(end))


def stats_statements(
    since: datetime | None, until: datetime | None, scope: OrganizationScope, now: datetime
) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """Every statement of `incident_stats` with its parameters, by name (the tests check
    each one's query plan)."""
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("created_at >= ?")
        params.append(format_time(since))
    if until is not None:
        clauses.append("created_at < ?")
        params.append(format_time(until))
    scoped: list[Any] = []
    if scope is not None:
        clauses.append(IN_SCOPE)
        scoped.append(scope_json(scope))
    where = " AND ".join(clauses) or "1"
    bound = (*params, *scoped)
    end = until or now
    hours, days = hour_starts(end), day_starts(end)
    # A count per bucket on the created_at index, each bucket a range read in index order:
    # grouping by a prefix of created_at would sort every incident of the series. INDEXED
    # BY: with a scope, the planner's statistics favour the organization index, which
    # every bucket would read whole. The scope's parameter comes first, as in the text.
    series_sql = (
        "SELECT substr(json_extract(value, '$[0]'), 1, {width}), ("  # noqa: S608
        "SELECT count(*) FROM incidents INDEXED BY incidents_created "
        "WHERE created_at >= json_extract(value, '$[0]') "
        "AND created_at < json_extract(value, '$[1]')"
        + (f" AND {IN_SCOPE}" if scoped else "")
        + ") FROM json_each(?)"
    )
    # Only fixed clauses are joined into the SQL; values are bound.
    statements: dict[str, tuple[str, tuple[Any, ...]]] = {
        # One pass for the summary and the four breakdowns, on a covering index in group
        # order; sums and counts (not averages) so that the groups add up in Python.
        "grouped": (
            "SELECT severity, status, system, organization, count(*), "  # noqa: S608
            "sum(acknowledge_seconds), count(acknowledge_seconds), "
            "sum(resolve_seconds), count(resolve_seconds) "
            f"FROM incidents WHERE {where} GROUP BY severity, status, system, organization",
            bound,
        ),
        # Counted on the rule index alone; only the top rules' titles are looked up.
        "top_rules": (
            "SELECT (SELECT rule_title FROM incidents AS named "  # noqa: S608
            "WHERE named.rule_id = top.rule_id LIMIT 1), n FROM ("
            f"SELECT rule_id, count(*) AS n FROM incidents WHERE {where} "
            f"GROUP BY rule_id ORDER BY n DESC, rule_id LIMIT {TOP}) AS top",
            bound,
        ),
        "top_source_addresses": (
            "SELECT entity_value, count(*) AS n FROM incidents "  # noqa: S608
            f"WHERE entity_field = 'source.ip' AND {where} "
            f"GROUP BY entity_value ORDER BY n DESC, 1 LIMIT {TOP}",
            bound,
        ),
        "by_hour": (
            series_sql.format(width=13),
            (*scoped, _bucket_bounds(hours, timedelta(hours=1))),
        ),
        "by_day": (
            series_sql.format(width=10),
            (*scoped, _bucket_bounds(days, timedelta(days=1))),
        ),
    }
    return statements


def _bucket_bounds(starts: Sequence[datetime], step: timedelta) -> str:
    """The buckets' [start, end) as stored time text, one JSON array (`series_sql`)."""
    return dump_json([[format_time(start), format_time(start + step)] for start in starts])


@dataclass(frozen=True, slots=True)
class _Breakdowns:
    """The grouped pass added up: the summary and the counts by each dimension."""

    total: int
    open: int
    mean_time_to_acknowledge: float | None
    mean_time_to_resolve: float | None
    by_severity: dict[str, int]
    by_status: dict[str, int]
    by_system: dict[str | None, int]
    by_organization: dict[str | None, int]


def _breakdowns(rows: Sequence[Sequence[Any]]) -> _Breakdowns:
    open_values = {status.value for status in OPEN_STATUSES}
    by: tuple[dict[Any, int], ...] = ({}, {}, {}, {})
    total = open_count = acknowledged = resolved = 0
    acknowledge_sum = resolve_sum = 0.0
    for row in rows:
        count = int(row[4])
        for column, counts in enumerate(by):
            counts[row[column]] = counts.get(row[column], 0) + count
        total += count
        open_count += count if row[1] in open_values else 0
        acknowledge_sum += row[5] or 0.0
        acknowledged += int(row[6])
        resolve_sum += row[7] or 0.0
        resolved += int(row[8])
    return _Breakdowns(
        total=total,
        open=open_count,
        mean_time_to_acknowledge=acknowledge_sum / acknowledged if acknowledged else None,
        mean_time_to_resolve=resolve_sum / resolved if resolved else None,
        by_severity=by[0],
        by_status=by[1],
        by_system=by[2],
        by_organization=by[3],
    )


def incident_stats(
    connection: sqlite3.Connection,
    since: datetime | None,
    until: datetime | None,
    scope: OrganizationScope,
    now: datetime,
) -> IncidentStats:
    """Store.incident_stats, on a reader inside a snapshot."""
    statements = stats_statements(since, until, scope, now)
    rows = {
        name: connection.execute(*statement).fetchall() for name, statement in statements.items()
    }
    figures = _breakdowns(rows["grouped"])
    end = until or now
    return IncidentStats(
        open=figures.open,
        total=figures.total,
        mean_time_to_acknowledge_seconds=figures.mean_time_to_acknowledge,
        mean_time_to_resolve_seconds=figures.mean_time_to_resolve,
        by_severity=_ordered(figures.by_severity, _SEVERITY_ORDER),
        by_status=_ordered(figures.by_status, tuple(status.value for status in IncidentStatus)),
        by_system=_by_count(list(figures.by_system.items())),
        by_organization=_by_count(list(figures.by_organization.items())),
        top_rules=_by_count(rows["top_rules"]),
        top_source_addresses=_by_count(rows["top_source_addresses"]),
        by_hour=tuple(
            CountByTime(start, count)
            for start, count in bucket_counts(hour_starts(end), timedelta(hours=1), rows["by_hour"])
        ),
        by_day=tuple(
            CountByTime(start, count)
            for start, count in bucket_counts(day_starts(end), timedelta(days=1), rows["by_day"])
        ),
    )


def _ordered(counts: dict[str, int], order: Sequence[str]) -> tuple[CountByKey, ...]:
    return tuple(CountByKey(key, counts[key]) for key in order if key in counts)


def _by_count(rows: Sequence[Sequence[Any]]) -> tuple[CountByKey, ...]:
    """Most first; ties by key, incidents without a value last."""
    ordered = sorted(rows, key=lambda row: (-int(row[1]), row[0] is None, row[0] or ""))
    return tuple(CountByKey(row[0], int(row[1])) for row in ordered)
