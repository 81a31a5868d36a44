"""Event search (`Store.search_events`): what both stores check the same way, the SQL of
SQLite's search and the Query DSL of Elasticsearch's.

Pages are keyset pages on (@timestamp, id), newest first: the cursor is the last event
of a page, as the fixed-width time text and the id (`encode_cursor`).

SQLite indexes events by time only, so a search by field or text reads every event of
its time range: it needs `since`, which bounds that read. Elasticsearch indexes the ECS
fields it maps, `labels.*` and the winlog.*/auditd.* families: it filters on those only,
and its free text covers the full-text fields (`message`, `error.message` and the `.text`
sub-fields), since it keeps `event.original` without indexing it. Filters compare values
exactly on both stores, case included: the `.caseless` sub-fields serve scheduled
detection, not filters.
"""

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from canhgac.storage._elasticsearch_docs import field_kind
from canhgac.storage._encoding import decode_cursor, dump_json, format_time, sql_text
from canhgac.storage._model import EventFilter, EventQuery
from canhgac.storage._store import EventQueryError, StoreError

MAX_EVENT_PAGE = 1000
"""The largest page of events a search returns."""

MAX_TEXT_WORDS = 20

# Dotted ECS-like names only: they are spliced into JSON paths as quoted keys.
_FIELD_NAME = re.compile(r"[A-Za-z0-9@_][A-Za-z0-9@_.-]{0,199}")

_ES_TEXT_FIELDS = (
    "message",
    "error.message",
    "url.original.text",
    "url.full.text",
    "user_agent.original.text",
    "process.command_line.text",
)
"""What Elasticsearch's free text searches: its full-text fields."""


@dataclass(frozen=True, slots=True)
class CheckedEventQuery:
    """A query both stores accept: its text as words, its cursor as (time text, id)."""

    query: EventQuery
    words: tuple[str, ...]
    after: tuple[str, str] | None

    @property
    def since_text(self) -> str | None:
        return None if self.query.since is None else format_time(self.query.since)

    @property
    def until_text(self) -> str | None:
        return None if self.query.until is None else format_time(self.query.until)


def check_event_query(query: EventQuery) -> CheckedEventQuery:
    """The query with its words and cursor, or StoreError (page size),
    InvalidCursorError, EventQueryError (a field name, too many words)."""
    if not 1 <= query.limit <= MAX_EVENT_PAGE:
        raise StoreError(f"the page size must be 1 to {MAX_EVENT_PAGE}, not {query.limit}")
    for condition in query.filters:
        if not _FIELD_NAME.fullmatch(condition.field):
            raise EventQueryError(
                f"{condition.field[:60]!r} is not a field name: use a dotted ECS name such "
                "as source.ip or labels.system"
            )
    words = tuple(query.text.split()) if query.text else ()
    if len(words) > MAX_TEXT_WORDS:
        raise EventQueryError(
            f"the free text has {len(words)} words; search with at most {MAX_TEXT_WORDS}"
        )
    after = decode_cursor(query.cursor) if query.cursor is not None else None
    return CheckedEventQuery(query, words, after)


# -- SQLite -------------------------------------------------------------------------------


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{sql_text(escaped)}%"


def _json_path(field: str) -> str:
    return f'$."{field}"'


# Values are compared as text: a filter's value comes from a URL, the stored one may be
# a number; json_each yields each value of a list, and the scalar itself otherwise.
_EXACT = "EXISTS (SELECT 1 FROM json_each(events.doc, ?) AS v WHERE CAST(v.value AS TEXT) = ?)"
_PREFIX = (
    "EXISTS (SELECT 1 FROM json_each(events.doc, ?) AS v "
    "WHERE substr(CAST(v.value AS TEXT), 1, ?) = ?)"
)
# LIKE ignores the case of ASCII letters only.
_WORD = (
    "(coalesce(json_extract(events.doc, '$.message'), '') || char(10) || "
    "coalesce(json_extract(events.doc, '$.\"event.original\"'), '')) LIKE ? ESCAPE '\\'"
)


def sqlite_event_search(checked: CheckedEventQuery) -> tuple[str, tuple[Any, ...]]:
    """The statement (and its parameters) of one page plus one event, newest first.

    Raises EventQueryError for a search by field or text without `since`.
    """
    query = checked.query
    clauses: list[str] = []
    params: list[Any] = []
    if (query.filters or checked.words) and query.since is None:
        raise EventQueryError(
            "searching events by field or text needs `since` on the SQLite store, which "
            "indexes events by time only and reads every event of the range: give a time "
            "range (since, and until if you like)"
        )
    if checked.since_text is not None:
        clauses.append("ts >= ?")
        params.append(checked.since_text)
    if checked.until_text is not None:
        clauses.append("ts < ?")
        params.append(checked.until_text)
    if checked.after is not None:
        # `ts <= ?` lets the planner walk the ts index from the cursor down.
        clauses.append("ts <= ? AND (ts, id) < (?, ?)")
        params.extend((checked.after[0], *checked.after))
    if query.scope is not None:
        clauses.append("organization IN (SELECT value FROM json_each(?))")
        params.append(dump_json([sql_text(name) for name in query.scope]))
    for condition in query.filters:
        value = sql_text(condition.value)
        if condition.prefix:
            clauses.append(_PREFIX)
            params.extend((_json_path(condition.field), len(condition.value), value))
        else:
            clauses.append(_EXACT)
            params.extend((_json_path(condition.field), value))
    for word in checked.words:
        clauses.append(_WORD)
        params.append(_like_pattern(word))
    where = " AND ".join(clauses) or "1"
    # Only the fixed clauses above are joined into the SQL; every value is bound.
    sql = f"SELECT id, ts, doc FROM events WHERE {where} ORDER BY ts DESC, id DESC LIMIT ?"  # noqa: S608
    return sql, (*params, query.limit + 1)


# -- Elasticsearch -------------------------------------------------------------------------


def _milliseconds(text: str) -> str:
    """`format_time` text cut to the millisecond, as Elasticsearch keeps `@timestamp`."""
    return text[:23] + "Z"


def _es_condition(condition: EventFilter) -> dict[str, Any]:
    name = condition.field
    kind = field_kind(name)
    if kind is None:
        raise EventQueryError(
            f"the Elasticsearch store does not index {name!r} (it keeps unmapped fields "
            "without indexing them): filter on a mapped ECS field, labels.*, winlog.* or "
            "auditd.*"
        )
    if kind in ("text", "stored"):
        raise EventQueryError(
            f"{name} is {'full text' if kind == 'text' else 'stored without an index'} on "
            "Elasticsearch: search it with the free text (q) instead of a filter"
        )
    if kind in ("keyword", "long_keyword", "text_keyword"):
        if condition.prefix:
            return {"prefix": {name: condition.value}}
        return {"term": {name: condition.value}}
    if condition.prefix:
        raise EventQueryError(
            f"{name} is a {kind} field: it matches exact values only, without a trailing *"
        )
    if not _parses_as(kind, condition.value):
        raise EventQueryError(f"{name} holds {kind} values; {condition.value[:60]!r} is not one")
    return {"term": {name: condition.value}}


def _parses_as(kind: str, value: str) -> bool:
    try:
        if kind == "ip":
            ipaddress.ip_address(value)
        elif kind == "long":
            int(value)
        elif kind == "double":
            return math.isfinite(float(value))
        else:  # dates: searched by time range only
            return False
    except ValueError:
        return False
    return True


def es_event_filters(checked: CheckedEventQuery) -> list[dict[str, Any]]:
    """The Query DSL filters of the search, its time range widened to whole milliseconds
    (Elasticsearch's precision; the store keeps the exact bounds itself).
    Raises EventQueryError for a field Elasticsearch cannot filter on."""
    query = checked.query
    filters = [_es_condition(condition) for condition in query.filters]
    window: dict[str, str] = {}
    if checked.since_text is not None:
        window["gte"] = _milliseconds(checked.since_text)
    # Inclusive upper bounds: an event in the bound's millisecond may still be before it.
    uppers = [text for text in (checked.until_text, checked.after and checked.after[0]) if text]
    if uppers:
        window["lte"] = _milliseconds(min(uppers))
    if window:
        filters.append({"range": {"@timestamp": window}})
    if query.scope is not None:
        filters.append({"terms": {"organization.name": list(query.scope)}})
    if checked.words:
        filters.append(
            {
                "multi_match": {
                    "query": " ".join(checked.words),
                    "fields": list(_ES_TEXT_FIELDS),
                    "type": "cross_fields",
                    "operator": "and",
                }
            }
        )
    return filters


def wanted_hit(checked: CheckedEventQuery, timestamp: str, event_id: str) -> bool:
    """Whether an event Elasticsearch found is in the exact range and after the cursor
    (both compared at the microsecond, as the documents keep times)."""
    if checked.since_text is not None and timestamp < checked.since_text:
        return False
    if checked.until_text is not None and timestamp >= checked.until_text:
        return False
    return checked.after is None or (timestamp, event_id) < checked.after


def hit_key(hit: Mapping[str, Any]) -> tuple[str, str]:
    """(exact time text, id) of a search hit whose _source holds `@timestamp`."""
    return str(hit["_source"]["@timestamp"]), str(hit["_id"])
