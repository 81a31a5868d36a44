"""/api/v1/incidents against a real SQLiteStore holding the hand-made data of seed_data."""

from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from canhgac.correlator import Alert, Severity
from canhgac.incidents import IncidentStatus
from canhgac.storage import SQLiteStore, WriteBatch
from tests.api.seed_data import (
    NOW,
    ORG_TTTT,
    ORG_UBND,
    ORG_YTE,
    Clock,
    event,
    incident,
    minutes,
)

ALL = ["inc-trav", "inc-sqli", "inc-ssh", "inc-admin", "inc-scan"]
# list is invariant: the element type must be exactly what httpx2 accepts.
Params = list[tuple[str, str | int | float | bool | None]]


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# -- listing ------------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
def test_the_list_holds_every_incident_newest_last_seen_first(
    client: TestClient, as_viewer: dict[str, str]
) -> None:
    response = client.get("/api/v1/incidents", headers=as_viewer)
    assert ids(response) == ALL
    body = response.json()
    assert body["total"] == 5
    assert body["total_relation"] == "eq"
    assert body["next_cursor"] is None


def test_past_ten_thousand_matches_the_total_says_at_least(
    store: SQLiteStore, client: TestClient, as_viewer: dict[str, str]
) -> None:
    many = [
        incident(
            f"inc-{n:05d}",
            rule="r-scan",
            title="Port scan",
            severity=Severity.LOW if n % 2 else Severity.HIGH,
            status=IncidentStatus.NEW,
            system="egov",
            org=ORG_TTTT,
            first=-n,
            last=-n,
            alerts=1,
        )
        for n in range(10_001)
    ]
    store.write(WriteBatch(new_incidents=many))
    capped = client.get("/api/v1/incidents", params={"limit": 2}, headers=as_viewer).json()
    assert (capped["total"], capped["total_relation"]) == (10_000, "gte")
    assert [item["id"] for item in capped["items"]] == ["inc-00000", "inc-00001"]
    # A filter that keeps fewer than the cap is counted exactly.
    high = client.get(
        "/api/v1/incidents", params={"severity": "high", "limit": 2}, headers=as_viewer
    ).json()
    assert (high["total"], high["total_relation"]) == (5_001, "eq")


@pytest.mark.usefixtures("seeded")
def test_an_incident_in_the_list_carries_every_field_with_utc_offsets(
    client: TestClient, as_viewer: dict[str, str]
) -> None:
    items = client.get("/api/v1/incidents", headers=as_viewer).json()["items"]
    ssh = next(item for item in items if item["id"] == "inc-ssh")
    assert ssh == {
        "id": "inc-ssh",
        "title": "SSH brute force: 14.160.2.9",
        "rule_id": "r-ssh",
        "rule_title": "SSH brute force",
        "severity": "medium",
        "status": "acknowledged",
        "assignee": "analyst-lan",
        "entity_field": "source.ip",
        "entity_value": "14.160.2.9",
        "system": "mail",
        "organization": "Sở Y tế",
        "first_seen": "2026-11-24T08:10:00+00:00",
        "last_seen": "2026-11-24T08:40:00+00:00",
        "alert_count": 1,
        "created_at": "2026-11-24T08:10:00+00:00",
        "updated_at": "2026-11-24T08:40:00+00:00",
        "merged_into": None,
    }


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("status", "new")], ["inc-trav", "inc-sqli"]),
        ([("status", "new"), ("status", "acknowledged")], ["inc-trav", "inc-sqli", "inc-ssh"]),
        ([("severity", "high")], ["inc-trav", "inc-sqli"]),
        ([("severity", "high"), ("severity", "critical")], ["inc-trav", "inc-sqli", "inc-admin"]),
        ([("system", "dichvucong")], ["inc-sqli", "inc-scan"]),
        ([("system", "dichvucong"), ("system", "mail")], ["inc-sqli", "inc-ssh", "inc-scan"]),
        ([("organization", ORG_YTE)], ["inc-ssh"]),
        (
            [("organization", ORG_TTTT), ("organization", ORG_UBND)],
            ["inc-sqli", "inc-admin", "inc-scan"],
        ),
        # since keeps last_seen >= since: 08:40 keeps inc-ssh, last seen at 08:40.
        ([("since", "2026-11-24T08:40:00+00:00")], ["inc-trav", "inc-sqli", "inc-ssh"]),
        ([("since", "2026-11-24T08:40:01Z")], ["inc-trav", "inc-sqli"]),
        # The same instant as 08:40 UTC, written in Vietnam's offset.
        ([("since", "2026-11-24T15:40:00+07:00")], ["inc-trav", "inc-sqli", "inc-ssh"]),
        # until keeps first_seen < until: 08:10 drops inc-ssh, first seen at 08:10.
        ([("until", "2026-11-24T08:10:00Z")], ["inc-sqli", "inc-scan"]),
        ([("until", "2026-11-24T08:10:01Z")], ["inc-sqli", "inc-ssh", "inc-scan"]),
        (
            [("since", "2026-11-24T08:35:00Z"), ("until", "2026-11-24T08:15:00Z")],
            ["inc-sqli", "inc-ssh"],
        ),
        ([("status", "new"), ("system", "dichvucong")], ["inc-sqli"]),
        ([("organization", "Sở không có")], []),
    ],
)
def test_each_filter_keeps_only_matching_incidents(
    client: TestClient, as_viewer: dict[str, str], params: Params, expected: list[str]
) -> None:
    response = client.get("/api/v1/incidents", headers=as_viewer, params=params)
    assert ids(response) == expected
    assert response.json()["total"] == len(expected)


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    "params",
    [
        [("status", "closed")],
        [("severity", "urgent")],
        [("since", "2026-11-24T08:35:00")],  # no offset: ambiguous
        [("until", "yesterday")],
        [("limit", "0")],
        [("limit", "501")],
    ],
)
def test_invalid_query_parameters_answer_422(
    client: TestClient, as_viewer: dict[str, str], params: Params
) -> None:
    response = client.get("/api/v1/incidents", headers=as_viewer, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def many_incidents(store: SQLiteStore, count: int) -> set[str]:
    """`count` incidents, two by two sharing a last_seen, so that pages split ties."""
    made = [
        incident(
            f"inc-{n:03d}",
            rule="r-sqli",
            title="SQL injection on the portal",
            severity=Severity.HIGH,
            status=IncidentStatus.NEW if n % 3 else IncidentStatus.RESOLVED,
            system="dichvucong",
            org=ORG_TTTT,
            first=n // 2,
            last=n // 2,
            alerts=1,
            ip=f"10.0.0.{n}",
        )
        for n in range(count)
    ]
    store.write(WriteBatch(new_incidents=made))
    return {i.id for i in made}


@pytest.mark.parametrize(("params", "size"), [([], 23), ([("status", "new")], 15)])
def test_walking_the_pages_returns_every_incident_exactly_once(
    client: TestClient,
    as_viewer: dict[str, str],
    store: SQLiteStore,
    params: Params,
    size: int,
) -> None:
    made = many_incidents(store, 23)
    seen: list[dict[str, Any]] = []
    pages = []
    cursor: str | None = None
    while True:
        page_params = [*params, ("limit", "5")] + ([("cursor", cursor)] if cursor else [])
        body = client.get("/api/v1/incidents", headers=as_viewer, params=page_params).json()
        assert body["total"] == size
        pages.append(len(body["items"]))
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(pages) <= 10, "the cursor never ends"
    assert pages == [5] * (size // 5) + ([size % 5] if size % 5 else [])
    seen_ids = [item["id"] for item in seen]
    assert len(seen_ids) == len(set(seen_ids)) == size
    assert set(seen_ids) <= made
    last_seen = [item["last_seen"] for item in seen]
    assert last_seen == sorted(last_seen, reverse=True)


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("cursor", ["not a cursor", "bm9wZQ", "WyJ4IiwieSJd", "W10"])
def test_a_cursor_the_api_did_not_give_answers_400(
    client: TestClient, as_viewer: dict[str, str], cursor: str
) -> None:
    response = client.get("/api/v1/incidents", headers=as_viewer, params={"cursor": cursor})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "invalid cursor" in detail
    assert "next_cursor" in detail


# -- one incident -------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
def test_the_detail_has_the_alerts_oldest_first(
    client: TestClient, as_viewer: dict[str, str]
) -> None:
    body = client.get("/api/v1/incidents/inc-sqli", headers=as_viewer).json()
    assert body["id"] == "inc-sqli"
    assert body["alert_count"] == 2
    assert body["first_seen"] == "2026-11-24T08:00:00+00:00"
    assert body["alerts"] == [
        {
            "id": "a-sqli-1",
            "rule_id": "r-sqli",
            "rule_title": "SQL injection on the portal",
            "severity": "high",
            "timestamp": "2026-11-24T08:01:00+00:00",
            "entities": {"source.ip": "203.113.131.5", "url.path": "/login"},
            "event_ids": ["e1", "e2"],
            "tags": ["attack.initial_access", "attack.t1190"],
        },
        {
            "id": "a-sqli-2",
            "rule_id": "r-sqli",
            "rule_title": "SQL injection on the portal",
            "severity": "high",
            "timestamp": "2026-11-24T08:50:00+00:00",
            "entities": {"source.ip": "203.113.131.5", "url.path": "/login"},
            "event_ids": ["e2", "e3"],
            "tags": ["attack.initial_access", "attack.t1190"],
        },
    ]


@pytest.mark.usefixtures("seeded")
def test_the_detail_has_each_evidence_event_once_as_an_ecs_document(
    client: TestClient, as_viewer: dict[str, str]
) -> None:
    body = client.get("/api/v1/incidents/inc-sqli", headers=as_viewer).json()
    events = body["events"]
    assert [e["event"]["id"] for e in events] == ["e1", "e2", "e3"]
    assert body["events_truncated"] is False
    first = events[0]
    assert first["@timestamp"] == "2026-11-24T08:00:00Z"
    assert first["source"] == {"ip": "203.113.131.5"}
    assert first["url"] == {"path": "/search?q=1'--"}
    assert first["http"] == {"response": {"status_code": 200}}
    assert first["organization"] == {"name": "Sở TT&TT"}
    assert first["labels"] == {"system": "dichvucong"}
    assert first["tags"] == ["web", "portal"]
    assert first["event"]["original"].startswith("203.113.131.5 - - [24/Nov/2026]")


def test_the_detail_caps_evidence_events_at_200(
    client: TestClient, as_viewer: dict[str, str], store: SQLiteStore
) -> None:
    big = incident(
        "inc-big",
        rule="r-scan",
        title="Web scanner",
        severity=Severity.LOW,
        status=IncidentStatus.NEW,
        system="dichvucong",
        org=ORG_TTTT,
        first=0,
        last=10,
        alerts=2,
    )
    events = [
        event(f"e{n:03d}", minutes(n / 100), "203.113.131.5", f"/p{n}", None, None)
        for n in range(250)
    ]
    alerts = [
        Alert(
            id=f"a-big-{part}",
            rule_id="r-scan",
            rule_title="Web scanner",
            severity=Severity.LOW,
            timestamp=minutes(part * 10),
            event_ids=tuple(f"e{n:03d}" for n in range(part * 125, part * 125 + 125)),
            entities=(("source.ip", "203.113.131.5"),),
        )
        for part in (0, 1)
    ]
    store.write(
        WriteBatch(
            events=events,
            alerts=alerts,
            alert_incidents={a.id: "inc-big" for a in alerts},
            new_incidents=[big],
        )
    )
    body = client.get("/api/v1/incidents/inc-big", headers=as_viewer).json()
    assert [e["event"]["id"] for e in body["events"]] == [f"e{n:03d}" for n in range(200)]
    assert body["events_truncated"] is True
    assert [len(a["event_ids"]) for a in body["alerts"]] == [125, 125]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/incidents/inc-nope"),
        ("PATCH", "/api/v1/incidents/inc-nope"),
        ("GET", "/api/v1/incidents/inc-nope/history"),
    ],
)
def test_an_unknown_incident_answers_404(
    client: TestClient, as_analyst: dict[str, str], method: str, path: str
) -> None:
    response = client.request(method, path, headers=as_analyst, json={"status": "acknowledged"})
    assert response.status_code == 404
    assert "inc-nope" in response.json()["detail"]


# -- triage -------------------------------------------------------------------------------


def patch(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], iid: str = "inc-sqli"
) -> httpx.Response:
    response: httpx.Response = client.patch(f"/api/v1/incidents/{iid}", headers=headers, json=body)
    return response


@pytest.mark.usefixtures("seeded")
def test_acknowledging_changes_the_status_and_records_who_and_when(
    client: TestClient, as_analyst: dict[str, str], as_viewer: dict[str, str]
) -> None:
    response = patch(client, as_analyst, {"status": "acknowledged"})
    assert response.status_code == 200
    assert response.json()["status"] == "acknowledged"
    assert response.json()["updated_at"] == "2026-11-24T10:00:00+00:00"
    assert response.json()["assignee"] is None
    history = client.get("/api/v1/incidents/inc-sqli/history", headers=as_viewer).json()
    assert history == [
        {
            "at": "2026-11-24T10:00:00+00:00",
            "actor": "soc-analyst",
            "action": "status_changed",
            "field": "status",
            "old_value": "new",
            "new_value": "acknowledged",
            "reason": None,
        }
    ]
    listed = client.get("/api/v1/incidents", headers=as_viewer, params={"status": "new"})
    assert ids(listed) == ["inc-trav"]


@pytest.mark.usefixtures("seeded")
def test_a_triage_from_assignment_to_resolution_is_audited_step_by_step(
    client: TestClient, as_analyst: dict[str, str], as_viewer: dict[str, str], clock: Clock
) -> None:
    assert patch(client, as_analyst, {"assignee": "analyst-hoa"}).json()["assignee"] == (
        "analyst-hoa"
    )
    clock.now = NOW + timedelta(minutes=5)
    resolved = patch(client, as_analyst, {"status": "resolved", "reason": "blocked at the WAF"})
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["assignee"] == "analyst-hoa"  # absent: kept
    clock.now = NOW + timedelta(minutes=7)
    unassigned = patch(client, as_analyst, {"assignee": None})
    assert unassigned.status_code == 200
    assert unassigned.json()["assignee"] is None
    assert unassigned.json()["status"] == "resolved"

    detail = client.get("/api/v1/incidents/inc-sqli", headers=as_viewer).json()

    def step(at: str, action: str, field: str, old: Any, new: Any, why: Any) -> dict[str, Any]:
        return {
            "at": f"2026-11-24T{at}:00+00:00",
            "actor": "soc-analyst",
            "action": action,
            "field": field,
            "old_value": old,
            "new_value": new,
            "reason": why,
        }

    assert detail["history"] == [
        step("10:00", "assigned", "assignee", None, "analyst-hoa", None),
        step("10:05", "status_changed", "status", "new", "resolved", "blocked at the WAF"),
        step("10:07", "unassigned", "assignee", "analyst-hoa", None, None),
    ]


@pytest.mark.usefixtures("seeded")
def test_leaving_assignee_out_keeps_it_and_null_clears_it(
    client: TestClient, as_analyst: dict[str, str]
) -> None:
    kept = patch(client, as_analyst, {"status": "resolved"}, iid="inc-ssh")
    assert kept.json()["assignee"] == "analyst-lan"
    cleared = patch(client, as_analyst, {"assignee": None}, iid="inc-ssh")
    assert cleared.json()["assignee"] is None


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    "body",
    [
        {"status": "false_positive"},
        {"status": "false_positive", "reason": "   "},
        {"status": "false_positive", "reason": None},
    ],
)
def test_false_positive_without_a_reason_answers_422_and_changes_nothing(
    client: TestClient, as_analyst: dict[str, str], seeded: SQLiteStore, body: dict[str, Any]
) -> None:
    response = patch(client, as_analyst, body)
    assert response.status_code == 422
    assert "needs a non-empty reason" in response.json()["detail"][0]["msg"]
    incident = seeded.get_incident("inc-sqli")
    assert incident is not None
    assert incident.status is IncidentStatus.NEW
    assert seeded.incident_history("inc-sqli") == []


@pytest.mark.usefixtures("seeded")
def test_false_positive_with_a_reason_keeps_the_reason_in_the_history(
    client: TestClient, as_analyst: dict[str, str], as_viewer: dict[str, str]
) -> None:
    reason = "quét định kỳ của đội pentest"  # the pentest team's scheduled scan
    response = patch(client, as_analyst, {"status": "false_positive", "reason": reason})
    assert response.status_code == 200
    assert response.json()["status"] == "false_positive"
    history = client.get("/api/v1/incidents/inc-sqli/history", headers=as_viewer).json()
    assert [(h["new_value"], h["reason"]) for h in history] == [("false_positive", reason)]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "nothing to change"),
        ({"reason": "only a reason"}, "nothing to change"),
        ({"status": None}, "status cannot be null"),
        ({"status": "closed"}, "Input should be"),
        ({"assignee": "  "}, "at least 1 character"),
        ({"status": "resolved", "priority": "p1"}, "Extra inputs are not permitted"),
    ],
)
def test_a_patch_that_changes_nothing_or_is_malformed_answers_422(
    client: TestClient,
    as_analyst: dict[str, str],
    seeded: SQLiteStore,
    body: dict[str, Any],
    message: str,
) -> None:
    response = patch(client, as_analyst, body)
    assert response.status_code == 422
    assert any(message in error["msg"] for error in response.json()["detail"])
    assert seeded.incident_history("inc-sqli") == []


@pytest.mark.usefixtures("seeded")
def test_setting_the_status_it_has_already_adds_no_audit_entry(
    client: TestClient, as_analyst: dict[str, str], seeded: SQLiteStore
) -> None:
    response = patch(client, as_analyst, {"status": "new"})
    assert response.status_code == 200
    assert response.json()["status"] == "new"
    assert seeded.incident_history("inc-sqli") == []


@pytest.mark.usefixtures("seeded")
def test_the_history_route_lists_changes_oldest_first(
    client: TestClient, as_analyst: dict[str, str], as_viewer: dict[str, str], clock: Clock
) -> None:
    assert client.get("/api/v1/incidents/inc-sqli/history", headers=as_viewer).json() == []
    patch(client, as_analyst, {"status": "acknowledged"})
    clock.now = NOW + timedelta(hours=1)
    patch(client, as_analyst, {"status": "resolved", "reason": "patched the portal"})
    history = client.get("/api/v1/incidents/inc-sqli/history", headers=as_viewer).json()
    assert [(h["at"], h["new_value"]) for h in history] == [
        ("2026-11-24T10:00:00+00:00", "acknowledged"),
        ("2026-11-24T11:00:00+00:00", "resolved"),
    ]
