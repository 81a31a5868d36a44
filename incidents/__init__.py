"""Incidents: alerts grouped by rule and subject, and the analyst's workflow on them."""

from canhgac.incidents._model import (
    OPEN_STATUSES,
    AuditEntry,
    GroupKey,
    Incident,
    IncidentGrowth,
    IncidentRef,
    IncidentStatus,
    IncidentUpdate,
)

__all__ = [
    "OPEN_STATUSES",
    "AuditEntry",
    "GroupKey",
    "Incident",
    "IncidentGrowth",
    "IncidentRef",
    "IncidentStatus",
    "IncidentUpdate",
]
