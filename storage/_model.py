"""The values that cross the `Store` boundary, besides events, alerts and incidents."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

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
    source_counters: Sequence["SourceCounters"] = ()
    """Increments of the sources' counters, written with what they count."""


class IncidentSort(StrEnum):
    """The order of a listing, always descending, ties broken by newer last_seen, then id."""

    LAST_SEEN = "last_seen"
    FIRST_SEEN = "first_seen"
    SEVERITY = "severity"
    ALERT_COUNT = "alert_count"


OrganizationScope = tuple[str, ...] | None
"""The organizations an API key may see: None for every one (and incidents of none)."""

TOTAL_COUNT_CAP = 10_000
"""How far a listing counts its matches exactly (as Elasticsearch's `track_total_hits`):
past it, `Page.total` is the cap and `total_relation` "gte", so a page's work stays
bounded however many incidents match."""

TotalRelation = Literal["eq", "gte"]
"""How `Page.total` relates to the number of matches: equal to it, or a lower bound."""


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
    rules: Sequence[str] = ()  # rule ids
    entities: Sequence[str] = ()  # entity values, matched exactly
    text: str | None = None  # free text over title, rule, entity, system, organization, assignee
    sort: IncidentSort = IncidentSort.LAST_SEEN
    scope: OrganizationScope = None  # besides `organizations`: only these (None: all)
    total_cap: int = TOTAL_COUNT_CAP  # count matches exactly up to this many


@dataclass(frozen=True, slots=True)
class EventFilter:
    """One field condition of an event search: the field (a dotted ECS name) holds
    exactly `value`, or, with `prefix`, a value starting with it (case-sensitive; any
    value of a multi-valued field may match)."""

    field: str
    value: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A search of the stored events, newest first (ties by id, descending).

    Every filter must hold; `text` keeps events whose message or original line holds
    every word of it (case-insensitive). since <= @timestamp < until.
    """

    filters: Sequence[EventFilter] = ()
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    cursor: str | None = None  # from Page.next_cursor
    scope: OrganizationScope = None  # only events of these organizations (None: all)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, newest first; `next_cursor` is None on the last page.
    `total` counts the matches on all pages, exactly when `total_relation` is "eq", else
    it is a lower bound (the listing's cap, `TOTAL_COUNT_CAP`)."""

    items: Sequence[T]
    total: int
    next_cursor: str | None
    total_relation: TotalRelation = "eq"


class Role(StrEnum):
    """What an API key may do; each of viewer, analyst, admin may do all that the ones
    before it may. `ingest` stands apart: it may only send events (agents, forwarding
    collectors), and no other role may send them."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"
    INGEST = "ingest"

    def allows(self, needed: "Role") -> bool:
        if Role.INGEST in (self, needed):
            return self is needed
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
    organizations: tuple[str, ...] = ()
    """The organizations whose incidents and events the key may see; empty: all."""

    @property
    def scope(self) -> OrganizationScope:
        return self.organizations or None


@dataclass(frozen=True, slots=True)
class StoreCounts:
    events: int
    alerts: int
    incidents: int
    open_incidents: int
    dead_letters: int


# -- loss accounting ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceCounters:
    """What one source delivered, as counters kept in the same write as what they count.

    The identity that proves nothing was lost between reading and storing:

        received == parsed + dead_lettered + duplicates + aggregated

    Every record a collector read (`received`) was stored as an event (`parsed`), stored
    as a dead letter with its reason (`dead_lettered`), recognised as an event stored
    before (`duplicates`: a file read again, a record repeated), or, by design, became
    part of an event that stands for several records (`aggregated`: packets folded into
    a flow's or an exchange's event; 0 for line sources). `dropped` counts records
    lost before they could be read (a UDP receiver's kernel drops): they never reached
    `received`. `late` counts parsed events too old for every correlation window still
    open (older than the correlator's watermark minus its longest timespan): they are
    stored and detection rules see them, but no correlation counts them.

    In a `WriteBatch` the values are increments; read from the store, totals since the
    store was created. `last_event` is the newest event time, `last_batch` when the
    newest batch was written (the pipeline's clock).
    """

    source: str
    received: int = 0
    parsed: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    aggregated: int = 0
    dropped: int = 0
    late: int = 0
    last_event: datetime | None = None
    last_batch: datetime | None = None

    @property
    def unaccounted(self) -> int:
        """Records read but neither stored nor recognised: 0 when nothing was lost."""
        return self.received - self.parsed - self.dead_lettered - self.duplicates - self.aggregated

    @property
    def nothing_lost(self) -> bool:
        """The identity holds and no record was dropped before it was read."""
        return self.unaccounted == 0 and self.dropped == 0

    def plus(self, other: "SourceCounters", source: str | None = None) -> "SourceCounters":
        """The sum of both (newest times), named `source` (default: this one's name)."""
        return SourceCounters(
            source=self.source if source is None else source,
            received=self.received + other.received,
            parsed=self.parsed + other.parsed,
            dead_lettered=self.dead_lettered + other.dead_lettered,
            duplicates=self.duplicates + other.duplicates,
            aggregated=self.aggregated + other.aggregated,
            dropped=self.dropped + other.dropped,
            late=self.late + other.late,
            last_event=_newest(self.last_event, other.last_event),
            last_batch=_newest(self.last_batch, other.last_batch),
        )


TOTAL_SOURCE = "total"
"""The `source` of `SourceCountersReport.totals`."""


@dataclass(frozen=True, slots=True)
class SourceCountersReport:
    """Every source's counters, by source name, and their sum (`totals`)."""

    sources: tuple[SourceCounters, ...]
    totals: SourceCounters

    @classmethod
    def of(cls, sources: Iterable[SourceCounters]) -> "SourceCountersReport":
        ordered = tuple(sorted(sources, key=lambda counters: counters.source))
        totals = SourceCounters(TOTAL_SOURCE)
        for counters in ordered:
            totals = totals.plus(counters)
        return cls(ordered, totals)

    def source(self, name: str) -> SourceCounters | None:
        return next((c for c in self.sources if c.source == name), None)


def _newest(first: datetime | None, second: datetime | None) -> datetime | None:
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second)


# -- incident triage: statistics and the change feed ----------------------------------


@dataclass(frozen=True, slots=True)
class CountByKey:
    """How many incidents have this value (None: incidents without one)."""

    key: str | None
    count: int


@dataclass(frozen=True, slots=True)
class CountByTime:
    """How many incidents were created in the hour or day starting at `start` (UTC)."""

    start: datetime
    count: int


@dataclass(frozen=True, slots=True)
class IncidentStats:
    """The IOC dashboard's figures over the incidents created in a time range.

    Times to acknowledge and to resolve are measured from an incident's creation to its
    first move out of `new`, and to its latest resolution (resolved or false_positive);
    None when no incident has one. `by_hour` covers the 48 hours before `until` (or now),
    `by_day` the 30 days before it, every bucket present, oldest first.
    """

    open: int
    total: int
    mean_time_to_acknowledge_seconds: float | None
    mean_time_to_resolve_seconds: float | None
    by_severity: tuple[CountByKey, ...]
    by_status: tuple[CountByKey, ...]
    by_system: tuple[CountByKey, ...]
    by_organization: tuple[CountByKey, ...]
    top_rules: tuple[CountByKey, ...]
    top_source_addresses: tuple[CountByKey, ...]
    by_hour: tuple[CountByTime, ...]
    by_day: tuple[CountByTime, ...]


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """An incident as it is after a change; `cursor` resumes the feed right after it."""

    incident: Incident
    created: bool
    cursor: str


@dataclass(frozen=True, slots=True)
class IncidentChanges:
    """The changes after a cursor, oldest first; `cursor` resumes after all of them (and
    after the changes the scope left out)."""

    changes: tuple[IncidentChange, ...]
    cursor: str
