"""Incidents: what an analyst works on, one per rule and subject within a window."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from canhgac.correlator import Severity


class IncidentStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"
    MERGED = "merged"
    """Folded into another incident (`Incident.merged_into`), which holds its alerts."""

    @property
    def is_open(self) -> bool:
        return self in (IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED)

    @property
    def is_closed(self) -> bool:
        """Resolved one way or the other: what the time to resolve measures up to."""
        return self in (IncidentStatus.RESOLVED, IncidentStatus.FALSE_POSITIVE)


OPEN_STATUSES = (IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED)


@dataclass(frozen=True, slots=True)
class GroupKey:
    """Alerts with equal keys join one incident while its window is open.

    The organization is part of the key so that an incident always belongs to one
    agency, whose analysts may be the only ones allowed to see it.
    """

    rule_id: str
    entity_field: str | None
    entity_value: str | None
    organization: str | None


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    title: str
    rule_id: str
    rule_title: str
    severity: Severity
    status: IncidentStatus
    assignee: str | None
    entity_field: str | None
    entity_value: str | None
    system: str | None
    organization: str | None
    first_seen: datetime
    last_seen: datetime
    alert_count: int
    created_at: datetime
    updated_at: datetime
    merged_into: str | None = None
    """The incident this one was merged into (status merged), else None."""

    @property
    def group_key(self) -> GroupKey:
        return GroupKey(self.rule_id, self.entity_field, self.entity_value, self.organization)


@dataclass(frozen=True, slots=True)
class IncidentRef:
    """The little the grouper needs to know of an open incident."""

    id: str
    last_seen: datetime
    severity: Severity


@dataclass(frozen=True, slots=True)
class IncidentGrowth:
    """Alerts added to an existing incident: counts add up, times and severity only rise."""

    incident_id: str
    added_alerts: int
    last_seen: datetime
    severity: Severity


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change to an incident: who, when, what field, from what to what, and why."""

    incident_id: str
    at: datetime
    actor: str
    action: str
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    """An analyst's change. None leaves a field as it is; `clear_assignee` unassigns."""

    status: IncidentStatus | None = None
    assignee: str | None = None
    clear_assignee: bool = False
    reason: str | None = None
    severity: Severity | None = None
