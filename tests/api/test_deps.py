"""Every route but the public ones needs a key, and each role gets exactly its rights.

Routes are enumerated from the app, so a route added later is checked without
anyone remembering to list it here.
"""

import logging
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from canhgac.storage import SQLiteStore
from tests.api.seed_data import Keys

# "/" is the panel's page: static, no data; the panel signs in to call the API.
PUBLIC_PATHS = frozenset({"/", "/healthz", "/openapi.json", "/docs", "/redoc"})
# A valid body for each route that takes one, else for its method; a new route with
# another body fails loudly.
BODIES: dict[tuple[str, str] | str, dict[str, Any]] = {
    "PATCH": {"status": "acknowledged"},
    ("POST", "/api/v1/incidents/bulk"): {"ids": ["inc-sqli"], "status": "acknowledged"},
    ("POST", "/api/v1/incidents/{incident_id}/comments"): {"text": "checked the WAF log"},
    # inc-scan is of inc-sqli's organization.
    ("POST", "/api/v1/incidents/{incident_id}/merge"): {"source_id": "inc-scan", "reason": "one"},
    ("PATCH", "/api/v1/rules/{rule_id}"): {"enabled": True},
    ("POST", "/api/v1/rules/{rule_id}/exceptions"): {
        "field": "source.ip",
        "value": "203.0.113.7",
        "reason": "the CERT's scanner",
    },
    ("POST", "/api/v1/rules/{rule_id}/backtest"): {
        "since": "2026-11-24T08:00:00Z",
        "until": "2026-11-24T09:00:00Z",
    },
}
# Bodies that are not JSON: (content type, text).
CONTENTS: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/api/v1/rules"): (
        "application/yaml",
        "title: Probe Of The Admin Console\n"
        "id: 0b9c5f4e-3f1d-4d8a-9a57-6c2e8f1d7a31\n"
        "logsource:\n    category: webserver\n"
        "detection:\n    selection:\n        cs-uri|contains: /quantri\n"
        "    condition: selection\n"
        "level: medium\n",
    )
}
# Values for the path parameters of the routes' templates: a bundled rule
# (rules/web_path_traversal.yml) and an exception that does not exist.
PATH_VALUES = {
    "{incident_id}": "inc-sqli",
    "{rule_id}": "cd5f9b0a-e702-4449-ad1f-8edb5d5393f3",
    "{exception_id}": "no-such-exception",
}
# Routes only an admin may call (what concerns every organization: the rules).
ADMIN_ROUTES = {
    ("PATCH", "/api/v1/rules/{rule_id}"),
    ("POST", "/api/v1/rules"),
    ("POST", "/api/v1/rules/{rule_id}/exceptions"),
    ("DELETE", "/api/v1/rules/{rule_id}/exceptions/{exception_id}"),
    ("POST", "/api/v1/rules/{rule_id}/backtest"),
}
# Routes that answer other than 200 to a key with the rights, and why.
ALLOWED_ANSWERS = {
    # PATH_VALUES names an exception that does not exist: past the role check, a 404.
    ("DELETE", "/api/v1/rules/{rule_id}/exceptions/{exception_id}"): 404,
}
# Routes whose answer never ends on its own: called so that it sends what is pending and closes.
STREAM_QUERIES: dict[str, dict[str, str]] = {"/api/v1/stream": {"max_seconds": "0"}}
KNOWN_ROUTES = {
    ("GET", "/api/v1/incidents"),
    ("GET", "/api/v1/incidents/{incident_id}"),
    ("PATCH", "/api/v1/incidents/{incident_id}"),
    ("GET", "/api/v1/incidents/{incident_id}/history"),
    ("POST", "/api/v1/incidents/bulk"),
    ("POST", "/api/v1/incidents/{incident_id}/comments"),
    ("POST", "/api/v1/incidents/{incident_id}/merge"),
    ("GET", "/api/v1/stats"),
    ("GET", "/api/v1/stream"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/exports/incidents"),
}


def protected_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every API route that must demand a key.

    app.routes holds included routers unexpanded; iter_route_contexts expands them
    with their prefixes, as the OpenAPI generator does.
    """
    return sorted(
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.path is not None
        and context.path not in PUBLIC_PATHS
        for method in context.methods or ()
    )


def call(client: TestClient, method: str, template: str, headers: dict[str, str]) -> httpx.Response:
    path = template
    for name, value in PATH_VALUES.items():
        path = path.replace(name, value)
    params = STREAM_QUERIES.get(template)
    if (method, template) in CONTENTS:
        media, text = CONTENTS[(method, template)]
        return client.request(
            method, path, headers={**headers, "Content-Type": media}, content=text, params=params
        )
    body = BODIES.get((method, template), BODIES.get(method))
    response: httpx.Response = client.request(
        method, path, headers=headers, json=body, params=params
    )
    return response


def test_the_enumeration_finds_every_incident_route(app: FastAPI) -> None:
    assert set(protected_routes(app)) >= KNOWN_ROUTES


@pytest.mark.usefixtures("seeded")
def test_without_a_key_every_route_answers_401_with_a_bearer_challenge(
    app: FastAPI, client: TestClient
) -> None:
    for method, path in protected_routes(app):
        response = call(client, method, path, {})
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == "Bearer", (method, path)
        assert "Authorization: Bearer" in response.json()["detail"]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer cg_not-a-key-anyone-made",
        "Bearer ",
        "Basic c29jOnNlY3JldA==",
        "cg_missing-the-scheme",
    ],
)
def test_a_wrong_key_on_every_route_answers_401(
    app: FastAPI, client: TestClient, keys: Keys, authorization: str
) -> None:
    for method, path in protected_routes(app):
        response = call(client, method, path, {"Authorization": authorization})
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == "Bearer", (method, path)


@pytest.mark.usefixtures("seeded")
def test_a_revoked_key_answers_401_on_every_route(
    app: FastAPI, client: TestClient, keys: Keys
) -> None:
    for method, path in protected_routes(app):
        response = call(client, method, path, keys.header(keys.revoked))
        assert response.status_code == 401, (method, path)
        assert "revoked" in response.json()["detail"]


def test_a_viewer_reads_everything_and_changes_nothing(
    app: FastAPI, client: TestClient, keys: Keys, seeded: SQLiteStore
) -> None:
    for method, path in protected_routes(app):
        response = call(client, method, path, keys.header(keys.viewer))
        if method == "GET":
            assert response.status_code == 200, (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path)
            assert "role" in response.json()["detail"]
    incident = seeded.get_incident("inc-sqli")
    assert incident is not None
    assert incident.status == "new"
    assert seeded.incident_history("inc-sqli") == []


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_may_call_every_route(
    app: FastAPI, client: TestClient, keys: Keys, role: str
) -> None:
    key = getattr(keys, role)
    for method, path in protected_routes(app):
        response = call(client, method, path, keys.header(key))
        if role == "analyst" and (method, path) in ADMIN_ROUTES:
            assert response.status_code == 403, (method, path, response.text)
            assert "admin" in response.json()["detail"]
            continue
        expected = ALLOWED_ANSWERS.get((method, path), 200)
        assert response.status_code == expected, (method, path, response.text)


def test_healthz_needs_no_key(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200


@pytest.mark.usefixtures("seeded")
def test_keys_never_reach_the_log(
    client: TestClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "cg_this-key-must-not-be-logged"
    client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {wrong}"})
    client.get("/api/v1/incidents", headers=keys.header(keys.analyst))
    assert wrong not in caplog.text
    assert keys.analyst not in caplog.text
