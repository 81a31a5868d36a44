"""How every store writes values as text: timestamps, text, JSON documents, page cursors.

Timestamps are fixed-width ISO-8601 UTC text ('2026-11-24T08:15:02.123456Z'), so text
order is time order and range filters use the indexes.

Text from logs may hold lone surrogates (bytes decoded with "surrogateescape"), which
SQLite cannot store as text and Elasticsearch cannot index. JSON documents keep them
exactly (escaped as \\udcxx); plain text fields get U+FFFD in their place, so one odd
line never fails a batch.
"""

import base64
import json
from datetime import UTC, datetime
from typing import Any

import orjson

from canhgac.events import FieldValue
from canhgac.storage._store import InvalidCursorError, StoreError


def format_time(moment: datetime) -> str:
    """'2026-11-24T08:15:02.123456Z': fixed width, so text order is time order."""
    offset = moment.utcoffset()
    if offset is None:
        raise StoreError(
            f"timestamp {moment.isoformat()} has no time zone; the store only takes "
            "timezone-aware datetimes (e.g. datetime.now(UTC))"
        )
    utc = (moment - offset).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """The inverse of `format_time`: an aware UTC datetime."""
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)


def sql_text(text: str | None) -> str | None:
    """The text as SQLite can store it: lone surrogates become U+FFFD."""
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
    return text


def dump_json(value: Any) -> str:
    """JSON text of `value`; tuples become lists.

    orjson writes NaN and infinities as null; the standard library (used when orjson
    refuses the value) writes them as NaN/Infinity, which `load_json` reads back.
    """
    try:
        return orjson.dumps(value).decode("utf-8")
    except orjson.JSONEncodeError:
        pass
    # orjson refuses lone surrogates and integers beyond 64 bits; the standard
    # library writes both (surrogates as \udcxx escapes).
    try:
        return json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"cannot store {type(value).__name__} value as JSON: {exc}; only strings, "
            "numbers, booleans, None, lists, tuples and dicts with string keys can be stored"
        ) from exc


def load_json(text: str) -> Any:
    """The inverse of `dump_json`.

    The standard library reads back exactly what either writer wrote; orjson would
    turn integers beyond 64 bits into floats and refuses escaped lone surrogates.
    """
    return json.loads(text)


def event_fields(doc: str) -> dict[str, FieldValue]:
    """An event's fields from its stored document, multi-valued fields as tuples again."""
    stored: dict[str, Any] = load_json(doc)
    return {
        name: tuple(value) if isinstance(value, list) else value for name, value in stored.items()
    }


def encode_cursor(last_seen: str, incident_id: str) -> str:
    """An opaque, URL-safe token for "the page after this incident"."""
    token = base64.urlsafe_b64encode(orjson.dumps([last_seen, incident_id]))
    return token.decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """(last_seen, id) from `encode_cursor`'s token. Raises InvalidCursorError."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
    except ValueError as exc:  # binascii.Error and orjson's errors are ValueErrors
        raise _invalid_cursor(cursor) from exc
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(part, str) for part in value)
    ):
        raise _invalid_cursor(cursor)
    last_seen, incident_id = value
    try:
        if format_time(parse_time(last_seen)) != last_seen:
            raise _invalid_cursor(cursor)
    except ValueError as exc:
        raise _invalid_cursor(cursor) from exc
    return last_seen, incident_id


def _invalid_cursor(cursor: str) -> InvalidCursorError:
    shown = cursor if len(cursor) <= 40 else cursor[:40] + "..."
    return InvalidCursorError(
        f"invalid cursor {shown!r}: use the next_cursor of a previous page unchanged, "
        "or leave the cursor out to start from the first page"
    )
