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
# A valid body for each method that takes one; a new route with another body fails loudly.
BODIES: dict[str, dict[str, Any]] = {"PATCH": {"status": "acknowledged"}}
KNOWN_ROUTES = {
    ("GET", "/api/v1/incidents"),
    ("GET", "/api/v1/incidents/{incident_id}"),
    ("PATCH", "/api/v1/incidents/{incident_id}"),
    ("GET", "/api/v1/incidents/{incident_id}/history"),
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
    path = template.replace("{incident_id}", "inc-sqli")
    response: httpx.Response = client.request(
        method, path, headers=headers, json=BODIES.get(method)
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
            assert "analyst" in response.json()["detail"]
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
        assert response.status_code == 200, (method, path, response.text)


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
