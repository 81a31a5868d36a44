"""Incident triage over HTTP: listing by rule, entity, free text and sort; severity
changes, comments, bulk changes and merges with their audit trail; the dashboard's stats.
The seed data set is described in tests/api/seed_data.py."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from canhgac.storage import SQLiteStore
from tests.api.seed_data import ORG_TTTT, ORG_UBND, ORG_YTE

pytestmark = pytest.mark.usefixtures("seeded")


def ids(client: TestClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = client.get("/api/v1/incidents", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# -- listing ----------------------------------------------------------------------------


def test_rule_entity_and_free_text_filters(client: TestClient, as_viewer: dict[str, str]) -> None:
    assert ids(client, as_viewer, rule=["r-ssh", "r-scan"]) == ["inc-ssh", "inc-scan"]
    assert ids(client, as_viewer, entity="45.76.1.1") == ["inc-admin"]
    assert ids(client, as_viewer, q="brute") == ["inc-ssh"]
    assert ids(client, as_viewer, q="analyst-lan") == ["inc-ssh"]  # the assignee
    assert ids(client, as_viewer, q="dichvucong") == ["inc-sqli", "inc-scan"]
    assert ids(client, as_viewer, q="UBND") == ["inc-admin"]
    assert ids(client, as_viewer, q="portal injection") == ["inc-sqli"]
    assert ids(client, as_viewer, q="no such words") == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("last_seen", ["inc-trav", "inc-sqli", "inc-ssh", "inc-admin", "inc-scan"]),
        ("first_seen", ["inc-trav", "inc-admin", "inc-ssh", "inc-sqli", "inc-scan"]),
        ("severity", ["inc-admin", "inc-trav", "inc-sqli", "inc-ssh", "inc-scan"]),
        ("alert_count", ["inc-sqli", "inc-trav", "inc-ssh", "inc-admin", "inc-scan"]),
    ],
)
def test_each_sort_pages_with_its_cursor(
    client: TestClient, as_viewer: dict[str, str], sort: str, expected: list[str]
) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"sort": sort, "limit": 2}
    while True:
        page = client.get("/api/v1/incidents", headers=as_viewer, params=params).json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == expected


def test_a_cursor_of_another_sort_is_a_400(client: TestClient, as_viewer: dict[str, str]) -> None:
    page = client.get(
        "/api/v1/incidents", headers=as_viewer, params={"sort": "severity", "limit": 1}
    ).json()
    answer = client.get(
        "/api/v1/incidents",
        headers=as_viewer,
        params={"sort": "alert_count", "cursor": page["next_cursor"]},
    )
    assert answer.status_code == 400
    assert "sort" in answer.json()["detail"]


def test_an_unknown_sort_is_a_422(client: TestClient, as_viewer: dict[str, str]) -> None:
    answer = client.get("/api/v1/incidents", headers=as_viewer, params={"sort": "title"})
    assert answer.status_code == 422


# -- changes ----------------------------------------------------------------------------


def test_changing_the_severity_is_audited(client: TestClient, as_analyst: dict[str, str]) -> None:
    answer = client.patch(
        "/api/v1/incidents/inc-scan",
        headers=as_analyst,
        json={"severity": "critical", "reason": "known botnet"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["severity"] == "critical"
    history = client.get("/api/v1/incidents/inc-scan/history", headers=as_analyst).json()
    assert [(h["action"], h["old_value"], h["new_value"], h["reason"]) for h in history] == [
        ("severity_changed", "low", "critical", "known botnet")
    ]
    assert history[0]["actor"] == "soc-analyst"


@pytest.mark.parametrize(
    "body",
    [{"status": "merged"}, {"severity": None}, {"severity": "severe"}, {"reason": "why"}],
)
def test_patches_that_cannot_apply_are_422(
    client: TestClient, as_analyst: dict[str, str], body: dict[str, Any]
) -> None:
    answer = client.patch("/api/v1/incidents/inc-sqli", headers=as_analyst, json=body)
    assert answer.status_code == 422


def test_a_comment_joins_the_history_and_the_detail(
    client: TestClient, as_analyst: dict[str, str]
) -> None:
    answer = client.post(
        "/api/v1/incidents/inc-sqli/comments",
        headers=as_analyst,
        json={"text": "  Đã chặn IP trên WAF  "},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "at": "2026-11-24T10:00:00+00:00",
        "actor": "soc-analyst",
        "action": "comment",
        "field": None,
        "old_value": None,
        "new_value": "Đã chặn IP trên WAF",
        "reason": None,
    }
    detail = client.get("/api/v1/incidents/inc-sqli", headers=as_analyst).json()
    assert [h["action"] for h in detail["history"]] == ["comment"]
    history = client.get("/api/v1/incidents/inc-sqli/history", headers=as_analyst).json()
    assert history == detail["history"]


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   "}, {}, {"text": "x" * 10_001}])
def test_an_empty_or_huge_comment_is_a_422(
    client: TestClient, as_analyst: dict[str, str], body: dict[str, Any]
) -> None:
    answer = client.post("/api/v1/incidents/inc-sqli/comments", headers=as_analyst, json=body)
    assert answer.status_code == 422


def test_commenting_needs_an_analyst_and_an_incident(
    client: TestClient, as_viewer: dict[str, str], as_analyst: dict[str, str]
) -> None:
    url = "/api/v1/incidents/inc-sqli/comments"
    assert client.post(url, headers=as_viewer, json={"text": "hi"}).status_code == 403
    missing = client.post(
        "/api/v1/incidents/inc-nope/comments", headers=as_analyst, json={"text": "hi"}
    )
    assert missing.status_code == 404


def test_bulk_changes_each_incident_and_reports_each(
    client: TestClient, as_analyst: dict[str, str], seeded: SQLiteStore
) -> None:
    answer = client.post(
        "/api/v1/incidents/bulk",
        headers=as_analyst,
        json={
            "ids": ["inc-sqli", "inc-nope", "inc-trav", "inc-sqli"],
            "status": "acknowledged",
            "assignee": "hoa",
        },
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["id"], r["ok"]) for r in results] == [
        ("inc-sqli", True),
        ("inc-nope", False),
        ("inc-trav", True),
    ]
    assert "inc-nope" in results[1]["detail"]
    for incident_id in ("inc-sqli", "inc-trav"):
        incident = seeded.get_incident(incident_id)
        assert incident is not None
        assert (incident.status, incident.assignee) == ("acknowledged", "hoa")
        assert len(seeded.incident_history(incident_id)) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"ids": [], "status": "acknowledged"},
        {"ids": [f"inc-{n}" for n in range(501)], "status": "acknowledged"},
        {"ids": ["inc-sqli"]},
        {"ids": ["inc-sqli"], "status": "false_positive"},
    ],
)
def test_a_bulk_change_out_of_bounds_is_a_422(
    client: TestClient, as_analyst: dict[str, str], body: dict[str, Any]
) -> None:
    answer = client.post("/api/v1/incidents/bulk", headers=as_analyst, json=body)
    assert answer.status_code == 422


def test_a_merge_moves_the_alerts_and_audits_both(
    client: TestClient, as_analyst: dict[str, str]
) -> None:
    answer = client.post(
        "/api/v1/incidents/inc-sqli/merge",
        headers=as_analyst,
        json={"source_id": "inc-scan", "reason": "the same campaign"},
    )
    assert answer.status_code == 200, answer.text
    merged = answer.json()
    # sqli: high, 2 alerts, 08:00..08:50; scan: low, 1 alert, 06:00..07:00
    assert (merged["id"], merged["alert_count"], merged["severity"]) == ("inc-sqli", 3, "high")
    assert merged["first_seen"] == "2026-11-24T06:00:00+00:00"
    assert merged["last_seen"] == "2026-11-24T08:50:00+00:00"
    detail = client.get("/api/v1/incidents/inc-sqli", headers=as_analyst).json()
    assert [a["id"] for a in detail["alerts"]] == ["a-scan", "a-sqli-1", "a-sqli-2"]
    assert [(h["action"], h["new_value"]) for h in detail["history"]] == [("merged", "inc-scan")]
    source = client.get("/api/v1/incidents/inc-scan", headers=as_analyst).json()
    assert (source["status"], source["merged_into"], source["alerts"]) == ("merged", "inc-sqli", [])
    assert [h["new_value"] for h in source["history"]] == ["merged", "inc-sqli"]
    listed = ids(client, as_analyst, status="merged")
    assert listed == ["inc-scan"]


@pytest.mark.parametrize(
    ("target", "source", "status_code"),
    [
        ("inc-sqli", "inc-sqli", 409),
        ("inc-sqli", "inc-ssh", 409),  # another organization
        ("inc-sqli", "inc-nope", 404),
        ("inc-nope", "inc-sqli", 404),
    ],
)
def test_impossible_merges_are_refused(
    client: TestClient, as_analyst: dict[str, str], target: str, source: str, status_code: int
) -> None:
    answer = client.post(
        f"/api/v1/incidents/{target}/merge",
        headers=as_analyst,
        json={"source_id": source, "reason": "try"},
    )
    assert answer.status_code == status_code
    assert answer.json()["detail"]


def test_a_merged_incident_keeps_its_status(client: TestClient, as_analyst: dict[str, str]) -> None:
    client.post(
        "/api/v1/incidents/inc-sqli/merge",
        headers=as_analyst,
        json={"source_id": "inc-scan", "reason": "one campaign"},
    )
    reopened = client.patch(
        "/api/v1/incidents/inc-scan", headers=as_analyst, json={"status": "new"}
    )
    assert reopened.status_code == 409
    assert "inc-sqli" in reopened.json()["detail"]
    bulk = client.post(
        "/api/v1/incidents/bulk",
        headers=as_analyst,
        json={"ids": ["inc-scan"], "status": "resolved"},
    ).json()
    assert bulk["results"][0]["ok"] is False
    assert "merged" in bulk["results"][0]["detail"]


def test_a_merge_needs_a_reason(client: TestClient, as_analyst: dict[str, str]) -> None:
    answer = client.post(
        "/api/v1/incidents/inc-sqli/merge", headers=as_analyst, json={"source_id": "inc-scan"}
    )
    assert answer.status_code == 422


# -- statistics -------------------------------------------------------------------------


def test_stats_for_the_dashboard(client: TestClient, as_viewer: dict[str, str]) -> None:
    answer = client.get("/api/v1/stats", headers=as_viewer)
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    assert (stats["open"], stats["total"]) == (3, 5)  # sqli, ssh, trav
    assert stats["by_severity"] == [
        {"key": "critical", "count": 1},
        {"key": "high", "count": 2},
        {"key": "medium", "count": 1},
        {"key": "low", "count": 1},
    ]
    assert stats["by_status"] == [
        {"key": "new", "count": 2},
        {"key": "acknowledged", "count": 1},
        {"key": "resolved", "count": 1},
        {"key": "false_positive", "count": 1},
    ]
    assert stats["by_organization"] == [
        {"key": ORG_TTTT, "count": 2},
        {"key": ORG_YTE, "count": 1},  # "Sở Y tế" sorts before "UBND tỉnh"
        {"key": ORG_UBND, "count": 1},
        {"key": None, "count": 1},
    ]
    assert stats["by_system"][0] == {"key": "dichvucong", "count": 2}
    assert {"key": "SSH brute force", "count": 1} in stats["top_rules"]
    assert len(stats["top_source_addresses"]) == 5
    # The seed's incidents were made without the workflow: no response times yet.
    assert stats["mean_time_to_acknowledge_seconds"] is None
    assert len(stats["by_hour"]) == 48
    assert stats["by_hour"][-1] == {"start": "2026-11-24T10:00:00+00:00", "count": 0}
    assert sum(point["count"] for point in stats["by_hour"]) == 5
    assert len(stats["by_day"]) == 30
    assert stats["by_day"][-1] == {"start": "2026-11-24T00:00:00+00:00", "count": 5}


def test_stats_over_a_range_and_the_time_to_acknowledge(
    client: TestClient, as_viewer: dict[str, str], as_analyst: dict[str, str]
) -> None:
    # inc-sqli was created at 08:00; the store's clock says 10:00.
    client.patch("/api/v1/incidents/inc-sqli", headers=as_analyst, json={"status": "acknowledged"})
    stats = client.get(
        "/api/v1/stats",
        headers=as_viewer,
        params={"since": "2026-11-24T08:00:00Z", "until": "2026-11-24T15:15:00+07:00"},
    ).json()
    # created 08:00 <= t < 08:15: inc-sqli, inc-ssh (08:10)
    assert stats["total"] == 2
    assert stats["mean_time_to_acknowledge_seconds"] == 7200
    assert stats["by_hour"][-1]["start"] == "2026-11-24T08:00:00+00:00"


def test_the_dashboards_next_request_sees_an_analysts_change(
    client: TestClient, as_viewer: dict[str, str], as_analyst: dict[str, str]
) -> None:
    def by_status() -> dict[str, int]:
        answer = client.get("/api/v1/stats", headers=as_viewer)
        assert answer.status_code == 200, answer.text
        return {entry["key"]: entry["count"] for entry in answer.json()["by_status"]}

    assert (
        by_status()
        == by_status()
        == {
            "new": 2,
            "acknowledged": 1,
            "resolved": 1,
            "false_positive": 1,
        }
    )
    changed = client.patch(
        "/api/v1/incidents/inc-sqli", headers=as_analyst, json={"status": "acknowledged"}
    )
    assert changed.status_code == 200, changed.text
    assert by_status() == {"new": 1, "acknowledged": 2, "resolved": 1, "false_positive": 1}


def test_stats_refuse_a_time_without_offset(client: TestClient, as_viewer: dict[str, str]) -> None:
    answer = client.get("/api/v1/stats", headers=as_viewer, params={"since": "2026-11-24T08:00"})
    assert answer.status_code == 422
