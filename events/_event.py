"""The `Event` every stage after the parser works on."""

import hashlib
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from canhgac.events._ecs import nest_ecs

# The native module, or None when it was not built (a machine without cargo).
try:
    _native: Any = importlib.import_module("canhgac._native")
except ImportError:
    _native = None

Scalar = str | int | float | bool | None
FieldValue = Scalar | tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """One normalized event.

    `fields` holds ECS fields by their dotted names ("source.ip", "event.original"),
    flat so that a rule looks a field up with one dict access; "@timestamp" is kept
    apart as `timestamp` (always timezone-aware UTC).
    """

    id: str
    timestamp: datetime
    fields: Mapping[str, FieldValue]

    def get(self, name: str) -> FieldValue:
        """The field's value, or None when the event does not carry it."""
        return self.fields.get(name)

    def to_ecs(self) -> dict[str, Any]:
        """The event as a nested ECS JSON document."""
        document = nest_ecs(
            {k: list(v) if isinstance(v, tuple) else v for k, v in self.fields.items()}
        )
        document["@timestamp"] = self.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
        document.setdefault("event", {})["id"] = self.id
        return document


def event_id(origin: str, position: int | str, raw: bytes | str) -> str:
    """A deterministic id from where an event came from and what it said.

    `origin` names the source object (a file's fingerprint, a capture, a sender),
    `position` where in it (a byte offset, a packet index). The raw bytes are part of
    the id so that a file rewritten in place does not alias its old lines. Reading the
    same line again yields the same id, which the store uses to never keep it twice.
    """
    if _native is not None:
        # The same digest, hashed in one native call; None for text with lone surrogates.
        found: str | None = _native.event_id(origin, position, raw)
        if found is not None:
            return found
    return _event_id_in_python(origin, position, raw)


def _event_id_in_python(origin: str, position: int | str, raw: bytes | str) -> str:
    """`event_id`'s reference, which the native one (native/src/event_id.rs) must equal."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    digest = hashlib.blake2b(digest_size=16)
    digest.update(origin.encode("utf-8", "surrogateescape"))
    digest.update(b"\x00")
    digest.update(str(position).encode())
    digest.update(b"\x00")
    digest.update(data)
    return digest.hexdigest()


def make_event(
    *,
    id: str,
    timestamp: datetime,
    fields: Mapping[str, FieldValue],
    original: str,
    path: str | None = None,
    system: str | None = None,
    organization: str | None = None,
    owned: bool = False,
) -> Event:
    """Build an Event from parser output plus what the source configuration says.

    The parser's fields win, except for the ones the source owns: `event.original`,
    `log.file.path`, `labels.system` and `organization.name`. With `owned`, the caller
    hands `fields` over (a dict no one else holds, without None values) and it becomes
    the event's own, unfiltered and uncopied.
    """
    if timestamp.tzinfo is None:
        raise ValueError("event timestamps must be timezone-aware")
    merged: dict[str, FieldValue]
    if owned and isinstance(fields, dict):
        merged = fields
    elif None in fields.values():
        merged = {k: v for k, v in fields.items() if v is not None}
    else:
        # A copy: the caller's mapping is not the event's. Cheaper than filtering.
        merged = dict(fields)
    merged["event.original"] = original
    if path is not None:
        merged["log.file.path"] = path
    if system is not None:
        merged["labels.system"] = system
    if organization is not None:
        merged["organization.name"] = organization
    if timestamp.tzinfo is not UTC:  # parsers mostly give UTC already: no new datetime
        timestamp = timestamp.astimezone(UTC)
    return Event(id, timestamp, merged)
