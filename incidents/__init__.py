"""Incidents: alerts grouped by rule and subject, and the analyst's workflow on them."""

from canhgac.incidents._grouping import GroupingResult, IncidentGrouper, key_entity
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
    "GroupingResult",
    "Incident",
    "IncidentGrouper",
    "IncidentGrowth",
    "IncidentRef",
    "IncidentStatus",
    "IncidentUpdate",
    "key_entity",
]
