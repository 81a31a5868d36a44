"""The operations views' models: stored events, collectors and the service's live state.

`live:service` is written by the correlator (service/_live_state.py documents its
layout) and read here as what it is to the API: JSON from outside, validated.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from canhgac.api._schemas import UtcDatetime
from canhgac.config import SourceConfig
from canhgac.storage import SourceCounters

LIVE_SERVICE_CHECKPOINT = "live:service"
STALE_AFTER_INTERVALS = 3
"""`live:service` older than this many of its intervals: the correlator stopped writing."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EventsPublic(_Model):
    """One page of stored events, newest first."""

    items: list[dict[str, Any]] = Field(
        description="The events as ECS JSON documents (`@timestamp`, `event.id`, ...)."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page."
    )


class ServiceLive(BaseModel):
    """The `live:service` document as the correlator writes it (unknown keys ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    written_at: datetime
    status: str
    started_at: datetime
    uptime_seconds: float
    interval_seconds: float
    queue_depth: int
    queue_capacity: int
    batches: int
    events_in: int
    alerts: int
    failed_writes: int
    events_per_second: dict[str, float] = {}

    @classmethod
    def of(cls, state: Mapping[str, Any] | None) -> "ServiceLive | None":
        """The document, or None when there is none or it cannot be read."""
        if state is None:
            return None
        try:
            return cls.model_validate(state)
        except ValidationError:
            return None

    def fresh(self, now: datetime) -> bool:
        return now - self.written_at <= timedelta(
            seconds=self.interval_seconds * STALE_AFTER_INTERVALS
        )


class ServicePublic(_Model):
    """The correlator's state, as it last wrote it."""

    status: Literal["running", "stale", "unknown"] = Field(
        description="running: written within three of its intervals; stale: not written "
        "since (the correlator is stopped or stuck); unknown: never written."
    )
    written_at: UtcDatetime | None = None
    started_at: UtcDatetime | None = None
    uptime_seconds: float | None = None
    queue_depth: int | None = Field(default=None, description="Batches waiting for the pipeline.")
    queue_capacity: int | None = None
    batches: int | None = Field(default=None, description="Batches stored since the start.")
    events_in: int | None = Field(default=None, description="New events stored since the start.")
    alerts: int | None = Field(default=None, description="Alerts raised since the start.")
    failed_writes: int | None = Field(
        default=None, description="Store writes that failed and were retried."
    )


class SourcePublic(_Model):
    """One source's counters since the store was created."""

    name: str
    type: str | None = Field(
        description="The configured source type (file, syslog, capture, portal_monitor); "
        "null for a source not in this configuration (an agent sending to the ingest API)."
    )
    last_event: UtcDatetime | None = Field(description="The newest event's time.")
    events_per_second: float = Field(
        description="Events stored per second over the correlator's last interval (15 s); "
        "0 when it is not running."
    )
    received: int = Field(description="Records read.")
    parsed: int = Field(description="Stored as events.")
    dead_letters: int = Field(description="Stored as dead letters, with their reason.")
    dropped: int = Field(description="Lost before they could be read (kernel drops).")
    late: int = Field(description="Events too old for every open correlation window.")
    duplicates: int = Field(description="Records stored before (a file read again).")


class CollectorsPublic(_Model):
    service: ServicePublic
    sources: list[SourcePublic] = Field(description="By name.")


def service_public(live: ServiceLive | None, now: datetime, *, counts: bool) -> ServicePublic:
    """The service's state; without `counts` (a key scoped to some organizations), the
    figures over every organization are left out."""
    if live is None:
        return ServicePublic(status="unknown")
    figures: dict[str, int | None] = {
        "batches": live.batches,
        "events_in": live.events_in,
        "alerts": live.alerts,
    }
    if not counts:
        figures = dict.fromkeys(figures)
    return ServicePublic(
        status="running" if live.fresh(now) else "stale",
        written_at=live.written_at,
        started_at=live.started_at,
        uptime_seconds=live.uptime_seconds,
        queue_depth=live.queue_depth,
        queue_capacity=live.queue_capacity,
        failed_writes=live.failed_writes,
        **figures,
    )


def source_organizations(source: SourceConfig) -> set[str]:
    """Every organization a configured source tags events with."""
    found = {source.organization} if source.organization else set()
    for rule in getattr(source, "tags", ()):
        if rule.organization:
            found.add(rule.organization)
    for target in getattr(source, "targets", ()):
        if target.organization:
            found.add(target.organization)
    return found


def sources_public(
    counters: Iterable[SourceCounters],
    configured: Iterable[SourceConfig],
    rates: Mapping[str, float],
    scope: tuple[str, ...] | None,
) -> list[SourcePublic]:
    """Every counted or configured source (configured ones not counted yet at zero), by
    name; with a `scope`, only configured sources tagging one of its organizations."""
    config = {source.name: source for source in configured}
    counted = {c.source: c for c in counters}
    rows = []
    for name in sorted(counted.keys() | config.keys()):
        source = config.get(name)
        if scope is not None and (source is None or not source_organizations(source) & set(scope)):
            continue
        c = counted.get(name, SourceCounters(name))
        rows.append(
            SourcePublic(
                name=name,
                type=None if source is None else source.type,
                last_event=c.last_event,
                events_per_second=rates.get(name, 0.0),
                received=c.received,
                parsed=c.parsed,
                dead_letters=c.dead_lettered,
                dropped=c.dropped,
                late=c.late,
                duplicates=c.duplicates,
            )
        )
    return rows
