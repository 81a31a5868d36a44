"""An analyst's change to an incident and the audit entries it leaves, for every store."""

from dataclasses import dataclass, replace
from datetime import datetime

from canhgac.incidents import AuditEntry, Incident, IncidentStatus, IncidentUpdate
from canhgac.storage._store import IncidentMergeError, StoreError


def apply_update(current: Incident, update: IncidentUpdate, now: datetime) -> Incident:
    """`current` changed by `update` at `now`. Raises IncidentMergeError for a new status
    of a merged incident: its alerts are the target's now."""
    if current.status is IncidentStatus.MERGED and update.status not in (None, current.status):
        raise IncidentMergeError(
            f"incident {current.id!r} was merged into {current.merged_into!r}: change that "
            "one's status instead"
        )
    status = current.status if update.status is None else update.status
    assignee = current.assignee
    if update.clear_assignee:
        assignee = None
    elif update.assignee is not None:
        assignee = update.assignee
    severity = current.severity if update.severity is None else update.severity
    return replace(current, status=status, assignee=assignee, severity=severity, updated_at=now)


def audit_entries(
    current: Incident, changed: Incident, actor: str, reason: str | None
) -> list[AuditEntry]:
    """One entry per field that differs between `current` and `changed`."""
    at = changed.updated_at
    entries: list[AuditEntry] = []
    if changed.status != current.status:
        entries.append(
            AuditEntry(
                current.id,
                at,
                actor,
                "status_changed",
                "status",
                current.status.value,
                changed.status.value,
                reason,
            )
        )
    if changed.assignee != current.assignee:
        action = "unassigned" if changed.assignee is None else "assigned"
        entries.append(
            AuditEntry(
                current.id,
                at,
                actor,
                action,
                "assignee",
                current.assignee,
                changed.assignee,
                reason,
            )
        )
    if changed.severity != current.severity:
        entries.append(
            AuditEntry(
                current.id,
                at,
                actor,
                "severity_changed",
                "severity",
                current.severity.value,
                changed.severity.value,
                reason,
            )
        )
    return entries


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    """Seconds from an incident's creation to its first acknowledgement and to its
    latest resolution; None until it has one (kept with the incident for the stats)."""

    acknowledge: float | None
    resolve: float | None


def response_times(
    stored: ResponseTimes, current: Incident, changed: Incident, now: datetime
) -> ResponseTimes:
    """The response times after `current` became `changed` at `now`: acknowledging is
    the first move out of `new`; resolving restarts if the incident is reopened."""
    since_created = max(0.0, (now - current.created_at).total_seconds())
    acknowledge = stored.acknowledge
    if (
        acknowledge is None
        and current.status is IncidentStatus.NEW
        and changed.status
        not in (
            IncidentStatus.NEW,
            IncidentStatus.MERGED,
        )
    ):
        acknowledge = since_created
    resolve = stored.resolve
    if changed.status.is_closed and not current.status.is_closed:
        resolve = since_created
    elif changed.status.is_open:
        resolve = None
    return ResponseTimes(acknowledge, resolve)


def comment_entry(incident_id: str, text: str, actor: str, now: datetime) -> AuditEntry:
    """A comment in the audit trail: action "comment", the text as its new value."""
    if not text.strip():
        raise StoreError("a comment needs some text")
    return AuditEntry(incident_id, now, actor, "comment", None, None, text, None)


def check_mergeable(target: Incident, source: Incident) -> None:
    """Raise IncidentMergeError unless `source` may be merged into `target`."""
    if target.id == source.id:
        raise IncidentMergeError(f"incident {target.id!r} cannot be merged into itself")
    for incident in (target, source):
        if incident.status is IncidentStatus.MERGED:
            raise IncidentMergeError(
                f"incident {incident.id!r} was merged into {incident.merged_into!r} already; "
                "merge with that one instead"
            )
    if target.organization != source.organization:
        raise IncidentMergeError(
            f"incidents {target.id!r} and {source.id!r} belong to different organizations "
            f"({target.organization or 'none'}, {source.organization or 'none'}); only "
            "incidents of one organization can be merged"
        )


def merged(target: Incident, source: Incident, now: datetime) -> tuple[Incident, Incident]:
    """The target holding the source's alerts too, and the source marked merged."""
    grown = replace(
        target,
        alert_count=target.alert_count + source.alert_count,
        first_seen=min(target.first_seen, source.first_seen),
        last_seen=max(target.last_seen, source.last_seen),
        severity=max(target.severity, source.severity, key=lambda severity: severity.rank),
        updated_at=now,
    )
    folded = replace(source, status=IncidentStatus.MERGED, merged_into=target.id, updated_at=now)
    return grown, folded


def merge_entries(
    target: Incident, source: Incident, actor: str, reason: str | None, now: datetime
) -> tuple[list[AuditEntry], list[AuditEntry]]:
    """The audit entries of a merge: the target's, and the source's."""
    into_target = [
        AuditEntry(target.id, now, actor, "merged", "merged_from", None, source.id, reason)
    ]
    into_source = [
        AuditEntry(
            source.id,
            now,
            actor,
            "status_changed",
            "status",
            source.status.value,
            IncidentStatus.MERGED.value,
            reason,
        ),
        AuditEntry(source.id, now, actor, "merged", "merged_into", None, target.id, reason),
    ]
    return into_target, into_source
