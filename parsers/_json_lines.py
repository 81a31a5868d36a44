"""JSON lines (format `json`): one JSON object a line.

Each object is read as the first of these that fits:

1. A Windows event (evtx JSON, Winlogbeat / Elastic Agent, or a flat export): normalized
   by parsers/_windows.py, the original fields under winlog.*.
2. An ECS document: it has "@timestamp" (ISO-8601, or epoch milliseconds as a number or
   digits). Nested and dotted keys alike become dotted fields; all are kept.
3. With a field mapping ({json.path: ecs.name}, paths dotted through nested objects):
   any JSON. The timestamp is read from `timestamp_field` (with `timestamp_format`, a
   strptime format, when it is neither ISO 8601 nor epoch milliseconds) and only the
   mapped fields are kept (event.original still holds the whole line). Windows shapes
   are not looked for, since the mapping says what the objects are.

Lists of scalars become tuples; lists holding objects are kept as their compact JSON.
Timestamps without an offset are in `context.timezone`.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar

import orjson

from canhgac.events import FieldValue, flatten_ecs
from canhgac.parsers._base import ParseContext, ParsedRecord, ParseError
from canhgac.parsers._syslog_time import parse_rfc3339_timestamp
from canhgac.parsers._windows import (
    json_field_value,
    looks_like_windows_event,
    normalize_windows_event,
)

MAX_DEPTH = 32
"""Objects nested deeper than this are not events but something else; they are refused."""


class JsonLinesParser:
    """One JSON object a line: Windows events, ECS documents, or mapped JSON."""

    name: ClassVar[str] = "json"

    def __init__(
        self,
        field_map: Mapping[str, str] | None = None,
        timestamp_field: str = "@timestamp",
        timestamp_format: str | None = None,
    ) -> None:
        """`field_map` maps dotted JSON paths to ECS names; `timestamp_field` is the path
        of the event time, `timestamp_format` its strptime format when it is neither ISO
        8601 nor epoch milliseconds. With no mapping, objects are read as Windows events
        or ECS."""
        if field_map is not None and not field_map:
            raise ValueError("field_map is empty: give at least one json.path: ecs.name pair")
        if not timestamp_field:
            raise ValueError("timestamp_field must name a JSON path, e.g. '@timestamp'")
        self.field_map: Mapping[str, str] | None = (
            MappingProxyType(dict(field_map)) if field_map is not None else None
        )
        self.timestamp_field = timestamp_field
        self.timestamp_format = timestamp_format

    def recognizes(self, line: str) -> bool:
        """A JSON line starts with "{" (after any blanks)."""
        return line.lstrip().startswith("{")

    def parse(self, line: str, context: ParseContext) -> ParsedRecord:
        """Parse one line holding one JSON object; ParseError says why not."""
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ParseError(f"a JSON line must hold an object, not {_json_kind(document)}")
        if self.field_map is None and looks_like_windows_event(document):
            return normalize_windows_event(document, context, line)
        if _depth(document) > MAX_DEPTH:
            raise ParseError(f"JSON object is nested deeper than {MAX_DEPTH} levels")
        flat = flatten_ecs(document)
        if self.timestamp_field not in flat:
            if self.field_map is None and self.timestamp_field == "@timestamp":
                raise ParseError("JSON object is neither ECS nor a Windows event: no @timestamp")
            raise ParseError(f"JSON object has no {self.timestamp_field}")
        when = flat[self.timestamp_field]
        if self.timestamp_format is not None and isinstance(when, str):
            timestamp = _formatted_timestamp(
                when, self.timestamp_format, self.timestamp_field, context
            )
        else:
            timestamp = _timestamp(when, self.timestamp_field, context)
        fields: dict[str, FieldValue]
        if self.field_map is None:
            fields = {
                name: json_field_value(value)
                for name, value in flat.items()
                if name != self.timestamp_field
            }
        else:
            fields = {
                ecs_name: json_field_value(flat[path])
                for path, ecs_name in self.field_map.items()
                if path in flat
            }
        return ParsedRecord(timestamp, fields)


def _timestamp(value: Any, where: str, context: ParseContext) -> datetime:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, ValueError, OSError):
            raise ParseError(f"{where} is out of range as epoch milliseconds: {value}") from None
    if isinstance(value, str):
        try:
            stamp = parse_rfc3339_timestamp(value.strip(), context)
        except ParseError as exc:
            raise ParseError(f"{where}: {exc}") from None
        try:
            return stamp.astimezone(UTC)
        except OverflowError:
            raise ParseError(f"{where} is out of range: {value[:40]!r}") from None
    raise ParseError(f"{where} is not a time: {_json_kind(value)}")


def _formatted_timestamp(value: str, form: str, where: str, context: ParseContext) -> datetime:
    try:
        stamp = datetime.strptime(value.strip(), form)
    except ValueError:
        raise ParseError(f"{where}: {value[:40]!r} does not match the format {form!r}") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=context.timezone)
    return stamp.astimezone(UTC)


def _depth(document: Mapping[str, Any]) -> int:
    """How deeply objects and lists nest (1 for a flat object), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
