"""The values that cross the `Store` boundary, besides events, alerts and incidents."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from canhgac.correlator import Alert, Severity
from canhgac.events import DeadLetter, Event
from canhgac.incidents import Incident, IncidentGrowth, IncidentStatus

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A collector's position (file offset, packet index...), opaque to the store."""

    name: str
    state: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """Everything one step of the pipeline produced, written in one transaction.

    Writing events and the collector checkpoint together is what makes a restart,
    even after kill -9, lose and double nothing. `alert_incidents` maps each alert's
    id to the incident it joined.
    """

    events: Sequence[Event] = ()
    dead_letters: Sequence[DeadLetter] = ()
    alerts: Sequence[Alert] = ()
    alert_incidents: Mapping[str, str] = field(default_factory=dict)
    new_incidents: Sequence[Incident] = ()
    incident_growths: Sequence[IncidentGrowth] = ()
    checkpoints: Sequence[Checkpoint] = ()


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    """Filters for listing incidents; every filter is optional, lists mean any-of."""

    statuses: Sequence[IncidentStatus] = ()
    severities: Sequence[Severity] = ()
    systems: Sequence[str] = ()
    organizations: Sequence[str] = ()
    since: datetime | None = None  # last_seen >= since
    until: datetime | None = None  # first_seen < until
    limit: int = 50
    cursor: str | None = None  # from Page.next_cursor


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, newest first; `next_cursor` is None on the last page."""

    items: Sequence[T]
    total: int
    next_cursor: str | None


class Role(StrEnum):
    """What an API key may do; each role may do all that the ones before it may."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"

    def allows(self, needed: "Role") -> bool:
        order = (Role.VIEWER, Role.ANALYST, Role.ADMIN)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A stored API key: only the SHA-256 of the key itself is kept."""

    id: str
    name: str
    role: Role
    key_hash: str
    created_at: datetime
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class StoreCounts:
    events: int
    alerts: int
    incidents: int
    open_incidents: int
    dead_letters: int
