"""How values become SQLite rows and back: events, alerts, incidents, audit entries,
dead letters and API keys as the columns of their tables (values as text: _encoding).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from canhgac.correlator import Alert, Severity
from canhgac.events import DeadLetter, Event, FieldValue
from canhgac.incidents import AuditEntry, Incident, IncidentStatus
from canhgac.storage._encoding import (
    dump_json,
    event_fields,
    format_time,
    load_json,
    parse_time,
    sql_text,
)
from canhgac.storage._model import ApiKeyRecord, Role

Row = Sequence[Any]


def _indexed_text(fields: Mapping[str, FieldValue], name: str) -> str | None:
    value = fields.get(name)
    if isinstance(value, str):
        return sql_text(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def event_row(
    event: Event,
) -> tuple[str, str, str | None, str | None, str | None, str | None, str | None, str | None, str]:
    """(id, ts, dataset, system, organization, source_ip, user_name, host_name, doc)."""
    fields = event.fields
    return (
        event.id,
        format_time(event.timestamp),
        _indexed_text(fields, "event.dataset"),
        _indexed_text(fields, "labels.system"),
        _indexed_text(fields, "organization.name"),
        _indexed_text(fields, "source.ip"),
        _indexed_text(fields, "user.name"),
        _indexed_text(fields, "host.name"),
        dump_json(fields if isinstance(fields, dict) else dict(fields)),
    )


def event_from_row(row: Row) -> Event:
    """From (id, ts, doc)."""
    return Event(id=row[0], timestamp=parse_time(row[1]), fields=event_fields(row[2]))


def alert_row(alert: Alert, incident_id: str | None) -> tuple[Any, ...]:
    """Columns (id, rule_id, rule_title, severity, ts, incident_id, system, organization,
    entities, tags, description, event_ids)."""
    return (
        alert.id,
        alert.rule_id,
        sql_text(alert.rule_title),
        alert.severity.value,
        format_time(alert.timestamp),
        incident_id,
        sql_text(alert.system),
        sql_text(alert.organization),
        dump_json(alert.entities),
        dump_json(alert.tags),
        sql_text(alert.description),
        dump_json(alert.event_ids),
    )


def alert_from_row(row: Row) -> Alert:
    """From the columns of `alert_row`, in its order."""
    return Alert(
        id=row[0],
        rule_id=row[1],
        rule_title=row[2],
        severity=Severity(row[3]),
        timestamp=parse_time(row[4]),
        system=row[6],
        organization=row[7],
        entities=tuple((str(name), str(value)) for name, value in load_json(row[8])),
        tags=tuple(load_json(row[9])),
        description=row[10],
        event_ids=tuple(load_json(row[11])),
    )


def incident_row(incident: Incident) -> tuple[Any, ...]:
    """Columns (id, title, rule_id, rule_title, severity, status, assignee, entity_field,
    entity_value, system, organization, first_seen, last_seen, alert_count, created_at,
    updated_at, severity_rank)."""
    return (
        incident.id,
        sql_text(incident.title),
        incident.rule_id,
        sql_text(incident.rule_title),
        incident.severity.value,
        incident.status.value,
        sql_text(incident.assignee),
        incident.entity_field,
        sql_text(incident.entity_value),
        sql_text(incident.system),
        sql_text(incident.organization),
        format_time(incident.first_seen),
        format_time(incident.last_seen),
        incident.alert_count,
        format_time(incident.created_at),
        format_time(incident.updated_at),
        incident.severity.rank,
    )


def incident_from_row(row: Row) -> Incident:
    """From the columns of `incident_row` (without severity_rank), in its order, then
    merged_into when the row has it."""
    return Incident(
        id=row[0],
        title=row[1],
        rule_id=row[2],
        rule_title=row[3],
        severity=Severity(row[4]),
        status=IncidentStatus(row[5]),
        assignee=row[6],
        entity_field=row[7],
        entity_value=row[8],
        system=row[9],
        organization=row[10],
        first_seen=parse_time(row[11]),
        last_seen=parse_time(row[12]),
        alert_count=row[13],
        created_at=parse_time(row[14]),
        updated_at=parse_time(row[15]),
        merged_into=row[16] if len(row) > 16 else None,
    )


def audit_row(entry: AuditEntry) -> tuple[str | None, ...]:
    """Columns (incident_id, at, actor, action, field, old_value, new_value, reason)."""
    return (
        entry.incident_id,
        format_time(entry.at),
        sql_text(entry.actor),
        entry.action,
        entry.field,
        sql_text(entry.old_value),
        sql_text(entry.new_value),
        sql_text(entry.reason),
    )


def audit_from_row(row: Row) -> AuditEntry:
    """From the columns of `audit_row`, in its order."""
    return AuditEntry(
        incident_id=row[0],
        at=parse_time(row[1]),
        actor=row[2],
        action=row[3],
        field=row[4],
        old_value=row[5],
        new_value=row[6],
        reason=row[7],
    )


def dead_letter_row(letter: DeadLetter) -> tuple[str | int | None, ...]:
    """Columns (source, path, line_number, reason, raw, received_at)."""
    return (
        sql_text(letter.source),
        sql_text(letter.path),
        letter.line_number,
        sql_text(letter.reason),
        sql_text(letter.raw),
        format_time(letter.received_at),
    )


def dead_letter_from_row(row: Row) -> DeadLetter:
    """From the columns of `dead_letter_row`, in its order."""
    return DeadLetter(
        source=row[0],
        path=row[1],
        line_number=row[2],
        reason=row[3],
        raw=row[4],
        received_at=parse_time(row[5]),
    )


def api_key_row(record: ApiKeyRecord) -> tuple[str | int | None, ...]:
    """Columns (id, name, role, key_hash, created_at, revoked, organizations)."""
    return (
        record.id,
        sql_text(record.name),
        record.role.value,
        record.key_hash,
        format_time(record.created_at),
        int(record.revoked),
        dump_json([sql_text(name) for name in record.organizations]),
    )


def api_key_from_row(row: Row) -> ApiKeyRecord:
    """From the columns of `api_key_row`, in its order."""
    return ApiKeyRecord(
        id=row[0],
        name=row[1],
        role=Role(row[2]),
        key_hash=row[3],
        created_at=parse_time(row[4]),
        revoked=bool(row[5]),
        organizations=tuple(load_json(row[6])) if len(row) > 6 else (),
    )
