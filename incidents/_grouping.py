"""`IncidentGrouper`: which incident each alert joins. Pure logic; the store supplies state.

Rule: alerts of the same rule about the same key entity (source.ip, else user.name, else
host.name) in the same organization join one incident while each arrives within
`window` of the incident's last alert; otherwise a new incident opens. Only incidents
an analyst has not closed (status new or acknowledged) are joined, so an alert after a
resolution opens a fresh incident instead of hiding in a closed one.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from canhgac.correlator import KEY_ENTITY_FIELDS, Alert, Severity
from canhgac.incidents._model import (
    GroupKey,
    Incident,
    IncidentGrowth,
    IncidentRef,
    IncidentStatus,
)


@dataclass(frozen=True, slots=True)
class GroupingResult:
    new_incidents: tuple[Incident, ...]
    growths: tuple[IncidentGrowth, ...]
    alert_incidents: Mapping[str, str]
    """Each alert's id → the id of the incident it joined."""


def key_entity(alert: Alert) -> tuple[str, str] | None:
    """The (field, value) an incident is about: the first of KEY_ENTITY_FIELDS the alert
    names, else the alert's first entity (a correlation's group-by), else None."""
    entities = dict(alert.entities)
    for name in KEY_ENTITY_FIELDS:
        value = entities.get(name)
        if value:
            return name, value
    return alert.entities[0] if alert.entities else None


def incident_id_for(alert: Alert) -> str:
    """An incident's id derives from its first alert, so replaying input is idempotent."""
    return "inc-" + hashlib.blake2b(alert.id.encode(), digest_size=10).hexdigest()


@dataclass(slots=True)
class _Open:
    """An incident as this batch has seen it so far."""

    id: str
    last_seen: datetime
    severity: Severity
    added: int
    first: Incident | None
    """The incident as first created in this batch; None for one already stored."""


class IncidentGrouper:
    def __init__(self, window: timedelta) -> None:
        if window <= timedelta(0):
            raise ValueError("the incident window must be positive")
        self.window = window

    def key_for(self, alert: Alert) -> GroupKey:
        entity = key_entity(alert)
        field, value = entity if entity else (None, None)
        return GroupKey(alert.rule_id, field, value, alert.organization)

    def group(
        self,
        alerts: Sequence[Alert],
        open_incidents: Mapping[GroupKey, IncidentRef],
        now: datetime,
    ) -> GroupingResult:
        """Assign each alert to an incident.

        `open_incidents` is what the store knows for the alerts' keys (see
        Store.open_incidents); `now` stamps created_at/updated_at of new incidents.
        """
        states: dict[str, _Open] = {}
        current: dict[GroupKey, _Open] = {}
        for key, ref in open_incidents.items():
            current[key] = states[ref.id] = _Open(ref.id, ref.last_seen, ref.severity, 0, None)
        assignment: dict[str, str] = {}
        for alert in sorted(alerts, key=lambda a: a.timestamp):
            key = self.key_for(alert)
            state = current.get(key)
            if state is not None and alert.timestamp - state.last_seen <= self.window:
                state.added += 1
                state.last_seen = max(state.last_seen, alert.timestamp)
                if alert.severity.rank > state.severity.rank:
                    state.severity = alert.severity
            else:
                first = self._new_incident(incident_id_for(alert), key, alert, now)
                state = _Open(first.id, alert.timestamp, alert.severity, 1, first)
                current[key] = states[first.id] = state
            assignment[alert.id] = state.id

        new_incidents = tuple(
            replace(s.first, alert_count=s.added, last_seen=s.last_seen, severity=s.severity)
            for s in states.values()
            if s.first is not None
        )
        growths = tuple(
            IncidentGrowth(s.id, s.added, s.last_seen, s.severity)
            for s in states.values()
            if s.first is None and s.added
        )
        return GroupingResult(new_incidents, growths, assignment)

    @staticmethod
    def _new_incident(incident_id: str, key: GroupKey, alert: Alert, now: datetime) -> Incident:
        title = alert.rule_title
        if key.entity_value:
            title = f"{alert.rule_title}: {key.entity_value}"
        return Incident(
            id=incident_id,
            title=title,
            rule_id=alert.rule_id,
            rule_title=alert.rule_title,
            severity=alert.severity,
            status=IncidentStatus.NEW,
            assignee=None,
            entity_field=key.entity_field,
            entity_value=key.entity_value,
            system=alert.system,
            organization=alert.organization,
            first_seen=alert.timestamp,
            last_seen=alert.timestamp,
            alert_count=1,
            created_at=now,
            updated_at=now,
        )
