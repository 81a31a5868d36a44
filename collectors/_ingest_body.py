"""The body of `POST /api/v1/ingest`: ECS JSON lines, optionally after a batch header.

Every line is one ECS document (`application/x-ndjson`), read by the JSON-lines parser.
The first line may instead be a batch header, a forwarding collector's bookkeeping:

    {"canhgac_batch": {"checkpoints": [{"name": "file:web:/var/log/x.log", "state": {...}}],
                       "dead_letters": [{"reason": "...", "raw": "...", "path": "...",
                                         "line_number": 7}],
                       "lines": 1000, "aggregated": 0, "dropped": 0}}

All its keys are optional. The checkpoints are stored in the same transaction as the
body's events; each one's name must have the batch's source as its second `:`-separated
part (`file:web:...` for source `web`), so an ingest key cannot move another source's
position or the correlator's own state.

An event's id is derived from the source, the document's `event.id` (or, without one,
its line number) and the line's bytes: the same body sent again yields the same ids,
which the pipeline drops as known.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import orjson

from canhgac.collectors._read_progress import CollectorError
from canhgac.events import DeadLetter, Event, FieldValue, event_id, make_event
from canhgac.parsers import JsonLinesParser, ParseContext, ParseError
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

HEADER_KEY = "canhgac_batch"
MAX_INGEST_LINE_BYTES = 1024 * 1024
"""Longer lines are dead-lettered: a forwarded event carries its original line (at most
64 KiB) plus its fields, far below this."""


class IngestBodyError(CollectorError):
    """The body cannot be taken at all (a malformed batch header); nothing of it is kept."""


@dataclass(frozen=True, slots=True)
class IngestLineError:
    """A line of the body that became a dead letter, for the answer to the sender."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class DecodedIngest:
    batch: CollectedBatch
    errors: Sequence[IngestLineError]


def decode_ingest_body(
    body: bytes, *, source: str, timezone: tzinfo, received_at: datetime | None = None
) -> DecodedIngest:
    """The events, dead letters and checkpoints of one request body from `source`."""
    now = received_at or datetime.now(UTC)
    parser = JsonLinesParser()
    context = ParseContext(reference_time=now, timezone=timezone)
    origin = f"ingest:{source}"
    events: list[Event] = []
    dead: list[DeadLetter] = []
    errors: list[IngestLineError] = []
    header: Mapping[str, Any] = {}
    records = 0
    for number, raw in _lines(body):
        if number == 1 and raw.lstrip().startswith(b'{"' + HEADER_KEY.encode()):
            header = _header(raw)
            continue
        if not raw.strip():
            continue
        records += 1
        outcome = _event(raw, number, parser, context, origin)
        if isinstance(outcome, Event):
            events.append(outcome)
            continue
        errors.append(IngestLineError(number, outcome))
        dead.append(
            DeadLetter(
                source=source,
                reason=f"ingest line {number}: {outcome}",
                raw=raw[:MAX_INGEST_LINE_BYTES].decode("utf-8", "replace"),
                received_at=now,
                line_number=number,
            )
        )
    forwarded = [_dead_letter(item, source, now) for item in _list(header, "dead_letters")]
    checkpoints = [_checkpoint(item, source) for item in _list(header, "checkpoints")]
    lines = _count(header, "lines") or records + len(forwarded)
    batch = CollectedBatch(
        source=source,
        events=events,
        dead_letters=[*forwarded, *dead],
        checkpoints=checkpoints,
        lines=max(lines, len(events) + len(dead) + len(forwarded)),
        aggregated=_count(header, "aggregated"),
        dropped=_count(header, "dropped"),
    )
    return DecodedIngest(batch, errors)


def encode_ingest_bodies(batch: CollectedBatch, max_bytes: int) -> list[bytes]:
    """`batch` as request bodies of at most `max_bytes` each (one event line may exceed
    it alone); the checkpoints and counters ride on the last one, so a position is only
    stored once every event before it is."""
    event_lines = [orjson.dumps(event.to_ecs()) for event in batch.events]
    dead = [_dead_letter_json(letter) for letter in batch.dead_letters]
    bodies: list[list[bytes]] = [[]]
    size = 0
    for line in event_lines:
        if bodies[-1] and size + len(line) + 1 > max_bytes:
            bodies.append([])
            size = 0
        bodies[-1].append(line)
        size += len(line) + 1
    counted = 0
    encoded: list[bytes] = []
    for index, lines in enumerate(bodies):
        last = index == len(bodies) - 1
        header: dict[str, Any] = {}
        if index == 0 and dead:
            header["dead_letters"] = dead
        if last:
            total = batch.lines or len(batch.events) + len(batch.dead_letters)
            header["checkpoints"] = [
                {"name": c.name, "state": dict(c.state)} for c in batch.checkpoints
            ]
            header["lines"] = total - counted
            header["aggregated"] = batch.aggregated
            header["dropped"] = batch.dropped
        else:
            header["lines"] = len(lines) + (len(dead) if index == 0 else 0)
        counted += header["lines"]
        first = orjson.dumps({HEADER_KEY: header})
        encoded.append(b"\n".join([first, *lines]) + b"\n")
    return encoded


def _lines(body: bytes) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(body.split(b"\n"), start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        yield number, line


def _event(
    raw: bytes, number: int, parser: JsonLinesParser, context: ParseContext, origin: str
) -> Event | str:
    """The line's event, or why it cannot be one."""
    if len(raw) > MAX_INGEST_LINE_BYTES:
        return f"line is {len(raw)} bytes, longer than {MAX_INGEST_LINE_BYTES}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}"
    try:
        record = parser.parse(text, context)
    except ParseError as exc:
        return f"json: {exc}"
    fields: dict[str, FieldValue] = dict(record.fields)
    sender_id = fields.pop("event.id", None)
    position = f"id:{sender_id}" if sender_id is not None else f"line:{number}"
    return make_event(
        id=event_id(origin, position, raw),
        timestamp=record.timestamp,
        fields=fields,
        original=_original(fields.get("event.original"), raw, text),
    )


def _original(parsed: FieldValue, raw: bytes, text: str) -> str:
    """The document's own event.original (a forwarded event's log line), else the line."""
    if isinstance(parsed, str) and parsed != text:
        return parsed
    # The Windows normalization puts the whole line there: look for the sender's own.
    return _sent_original(raw) or text


def _sent_original(raw: bytes) -> str | None:
    """The document's own event.original (a forwarded event's log line): kept, since the
    Windows normalization would put the whole JSON line there instead."""
    if b'"original"' not in raw and b'"event.original"' not in raw:
        return None
    document = orjson.loads(raw)
    original = document.get("event.original")
    event = document.get("event")
    if original is None and isinstance(event, dict):
        original = event.get("original")
    return original if isinstance(original, str) else None


def _header(raw: bytes) -> Mapping[str, Any]:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise IngestBodyError(f"line 1: the batch header is not valid JSON: {exc}") from None
    header = document.get(HEADER_KEY) if isinstance(document, dict) else None
    if not isinstance(header, dict):
        raise IngestBodyError(f"line 1: {HEADER_KEY} must be an object")
    return header


def _list(header: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = header.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise IngestBodyError(f"line 1: {HEADER_KEY}.{key} must be a list of objects")
    return items


def _count(header: Mapping[str, Any], key: str) -> int:
    value = header.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise IngestBodyError(f"line 1: {HEADER_KEY}.{key} must be a whole number >= 0")
    return value


def _checkpoint(item: Mapping[str, Any], source: str) -> Checkpoint:
    name, state = item.get("name"), item.get("state")
    if not isinstance(name, str) or not isinstance(state, dict):
        raise IngestBodyError(
            f"line 1: each checkpoint needs a string name and an object state, got {item!r:.80}"
        )
    parts = name.split(":")
    if len(parts) < 2 or parts[1] != source:
        raise IngestBodyError(
            f"line 1: checkpoint {name!r:.80} does not belong to source {source!r}: its name "
            f"must look like KIND:{source}[:...]"
        )
    return Checkpoint(name, state)


def _dead_letter(item: Mapping[str, Any], source: str, now: datetime) -> DeadLetter:
    reason, raw = item.get("reason"), item.get("raw")
    path, line_number = item.get("path"), item.get("line_number")
    if not isinstance(reason, str) or not isinstance(raw, str):
        raise IngestBodyError("line 1: each dead letter needs string reason and raw")
    if path is not None and not isinstance(path, str):
        raise IngestBodyError("line 1: a dead letter's path must be a string")
    if line_number is not None and (not isinstance(line_number, int) or line_number < 0):
        raise IngestBodyError("line 1: a dead letter's line_number must be a whole number")
    received_at = now
    stamp = item.get("received_at")
    if isinstance(stamp, str):
        try:
            received_at = datetime.fromisoformat(stamp)
        except ValueError:
            raise IngestBodyError(f"line 1: dead letter received_at {stamp!r:.40}") from None
    if received_at.tzinfo is None:
        raise IngestBodyError("line 1: a dead letter's received_at needs a UTC offset")
    return DeadLetter(
        source=source,
        reason=reason,
        raw=raw,
        received_at=received_at,
        path=path,
        line_number=line_number,
    )


def _dead_letter_json(letter: DeadLetter) -> dict[str, Any]:
    return {
        "reason": letter.reason,
        "raw": letter.raw,
        "path": letter.path,
        "line_number": letter.line_number,
        "received_at": letter.received_at.isoformat(),
    }
