"""What every store shares to list incidents: sort keys and their page cursors, the free
text query, the change feed's cursor and the dashboard's time buckets.

A page cursor holds the sort key of the page's last incident, so the next page starts
right after it (keyset paging); a cursor of another sort is refused. The default sort
keeps the cursor format of earlier versions, so cursors handed out before still work.
"""

import base64
from collections.abc import Sequence
from datetime import datetime, timedelta

import orjson

from canhgac.incidents import Incident
from canhgac.storage._encoding import decode_cursor, encode_cursor, format_time, parse_time
from canhgac.storage._model import IncidentSort
from canhgac.storage._store import InvalidCursorError

SortValue = str | int

SORT_FIELDS: dict[IncidentSort, tuple[str, ...]] = {
    IncidentSort.LAST_SEEN: ("last_seen", "id"),
    IncidentSort.FIRST_SEEN: ("first_seen", "id"),
    IncidentSort.SEVERITY: ("severity_rank", "last_seen", "id"),
    IncidentSort.ALERT_COUNT: ("alert_count", "last_seen", "id"),
}
"""The stored fields each sort orders by, all descending: the last ones break ties."""

_TIME_FIELDS = frozenset({"last_seen", "first_seen"})
_CHANGES = "changes"

HOURS_SHOWN = 48
DAYS_SHOWN = 30


def sort_values(incident: Incident, sort: IncidentSort) -> tuple[SortValue, ...]:
    """The incident's values of the sort's fields, as the stores keep them."""
    values: dict[str, SortValue] = {
        "last_seen": format_time(incident.last_seen),
        "first_seen": format_time(incident.first_seen),
        "severity_rank": incident.severity.rank,
        "alert_count": incident.alert_count,
        "id": incident.id,
    }
    return tuple(values[name] for name in SORT_FIELDS[sort])


def encode_page_cursor(incident: Incident, sort: IncidentSort) -> str:
    """The cursor of the page that follows `incident` in `sort` order."""
    values = sort_values(incident, sort)
    if sort is IncidentSort.LAST_SEEN:
        return encode_cursor(str(values[0]), str(values[1]))
    return _token([sort.value, *values])


def decode_page_cursor(cursor: str, sort: IncidentSort) -> tuple[SortValue, ...]:
    """The sort key a cursor of `sort` holds. Raises InvalidCursorError."""
    if sort is IncidentSort.LAST_SEEN:
        return decode_cursor(cursor)
    value = _untoken(cursor)
    fields = SORT_FIELDS[sort]
    if (
        not isinstance(value, list)
        or len(value) != len(fields) + 1
        or value[0] != sort.value
        or not all(_valid(name, part) for name, part in zip(fields, value[1:], strict=True))
    ):
        raise _invalid(cursor, f"it is not a cursor of the {sort.value} sort")
    return tuple(value[1:])


def _valid(name: str, value: object) -> bool:
    if name in _TIME_FIELDS:
        if not isinstance(value, str):
            return False
        try:
            return format_time(parse_time(value)) == value
        except ValueError:
            return False
    if name == "id":
        return isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool)


def text_match(text: str | None) -> str | None:
    """An SQLite FTS5 query: every word of `text` (in any order) as a prefix, or None
    when `text` has no word. Words are quoted, so FTS5's syntax means nothing in them."""
    words = _words(text)
    if not words:
        return None
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def text_words(text: str | None) -> str | None:
    """The words of `text` joined by single spaces, or None when it has none."""
    words = _words(text)
    return " ".join(words) if words else None


def _words(text: str | None) -> list[str]:
    # NUL ends an FTS5 string early: it separates words like a space.
    return (text or "").replace("\x00", " ").split()


def encode_change_cursor(position: int) -> str:
    """The change feed's cursor after change `position` (a store's change number)."""
    return _token([_CHANGES, position])


def decode_change_cursor(cursor: str) -> int:
    """The change number a feed cursor holds. Raises InvalidCursorError."""
    value = _untoken(cursor)
    if (
        not isinstance(value, list)
        or len(value) != 2
        or value[0] != _CHANGES
        or not isinstance(value[1], int)
        or isinstance(value[1], bool)
        or value[1] < -1
    ):
        raise _invalid(cursor, "it is not a cursor of the incident change feed")
    return int(value[1])


def hour_starts(until: datetime) -> list[datetime]:
    """The starts of the HOURS_SHOWN hours up to `until`'s hour, oldest first."""
    last = until.replace(minute=0, second=0, microsecond=0)
    return [last - timedelta(hours=n) for n in range(HOURS_SHOWN - 1, -1, -1)]


def day_starts(until: datetime) -> list[datetime]:
    """The starts (UTC midnight) of the DAYS_SHOWN days up to `until`'s day, oldest first."""
    last = until.replace(hour=0, minute=0, second=0, microsecond=0)
    return [last - timedelta(days=n) for n in range(DAYS_SHOWN - 1, -1, -1)]


def bucket_counts(
    starts: Sequence[datetime], step: timedelta, created: Sequence[tuple[str, int]]
) -> list[tuple[datetime, int]]:
    """Counts per bucket from (stored created_at prefix, count) rows: the prefix is the
    first 13 (hour) or 10 (day) characters of the stored time text."""
    width = 13 if step == timedelta(hours=1) else 10
    found = dict(created)
    return [(start, found.get(format_time(start)[:width], 0)) for start in starts]


def _token(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode("ascii").rstrip("=")


def _untoken(cursor: str) -> object:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return orjson.loads(raw)
    except ValueError as exc:  # binascii.Error and orjson's errors are ValueErrors
        raise _invalid(cursor, "it cannot be read") from exc


def _invalid(cursor: str, why: str) -> InvalidCursorError:
    shown = cursor if len(cursor) <= 40 else cursor[:40] + "..."
    return InvalidCursorError(
        f"invalid cursor {shown!r} ({why}): use the cursor a previous answer gave, "
        "unchanged and with the same sort, or leave it out to start from the beginning"
    )
