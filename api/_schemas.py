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


class IncidentsPublic(_Model):
    """One page of incidents, newest last_seen first."""

    items: list[IncidentPublic]
    total: int = Field(description="How many incidents match the filters, on all pages.")
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
    false_positive needs a reason.
    """

    status: IncidentStatus | None = None
    assignee: Assignee | None = None
    reason: Reason | None = Field(default=None, description="Why; kept in the audit trail.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        sent = self.model_fields_set
        if "status" in sent and self.status is None:
            raise ValueError("status cannot be null; leave it out to keep the current status")
        if self.status is None and "assignee" not in sent:
            raise ValueError("nothing to change: send a status, an assignee, or both")
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
    }
