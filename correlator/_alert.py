"""What the correlator raises: an `Alert`, with the evidence events it rests on."""

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class Severity(StrEnum):
    """Sigma's levels, lowest first; incidents and the API use the same scale."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = tuple(Severity)

# Fields that name who or what an alert is about, in the order incident grouping prefers.
KEY_ENTITY_FIELDS = ("source.ip", "user.name", "host.name")


class Alert(NamedTuple):
    """One rule firing.

    `timestamp` is the event time of the last evidence event; `entities` holds the
    (field, value) pairs that identify the subject (a correlation's group-by values, or
    the key entity fields of the matched event), used to group alerts into incidents.

    A NamedTuple, not a frozen dataclass: the correlator makes one per match in its hot
    loop, and a tuple is built several times faster (bench/README.md); it is as
    immutable. Change one with `_replace`.
    """

    id: str
    rule_id: str
    rule_title: str
    severity: Severity
    timestamp: datetime
    event_ids: tuple[str, ...]
    entities: tuple[tuple[str, str], ...]
    system: str | None = None
    organization: str | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None


def alert_id(rule_id: str, event_ids: tuple[str, ...]) -> str:
    """Deterministic: the same rule over the same evidence is the same alert."""
    digest = alert_digest(rule_id)
    for eid in event_ids:
        digest.update(alert_id_part(eid))
    return digest.hexdigest()


def alert_digest(rule_id: str) -> hashlib.blake2b:
    """The hash `alert_id` starts from (a copy of it serves each alert of the rule)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(rule_id.encode())
    return digest


def alert_id_part(event_id: str) -> bytes:
    """What one evidence event adds to `alert_id`'s hash."""
    return b"\x00" + event_id.encode()
