"""/api/v1/rules: listing with health, admin changes with their audit trail, uploads,
backtests and the Lucene preview, over the bundled rules and a real SQLite store."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from canhgac.api import generate_api_key
from canhgac.correlator import Correlator, load_rules
from canhgac.events import Event
from canhgac.storage import Checkpoint, Role, SQLiteStore, WriteBatch
from canhgac.tuning import HEALTH_CHECKPOINT, RuleSettings, health_document
from tests.api.seed_data import Keys

TRAVERSAL = "cd5f9b0a-e702-4449-ad1f-8edb5d5393f3"  # rules/web_path_traversal.yml
BRUTE_FORCE = "d8880e0d-014c-4313-8092-c7139a5affed"  # rules/linux_ssh_brute_force.yml
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
NEW_RULE_ID = "6a1e0f3c-9d4b-4c55-8f0e-2b7d51c0a9e4"
NEW_RULE = f"""\
title: Probe For The Provincial Admin Console
id: {NEW_RULE_ID}
logsource:
    category: webserver
detection:
    selection:
        cs-uri|contains: /quantri
    condition: selection
level: medium
"""
YAML = {"Content-Type": "application/yaml"}
BLOCKLIST = "01cb3269-efdd-445b-a943-e267334bff24"  # rules/network_blocklisted_address.yml


def rule(client: TestClient, headers: dict[str, str], rule_id: str) -> dict[str, Any]:
    answer = client.get("/api/v1/rules", headers=headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = next(r for r in answer.json()["items"] if r["id"] == rule_id)
    return found


def messages(answer: dict[str, Any]) -> str:
    """The messages of a validation error (422), joined."""
    return " ".join(str(item["msg"]) for item in answer["detail"])


def web(n: int, ip: str, path: str) -> Event:
    return Event(
        id=f"web-{n}",
        timestamp=T0 + timedelta(minutes=n),
        fields={
            "event.dataset": "nginx.access",
            "event.category": "web",
            "url.original": path,
            "source.ip": ip,
        },
    )


@pytest.fixture
def as_admin(keys: Keys) -> dict[str, str]:
    return keys.header(keys.admin)


@pytest.fixture
def scoped_admin(store: SQLiteStore) -> dict[str, str]:
    key, record = generate_api_key("so-y-te-admin", Role.ADMIN)
    store.add_api_key(replace(record, organizations=("Sở Y tế",)))
    return {"Authorization": f"Bearer {key}"}


def test_a_viewer_lists_the_rules_before_the_correlator_reported(
    client: TestClient, as_viewer: dict[str, str]
) -> None:
    answer = client.get("/api/v1/rules", headers=as_viewer).json()
    assert (answer["live"], answer["settings_in_force"]) == (False, False)
    # Only the block-list rule, waiting for rules.placeholders.blocklist, is not running.
    assert [s["rule_id"] for s in answer["skipped"]] == [BLOCKLIST]
    assert "rules.placeholders.blocklist" in answer["skipped"][0]["reason"]
    traversal = next(r for r in answer["items"] if r["id"] == TRAVERSAL)
    assert traversal["title"] == "Path Traversal Attempt In The URL"
    assert (traversal["level"], traversal["effective_level"], traversal["enabled"]) == (
        "high",
        "high",
        True,
    )
    assert (traversal["kind"], traversal["matches"], traversal["exceptions"]) == (
        "detection",
        0,
        [],
    )
    brute = next(r for r in answer["items"] if r["id"] == BRUTE_FORCE)
    assert brute["kind"] == "event_count"


def test_the_list_shows_the_health_the_correlator_wrote(
    client: TestClient, store: SQLiteStore, as_viewer: dict[str, str]
) -> None:
    correlator = Correlator(load_rules([], bundled=True))
    correlator.process([web(1, "198.51.100.9", "/../../etc/passwd")])
    document = health_document(correlator.health(), {TRAVERSAL: 3}, {}, T0, RuleSettings())
    document["rules"].append(
        {
            "rule_id": None,
            "title": None,
            "kind": "skipped",
            "path": "/etc/canhgac/bad.yml",
            "note": "invalid YAML: mapping values are not allowed here",
        }
    )
    store.write(WriteBatch(checkpoints=[Checkpoint(HEALTH_CHECKPOINT, document)]))
    answer = client.get("/api/v1/rules", headers=as_viewer).json()
    assert (answer["live"], answer["settings_in_force"]) == (True, True)
    traversal = next(r for r in answer["items"] if r["id"] == TRAVERSAL)
    assert (traversal["matches"], traversal["routed_events"], traversal["suppressed"]) == (1, 1, 3)
    assert traversal["last_match"] == "2026-11-24T08:01:00+00:00"
    unconfigured = [s for s in answer["skipped"] if s["rule_id"] == BLOCKLIST]
    assert len(unconfigured) == 1
    assert [s for s in answer["skipped"] if s["rule_id"] != BLOCKLIST] == [
        {
            "path": "/etc/canhgac/bad.yml",
            "rule_id": None,
            "title": None,
            "reason": "invalid YAML: mapping values are not allowed here",
        }
    ]


def test_an_admin_disables_a_rule_and_overrides_its_level_with_an_audit_trail(
    client: TestClient, as_admin: dict[str, str], as_viewer: dict[str, str]
) -> None:
    answer = client.patch(
        f"/api/v1/rules/{TRAVERSAL}", headers=as_admin, json={"enabled": False, "level": "low"}
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["enabled"], answer.json()["effective_level"]) == (False, "low")
    listed = rule(client, as_viewer, TRAVERSAL)
    assert (listed["enabled"], listed["level"], listed["effective_level"]) == (False, "high", "low")
    cleared = client.patch(f"/api/v1/rules/{TRAVERSAL}", headers=as_admin, json={"level": None})
    assert cleared.json()["effective_level"] == "high"
    assert cleared.json()["enabled"] is False
    history = client.get(f"/api/v1/rules/{TRAVERSAL}/history", headers=as_viewer).json()
    assert [(h["actor"], h["field"], h["old_value"], h["new_value"]) for h in history] == [
        ("soc-admin", "enabled", "true", "false"),
        ("soc-admin", "level", None, "low"),
        ("soc-admin", "level", "low", None),
    ]


def test_only_an_unscoped_admin_may_change_rules(
    client: TestClient,
    keys: Keys,
    scoped_admin: dict[str, str],
) -> None:
    url = f"/api/v1/rules/{TRAVERSAL}"
    for key in (keys.viewer, keys.analyst):
        answer = client.patch(url, headers=keys.header(key), json={"enabled": False})
        assert answer.status_code == 403
        assert "admin" in answer.json()["detail"]
    answer = client.patch(url, headers=scoped_admin, json={"enabled": False})
    assert answer.status_code == 403
    assert "scoped to organizations" in answer.json()["detail"]
    exception = {"field": "source.ip", "value": "10.0.0.1", "reason": "x"}
    assert client.post(f"{url}/exceptions", headers=scoped_admin, json=exception).status_code == 403
    assert (
        client.post("/api/v1/rules", headers={**scoped_admin, **YAML}, content=NEW_RULE).status_code
        == 403
    )
    # A scoped key still reads the rules.
    assert client.get("/api/v1/rules", headers=scoped_admin).status_code == 200
    assert client.get(f"{url}/history", headers=scoped_admin).json() == []


def test_an_unknown_rule_is_a_404(client: TestClient, as_admin: dict[str, str]) -> None:
    for method, path, body in (
        ("PATCH", "/api/v1/rules/no-such-rule", {"enabled": False}),
        (
            "POST",
            "/api/v1/rules/no-such-rule/exceptions",
            {"field": "a", "value": "b", "reason": "c"},
        ),
        ("GET", "/api/v1/rules/no-such-rule/history", None),
        ("GET", "/api/v1/rules/no-such-rule/lucene", None),
        (
            "POST",
            "/api/v1/rules/no-such-rule/backtest",
            {"since": "2026-11-24T00:00:00Z", "until": "2026-11-25T00:00:00Z"},
        ),
    ):
        answer = client.request(method, path, headers=as_admin, json=body)
        assert answer.status_code == 404, (method, path, answer.text)


def test_exceptions_are_added_shown_and_removed(
    client: TestClient, as_admin: dict[str, str]
) -> None:
    url = f"/api/v1/rules/{TRAVERSAL}/exceptions"
    added = client.post(
        url,
        headers=as_admin,
        json={
            "field": "source.ip",
            "value": "203.0.113.0/24",
            "match": "cidr",
            "reason": "the CERT's weekly scan",
            "until": "2099-01-01T00:00:00+07:00",
        },
    )
    assert added.status_code == 200, added.text
    body = added.json()
    assert (body["added_by"], body["active"], body["until"]) == (
        "soc-admin",
        True,
        "2098-12-31T17:00:00+00:00",
    )
    expired = client.post(
        url,
        headers=as_admin,
        json={
            "field": "user.name",
            "value": "backup",
            "reason": "old job",
            "until": "2020-01-01T00:00:00Z",
        },
    ).json()
    assert (expired["match"], expired["active"]) == ("equals", False)
    shown = rule(client, as_admin, TRAVERSAL)["exceptions"]
    assert [e["id"] for e in shown] == [body["id"], expired["id"]]
    removed = client.delete(f"{url}/{body['id']}", headers=as_admin)
    assert removed.status_code == 200
    assert [e["id"] for e in removed.json()["exceptions"]] == [expired["id"]]
    assert client.delete(f"{url}/{body['id']}", headers=as_admin).status_code == 404
    history = client.get(f"/api/v1/rules/{TRAVERSAL}/history", headers=as_admin).json()
    assert [(h["action"], h["reason"]) for h in history] == [
        ("exception.added", "the CERT's weekly scan"),
        ("exception.added", "old job"),
        ("exception.removed", None),
    ]


def test_a_cidr_exception_needs_a_network(client: TestClient, as_admin: dict[str, str]) -> None:
    answer = client.post(
        f"/api/v1/rules/{TRAVERSAL}/exceptions",
        headers=as_admin,
        json={"field": "source.ip", "value": "10.0.0.300", "match": "cidr", "reason": "x"},
    )
    assert answer.status_code == 422
    assert "not an IP network" in messages(answer.json())


def test_an_uploaded_rule_is_listed_and_audited(
    client: TestClient, as_admin: dict[str, str]
) -> None:
    answer = client.post("/api/v1/rules", headers={**as_admin, **YAML}, content=NEW_RULE)
    assert answer.status_code == 200, answer.text
    assert answer.json()["rule_ids"] == [NEW_RULE_ID]
    listed = rule(client, as_admin, NEW_RULE_ID)
    assert (listed["title"], listed["level"]) == (
        "Probe For The Provincial Admin Console",
        "medium",
    )
    history = client.get(f"/api/v1/rules/{NEW_RULE_ID}/history", headers=as_admin).json()
    assert [(h["actor"], h["action"]) for h in history] == [("soc-admin", "rule.uploaded")]
    again = client.post(
        "/api/v1/rules", headers={**as_admin, **YAML}, content=NEW_RULE.replace("medium", "high")
    )
    assert again.status_code == 200
    assert rule(client, as_admin, NEW_RULE_ID)["level"] == "high"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (NEW_RULE.replace("cs-uri|contains", "cs-uri|containz"), "Unknown modifier 'containz'"),
        ("title: [unclosed\n", "invalid YAML"),
        ("- just\n- a list\n", "not a Sigma rule"),
        (NEW_RULE.replace(NEW_RULE_ID, TRAVERSAL), f"duplicate rule id {TRAVERSAL}"),
        (NEW_RULE.replace("condition: selection", "condition: selection and nowhere"), "nowhere"),
    ],
)
def test_an_invalid_upload_is_refused_with_the_precise_reason(
    client: TestClient, as_admin: dict[str, str], text: str, reason: str
) -> None:
    answer = client.post("/api/v1/rules", headers={**as_admin, **YAML}, content=text)
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["detail"]
    assert all(
        r["id"] != NEW_RULE_ID
        for r in client.get("/api/v1/rules", headers=as_admin).json()["items"]
    )


def test_the_lucene_preview(client: TestClient, as_viewer: dict[str, str]) -> None:
    answer = client.get(f"/api/v1/rules/{TRAVERSAL}/lucene", headers=as_viewer).json()
    assert answer["reason"] is None
    assert "url.original.caseless:" in answer["query"]
    assert "event.dataset.caseless:(nginx.access" in answer["query"]
    correlation = client.get(f"/api/v1/rules/{BRUTE_FORCE}/lucene", headers=as_viewer).json()
    assert correlation["query"] is None
    assert "correlation" in correlation["reason"]


@pytest.fixture
def web_events(store: SQLiteStore) -> None:
    store.write(
        WriteBatch(
            events=[
                web(1, "198.51.100.9", "/../../etc/passwd"),
                web(2, "203.0.113.7", "/download?f=..%2f..%2fwin.ini"),
                web(3, "198.51.100.9", "/index.html"),
                web(4, "192.0.2.8", "/static/../etc/shadow"),
            ]
        )
    )


WINDOW = {"since": "2026-11-24T08:00:00Z", "until": "2026-11-24T09:00:00Z"}


def event_ids(alerts: list[dict[str, object]]) -> list[object]:
    return [a["event_ids"] for a in alerts]


@pytest.mark.usefixtures("web_events")
def test_a_backtest_returns_the_alerts_over_stored_events(
    client: TestClient, as_admin: dict[str, str], as_viewer: dict[str, str]
) -> None:
    url = f"/api/v1/rules/{TRAVERSAL}/backtest"
    answer = client.post(url, headers=as_admin, json=WINDOW)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert event_ids(body["alerts"]) == [["web-1"], ["web-2"], ["web-4"]]
    assert (body["gained"], body["lost"]) == ([], [])
    narrow = client.post(
        url, headers=as_admin, json={**WINDOW, "until": "2026-11-24T08:03:00Z"}
    ).json()
    assert event_ids(narrow["alerts"]) == [["web-1"], ["web-2"]]
    assert client.post(url, headers=as_viewer, json=WINDOW).status_code == 403


@pytest.mark.usefixtures("web_events")
def test_a_backtest_shows_what_an_extra_exception_would_lose(
    client: TestClient, as_admin: dict[str, str]
) -> None:
    answer = client.post(
        f"/api/v1/rules/{TRAVERSAL}/backtest",
        headers=as_admin,
        json={
            **WINDOW,
            "extra_exception": {
                "field": "source.ip",
                "value": "198.51.100.0/24",
                "match": "cidr",
                "reason": "trial",
            },
        },
    ).json()
    assert event_ids(answer["alerts"]) == [["web-2"], ["web-4"]]
    assert event_ids(answer["lost"]) == [["web-1"]]
    assert answer["gained"] == []


@pytest.mark.usefixtures("web_events")
def test_a_backtest_of_a_draft_shows_the_alerts_gained_and_lost(
    client: TestClient, as_admin: dict[str, str]
) -> None:
    draft = f"""\
title: Path Traversal, Draft
id: {TRAVERSAL}
logsource:
    category: webserver
detection:
    selection:
        cs-uri|contains:
            - /etc/
            - index.html
    condition: selection
level: high
"""
    answer = client.post(
        f"/api/v1/rules/{TRAVERSAL}/backtest",
        headers=as_admin,
        json={**WINDOW, "draft_yaml": draft},
    ).json()
    assert event_ids(answer["alerts"]) == [["web-1"], ["web-3"], ["web-4"]]
    assert event_ids(answer["gained"]) == [["web-3"]]
    assert event_ids(answer["lost"]) == [["web-2"]]
    broken = client.post(
        f"/api/v1/rules/{TRAVERSAL}/backtest",
        headers=as_admin,
        json={**WINDOW, "draft_yaml": draft.replace("|contains", "|containz")},
    )
    assert broken.status_code == 422
    assert "Unknown modifier 'containz'" in messages(broken.json())


def test_a_backtest_range_must_run_forwards(client: TestClient, as_admin: dict[str, str]) -> None:
    answer = client.post(
        f"/api/v1/rules/{TRAVERSAL}/backtest",
        headers=as_admin,
        json={"since": WINDOW["until"], "until": WINDOW["since"]},
    )
    assert answer.status_code == 422
    assert "since must be before until" in messages(answer.json())


def test_times_outside_the_years_of_events_are_refused(
    client: TestClient, as_admin: dict[str, str]
) -> None:
    answer = client.post(
        f"/api/v1/rules/{TRAVERSAL}/backtest",
        headers=as_admin,
        json={"since": "0001-01-01T00:00:00+00:01", "until": WINDOW["until"]},
    )
    assert answer.status_code == 422
    assert "between 1970 and 2200" in messages(answer.json())


def test_a_correlation_is_backtested_with_the_rules_it_counts(
    client: TestClient, store: SQLiteStore, as_admin: dict[str, str]
) -> None:
    failures = [
        Event(
            id=f"ssh-{n}",
            timestamp=T0 + timedelta(seconds=10 * n),
            fields={
                "event.dataset": "system.auth",
                "process.name": "sshd",
                "event.action": "ssh_login",
                "event.outcome": "failure",
                "source.ip": "192.0.2.50",
                "user.name": "root",
            },
        )
        for n in range(12)
    ]
    store.write(WriteBatch(events=failures))
    answer = client.post(f"/api/v1/rules/{BRUTE_FORCE}/backtest", headers=as_admin, json=WINDOW)
    assert answer.status_code == 200, answer.text
    alerts = answer.json()["alerts"]
    assert [a["rule_id"] for a in alerts] == [BRUTE_FORCE]
    assert alerts[0]["entities"] == {"source.ip": "192.0.2.50"}
