"""The API's pydantic models, and the one place they are built from the internal dataclasses.

Families follow one pattern: `...Base` holds the shared fields, `...Public` is what a
response returns, `...Patch` is what a request may change. Every datetime leaves the API
as ISO-8601 with an explicit UTC offset ("2026-11-24T08:15:02+00:00").
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from canhgac.correlator import Alert, Severity
from canhgac.events import Event
from canhgac.incidents import AuditEntry, Incident, IncidentStatus, IncidentUpdate
from canhgac.storage import TOTAL_COUNT_CAP, CountByKey, IncidentStats, TotalRelation

# How many evidence events an incident's detail carries; the rest stay reachable by id.
MAX_DETAIL_EVENTS = 200
# How many alerts an incident's detail carries (oldest first).
MAX_DETAIL_ALERTS = 500


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


UtcDatetime = Annotated[
    AwareDatetime,
    PlainSerializer(_iso_utc, return_type=str, when_used="json"),
    # Keep "format: date-time" in the response schema, which a str return type would drop.
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorPublic(_Model):
    """Every error but validation errors (422) has this body."""

    detail: str = Field(description="What went wrong and what to do about it.")


class HealthPublic(_Model):
    """The API is up and the store answers."""

    status: Literal["ok"] = "ok"
    version: str
    store: Literal["ok"] = "ok"


class HealthUnavailable(_Model):
    """The API is up but the store does not answer; the server log says why."""

    status: Literal["unavailable"] = "unavailable"
    version: str
    store: Literal["unavailable"] = "unavailable"


class IncidentBase(_Model):
    """What an incident is about and where it stands."""

    title: str
    rule_id: str
    rule_title: str
    severity: Severity
    status: IncidentStatus
    assignee: str | None
    entity_field: str | None = Field(
        description="The ECS field naming the incident's subject, e.g. source.ip."
    )
    entity_value: str | None
    system: str | None
    organization: str | None
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    alert_count: int


class IncidentPublic(IncidentBase):
    """An incident as the API returns it."""

    id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    merged_into: str | None = Field(
        default=None, description="The incident this one was merged into (status merged)."
    )


class IncidentsPublic(_Model):
    """One page of incidents, in the order asked for (newest last_seen first by default)."""

    items: list[IncidentPublic]
    total: int = Field(
        description="How many incidents match the filters, on all pages, counted exactly "
        f"up to {TOTAL_COUNT_CAP:,}: past that, {TOTAL_COUNT_CAP:,} with `total_relation` gte."
    )
    total_relation: TotalRelation = Field(
        description="eq: `total` is the exact number of matches; gte: at least `total` "
        "match (the count stopped at its cap, so that counting stays bounded however many "
        "incidents match; narrow the filters for an exact count)."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class AlertPublic(_Model):
    """One rule firing, with the ids of the events it rests on."""

    id: str
    rule_id: str
    rule_title: str
    severity: Severity
    timestamp: UtcDatetime = Field(description="Event time of the alert's last evidence event.")
    entities: dict[str, str] = Field(
        description='What the alert is about, by ECS field, e.g. {"source.ip": "..."}.'
    )
    event_ids: list[str]
    tags: list[str]


class AuditEntryPublic(_Model):
    """One change to an incident: who, when, which field, from what to what, and why."""

    at: UtcDatetime
    actor: str = Field(description="The name of the API key that made the change.")
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None


class IncidentDetail(IncidentPublic):
    """An incident with its alerts, their evidence events and its audit trail."""

    alerts: list[AlertPublic] = Field(
        description=f"The incident's alerts, oldest first, at most {MAX_DETAIL_ALERTS}."
    )
    events: list[dict[str, Any]] = Field(
        description=(
            "The evidence events as ECS JSON documents: the union of the alerts' event ids, "
            f"in alert order, capped at {MAX_DETAIL_EVENTS} events."
        )
    )
    events_truncated: bool = Field(
        description=f"True when the alerts name more than {MAX_DETAIL_EVENTS} events."
    )
    history: list[AuditEntryPublic] = Field(description="The audit trail, oldest first.")


Assignee = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class IncidentPatch(_Model):
    """An analyst's change: only the fields sent change.

    `assignee: null` unassigns; leaving `assignee` out keeps it. A status of
    false_positive needs a reason; merged is set by merging (POST .../merge) only.
    """

    status: IncidentStatus | None = None
    assignee: Assignee | None = None
    severity: Severity | None = None
    reason: Reason | None = Field(default=None, description="Why; kept in the audit trail.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        sent = self.model_fields_set
        for name in ("status", "severity"):
            if name in sent and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep the current one")
        if self.status is None and self.severity is None and "assignee" not in sent:
            raise ValueError("nothing to change: send a status, an assignee or a severity")
        if self.status is IncidentStatus.MERGED:
            raise ValueError(
                "an incident becomes merged by merging it: POST "
                "/api/v1/incidents/{target}/merge with its id as source_id"
            )
        if self.status is IncidentStatus.FALSE_POSITIVE and not self.reason:
            raise ValueError(
                "marking an incident false_positive needs a non-empty reason saying why"
            )
        return self

    def to_update(self) -> IncidentUpdate:
        """The store's form of this change; a null assignee becomes `clear_assignee`."""
        unassign = "assignee" in self.model_fields_set and self.assignee is None
        return IncidentUpdate(
            status=self.status,
            assignee=self.assignee,
            clear_assignee=unassign,
            reason=self.reason or None,
            severity=self.severity,
        )


MAX_BULK = 500
"""How many incidents one bulk change may name."""

IncidentIdText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class IncidentBulkPatch(IncidentPatch):
    """One change applied to each of `ids`, each on its own (one failing stops none)."""

    ids: list[IncidentIdText] = Field(
        min_length=1, max_length=MAX_BULK, description=f"At most {MAX_BULK} incident ids."
    )


class BulkResultPublic(_Model):
    """What became of one incident of a bulk change."""

    id: str
    ok: bool
    detail: str | None = Field(default=None, description="Why it failed, when it did.")


class BulkResultsPublic(_Model):
    """One result per id, in the order sent (repeated ids once)."""

    results: list[BulkResultPublic]


class CommentCreate(_Model):
    """An analyst's note, kept in the audit trail."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]


class MergeRequest(_Model):
    """Merge the incident `source_id` into the one in the path."""

    source_id: IncidentIdText
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class CountPublic(_Model):
    """How many incidents have this value (null: those without one)."""

    key: str | None
    count: int


class TimeCountPublic(_Model):
    """How many incidents were created in the hour or day starting at `start`."""

    start: UtcDatetime
    count: int


class StatsPublic(_Model):
    """The IOC dashboard's figures over the incidents created in the range asked for."""

    open: int = Field(description="Incidents new or acknowledged.")
    total: int
    mean_time_to_acknowledge_seconds: float | None = Field(
        description="From creation to the first move out of new; null without any."
    )
    mean_time_to_resolve_seconds: float | None = Field(
        description="From creation to resolved or false_positive; null without any."
    )
    by_severity: list[CountPublic]
    by_status: list[CountPublic]
    by_system: list[CountPublic]
    by_organization: list[CountPublic]
    top_rules: list[CountPublic] = Field(
        description="The rules most incidents came from, by title."
    )
    top_source_addresses: list[CountPublic] = Field(
        description="The source.ip values most incidents are about."
    )
    by_hour: list[TimeCountPublic] = Field(
        description="Incidents created in each of the 48 hours up to `until` (or now)."
    )
    by_day: list[TimeCountPublic] = Field(
        description="Incidents created in each of the 30 UTC days up to `until` (or now)."
    )


def stats_public(stats: IncidentStats) -> StatsPublic:
    """The API form of the store's statistics."""

    def counts(rows: Sequence[CountByKey]) -> list[CountPublic]:
        return [CountPublic(key=row.key, count=row.count) for row in rows]

    return StatsPublic(
        open=stats.open,
        total=stats.total,
        mean_time_to_acknowledge_seconds=stats.mean_time_to_acknowledge_seconds,
        mean_time_to_resolve_seconds=stats.mean_time_to_resolve_seconds,
        by_severity=counts(stats.by_severity),
        by_status=counts(stats.by_status),
        by_system=counts(stats.by_system),
        by_organization=counts(stats.by_organization),
        top_rules=counts(stats.top_rules),
        top_source_addresses=counts(stats.top_source_addresses),
        by_hour=[TimeCountPublic(start=p.start, count=p.count) for p in stats.by_hour],
        by_day=[TimeCountPublic(start=p.start, count=p.count) for p in stats.by_day],
    )


def incident_public(incident: Incident) -> IncidentPublic:
    """The API form of a stored incident."""
    return IncidentPublic(**_incident_fields(incident))


def incident_detail(
    incident: Incident,
    alerts: Sequence[Alert],
    events: Sequence[Event],
    events_truncated: bool,
    history: Sequence[AuditEntry],
) -> IncidentDetail:
    """The API form of an incident with what the store holds about it."""
    return IncidentDetail(
        **_incident_fields(incident),
        alerts=[alert_public(a) for a in alerts],
        events=[e.to_ecs() for e in events],
        events_truncated=events_truncated,
        history=[audit_entry_public(h) for h in history],
    )


def alert_public(alert: Alert) -> AlertPublic:
    """The API form of an alert; entities become a {field: value} object."""
    return AlertPublic(
        id=alert.id,
        rule_id=alert.rule_id,
        rule_title=alert.rule_title,
        severity=alert.severity,
        timestamp=alert.timestamp,
        entities=dict(alert.entities),
        event_ids=list(alert.event_ids),
        tags=list(alert.tags),
    )


def audit_entry_public(entry: AuditEntry) -> AuditEntryPublic:
    """The API form of an audit entry."""
    return AuditEntryPublic(
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        field=entry.field,
        old_value=entry.old_value,
        new_value=entry.new_value,
        reason=entry.reason,
    )


def evidence_event_ids(alerts: Sequence[Alert]) -> tuple[tuple[str, ...], bool]:
    """The alerts' event ids without repeats, in alert order, capped at MAX_DETAIL_EVENTS;
    and whether the cap cut some off."""
    seen: dict[str, None] = {}
    for alert in alerts:
        for eid in alert.event_ids:
            if eid not in seen:
                if len(seen) == MAX_DETAIL_EVENTS:
                    return tuple(seen), True
                seen[eid] = None
    return tuple(seen), False


def _incident_fields(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "rule_id": incident.rule_id,
        "rule_title": incident.rule_title,
        "severity": incident.severity,
        "status": incident.status,
        "assignee": incident.assignee,
        "entity_field": incident.entity_field,
        "entity_value": incident.entity_value,
        "system": incident.system,
        "organization": incident.organization,
        "first_seen": incident.first_seen,
        "last_seen": incident.last_seen,
        "alert_count": incident.alert_count,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
        "merged_into": incident.merged_into,
    }
