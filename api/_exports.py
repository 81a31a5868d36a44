"""Incidents as files for reports and for sharing: CSV, JSON, and STIX 2.1 bundles.

Pure formatting over incidents already read; the route pages through the store and
streams what these functions yield, so an export of 100,000 incidents never sits whole in
memory. STIX ids are deterministic (UUIDv5), so exporting the same incident twice gives
the same objects and a receiving platform deduplicates them.
"""

import csv
import io
import ipaddress
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from canhgac.incidents import Incident

CSV_COLUMNS = (
    "id",
    "title",
    "severity",
    "status",
    "assignee",
    "rule_id",
    "rule_title",
    "entity_field",
    "entity_value",
    "system",
    "organization",
    "first_seen",
    "last_seen",
    "alert_count",
    "created_at",
    "updated_at",
    "merged_into",
)
# A spreadsheet runs a cell starting with one of these as a formula: attacker-chosen
# text (a user name, a URL) must not become one in an analyst's Excel.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The namespace STIX 2.1 fixes for deterministic cyber-observable ids (section 2.9).
_STIX_SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
# canhgac's own namespace for the ids of the objects it makes (incidents, relationships).
_CANHGAC_NAMESPACE = uuid.UUID("3b1d8f8e-6f0a-5b7e-9b53-7c1c2a8f4e10")
# TLP:AMBER (STIX 2.1 predefined marking): shared with the national CERT, not published.
TLP_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"


def _record(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity.value,
        "status": incident.status.value,
        "assignee": incident.assignee,
        "rule_id": incident.rule_id,
        "rule_title": incident.rule_title,
        "entity_field": incident.entity_field,
        "entity_value": incident.entity_value,
        "system": incident.system,
        "organization": incident.organization,
        "first_seen": _iso(incident.first_seen),
        "last_seen": _iso(incident.last_seen),
        "alert_count": incident.alert_count,
        "created_at": _iso(incident.created_at),
        "updated_at": _iso(incident.updated_at),
        "merged_into": incident.merged_into,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def incidents_csv(incidents: Iterable[Incident]) -> Iterator[str]:
    """A header line, then one line per incident (RFC 4180 quoting, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for incident in incidents:
        record = _record(incident)
        writer.writerow([_safe_cell(record[column]) for column in CSV_COLUMNS])
        yield flush()


def incidents_json(incidents: Iterable[Incident]) -> Iterator[bytes]:
    """One JSON array of incident objects, yielded piece by piece."""
    yield b"["
    for index, incident in enumerate(incidents):
        yield (b"," if index else b"") + orjson.dumps(_record(incident))
    yield b"]"


def _stix_time(moment: datetime) -> str:
    # STIX timestamps are UTC with a Z and at most millisecond precision here.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _observable(incident: Incident) -> dict[str, Any] | None:
    """The incident's key entity as a STIX cyber-observable, where STIX has one."""
    value = incident.entity_value
    if not value or not incident.entity_field:
        return None
    if incident.entity_field.endswith(".ip"):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return None
        kind = "ipv4-addr" if address.version == 4 else "ipv6-addr"
        contributing = {"value": str(address)}
    elif incident.entity_field.endswith("user.name"):
        kind = "user-account"
        contributing = {"user_id": value}
    else:
        return None
    object_id = uuid.uuid5(
        _STIX_SCO_NAMESPACE, orjson.dumps(contributing, option=orjson.OPT_SORT_KEYS).decode()
    )
    return {"type": kind, "spec_version": "2.1", "id": f"{kind}--{object_id}", **contributing}


def stix_bundle(incidents: Iterable[Incident], *, producer: str, now: datetime) -> Iterator[bytes]:
    """A STIX 2.1 bundle: the producing SOC as an identity, each incident as an `incident`
    SDO (TLP:AMBER) with its key entity as an observable and a `related-to` relationship."""
    identity_id = f"identity--{uuid.uuid5(_CANHGAC_NAMESPACE, 'identity:' + producer)}"
    stamp = _stix_time(now)
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": stamp,
        "modified": stamp,
        "name": producer,
        "identity_class": "organization",
        "sectors": ["government"],
    }
    bundle_id = f"bundle--{uuid.uuid4()}"
    yield b'{"type":"bundle","id":"' + bundle_id.encode() + b'","objects":['
    yield orjson.dumps(identity)
    for incident in incidents:
        incident_id = f"incident--{uuid.uuid5(_CANHGAC_NAMESPACE, 'incident:' + incident.id)}"
        description = (
            f"{incident.rule_title}: {incident.alert_count} alert(s) from "
            f"{_iso(incident.first_seen)} to {_iso(incident.last_seen)}; "
            f"severity {incident.severity.value}, status {incident.status.value}"
            + (f"; system {incident.system}" if incident.system else "")
            + (f"; agency {incident.organization}" if incident.organization else "")
        )
        sdo = {
            "type": "incident",
            "spec_version": "2.1",
            "id": incident_id,
            "created_by_ref": identity_id,
            "created": _stix_time(incident.created_at),
            "modified": _stix_time(max(incident.updated_at, incident.created_at)),
            "name": incident.title,
            "description": description,
            "labels": [f"severity:{incident.severity.value}", f"status:{incident.status.value}"],
            "external_references": [{"source_name": "canhgac", "external_id": incident.id}],
            "object_marking_refs": [TLP_AMBER],
        }
        yield b"," + orjson.dumps(sdo)
        observable = _observable(incident)
        if observable is None:
            continue
        relationship_id = uuid.uuid5(
            _CANHGAC_NAMESPACE, f"related-to:{incident_id}:{observable['id']}"
        )
        relationship = {
            "type": "relationship",
            "spec_version": "2.1",
            "id": f"relationship--{relationship_id}",
            "created_by_ref": identity_id,
            "created": sdo["created"],
            "modified": sdo["modified"],
            "relationship_type": "related-to",
            "source_ref": incident_id,
            "target_ref": observable["id"],
            "object_marking_refs": [TLP_AMBER],
        }
        yield b"," + orjson.dumps(observable) + b"," + orjson.dumps(relationship)
    yield b"]}"
