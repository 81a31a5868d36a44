"""GET /api/v1/exports/incidents: CSV, JSON and STIX 2.1 of the seeded incidents, each read
back with an independent reader (the csv module, json, the stix2 library)."""

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import stix2
from fastapi.testclient import TestClient

from canhgac.correlator import Severity
from canhgac.incidents import IncidentStatus
from canhgac.storage import SQLiteStore, WriteBatch
from tests.api.seed_data import ORG_TTTT, incident

pytestmark = pytest.mark.usefixtures("seeded")


def test_csv_holds_a_header_and_one_row_per_matching_incident(
    client: TestClient, as_viewer: dict[str, str]
) -> None:
    answer = client.get(
        "/api/v1/exports/incidents",
        params={"format": "csv", "organization": ORG_TTTT},
        headers=as_viewer,
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["id"] for r in rows] == ["inc-sqli", "inc-scan"]
    sqli = rows[0]
    assert sqli["organization"] == "Sở TT&TT"
    assert sqli["severity"] == "high"
    assert sqli["alert_count"] == "2"
    assert sqli["first_seen"] == "2026-11-24T08:00:00+00:00"


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_defused(
    store: SQLiteStore, client: TestClient, as_viewer: dict[str, str]
) -> None:
    hostile = incident(
        "inc-formula",
        rule="r-x",
        title="Login burst",
        severity=Severity.LOW,
        status=IncidentStatus.NEW,
        system='=HYPERLINK("http://evil")',
        org=None,
        first=100,
        last=101,
        alerts=1,
    )
    store.write(WriteBatch(new_incidents=[hostile]))
    answer = client.get("/api/v1/exports/incidents", params={"format": "csv"}, headers=as_viewer)
    row = next(r for r in csv.DictReader(io.StringIO(answer.text)) if r["id"] == "inc-formula")
    assert row["system"] == '\'=HYPERLINK("http://evil")'


def test_json_is_one_array_of_incidents_newest_first(
    client: TestClient, as_viewer: dict[str, str]
) -> None:
    answer = client.get(
        "/api/v1/exports/incidents", params={"format": "json", "limit": 3}, headers=as_viewer
    )
    items = json.loads(answer.content)
    assert [i["id"] for i in items] == ["inc-trav", "inc-sqli", "inc-ssh"]
    assert items[1]["status"] == "new"


def test_stix_is_a_valid_2_1_bundle_with_each_incident_and_its_address(
    client: TestClient, as_viewer: dict[str, str], tmp_path: Path
) -> None:
    answer = client.get(
        "/api/v1/exports/incidents",
        params={"format": "stix", "status": "new"},
        headers=as_viewer,
    )
    assert answer.status_code == 200
    bundle = stix2.parse(answer.content, allow_custom=False)  # raises on any invalid object
    by_type: dict[str, list[Any]] = {}
    for obj in bundle.objects:
        by_type.setdefault(obj.type, []).append(obj)
    assert len(by_type["identity"]) == 1
    names = sorted(i.name for i in by_type["incident"])
    assert names == [
        "Directory traversal: 113.161.7.7",
        "SQL injection on the portal: 203.113.131.5",
    ]
    # Observable ids are the ones STIX derives from their values, so receivers dedupe them.
    expected = {stix2.IPv4Address(value=ip).id for ip in ("113.161.7.7", "203.113.131.5")}
    assert {a.id for a in by_type["ipv4-addr"]} == expected
    assert {r.target_ref for r in by_type["relationship"]} == expected


def test_the_same_incident_exported_twice_keeps_its_stix_id(
    client: TestClient, as_viewer: dict[str, str]
) -> None:
    def incident_ids() -> set[str]:
        answer = client.get(
            "/api/v1/exports/incidents", params={"format": "stix"}, headers=as_viewer
        )
        return {o["id"] for o in answer.json()["objects"] if o["type"] == "incident"}

    assert incident_ids() == incident_ids()
