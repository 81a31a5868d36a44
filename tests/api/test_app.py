"""create_app: the OpenAPI description, store failures, and who owns the store."""

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from canhgac.api import create_app, hash_api_key
from canhgac.config import Settings
from canhgac.storage import SQLiteStore
from tests.api.seed_data import Keys, seed
from tests.api.test_deps import PUBLIC_PATHS, protected_routes


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }


def test_the_openapi_schema_names_canhgac_and_its_version(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    info = response.json()["info"]
    assert info["title"] == "canhgac"
    assert info["version"]
    assert "Authorization: Bearer KEY" in info["description"]


def test_the_openapi_schema_lists_every_route_with_summary_tags_and_responses(
    app: FastAPI,
) -> None:
    documented = operations(app.openapi())
    routes = protected_routes(app)
    assert set(documented) == {*routes, ("GET", "/healthz")}
    for key, operation in documented.items():
        assert operation.get("summary"), key
        assert operation.get("tags"), key
        content = operation["responses"]["200"]["content"]
        if "text/event-stream" in content:  # the stream: text, not JSON
            assert content["text/event-stream"]["schema"] == {"type": "string"}, key
        elif "text/plain" in content:  # /metrics: Prometheus text
            assert content["text/plain"]["schema"] == {"type": "string"}, key
        else:
            ok = content["application/json"]["schema"]
            assert "$ref" in ok or ok.get("type") == "array", key
        assert "503" in operation["responses"], key
    for key in routes:
        responses = documented[key]["responses"]
        assert {"401", "429"} <= set(responses), key
        if documented[key].get("parameters") or documented[key].get("requestBody"):
            assert "422" in responses, key
        assert documented[key]["security"] == [{"ApiKey": []}], key
        if "{incident_id}" in key[1]:
            assert "404" in responses, key
    assert "403" in documented[("PATCH", "/api/v1/incidents/{incident_id}")]["responses"]
    assert "400" in documented[("GET", "/api/v1/incidents")]["responses"]
    assert "security" not in documented[("GET", "/healthz")]


def test_the_openapi_schema_describes_the_bearer_scheme_and_the_event_cap(app: FastAPI) -> None:
    schema = app.openapi()
    scheme = schema["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    detail = schema["components"]["schemas"]["IncidentDetail"]["properties"]
    assert "capped at 200" in detail["events"]["description"]
    public = schema["components"]["schemas"]["IncidentPublic"]["properties"]
    assert public["last_seen"]["format"] == "date-time"


def test_the_public_paths_are_the_only_ones_without_a_key(app: FastAPI) -> None:
    documented = {path for _, path in operations(app.openapi())}
    assert documented - {path for _, path in protected_routes(app)} <= PUBLIC_PATHS


def test_a_store_failure_is_a_503_with_a_message_and_the_cause_in_the_log(
    client: TestClient,
    store: SQLiteStore,
    keys: Keys,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store.close()
    response = client.get("/api/v1/incidents", headers=keys.header(keys.viewer))
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert detail.startswith("the store is unavailable; try again later")
    assert str(tmp_path) not in detail  # no server paths to callers
    assert "closed" in caplog.text


@pytest.mark.usefixtures("seeded")
def test_the_app_leaves_the_store_open_for_its_owner(
    app: FastAPI, store: SQLiteStore, keys: Keys
) -> None:
    with TestClient(app) as client:
        assert client.get("/api/v1/incidents", headers=keys.header(keys.viewer)).status_code == 200
    assert store.counts().incidents == 5


def test_each_app_serves_its_own_store(tmp_path: Path, store: SQLiteStore, keys: Keys) -> None:
    with SQLiteStore.open(tmp_path / "other" / "canhgac.sqlite3") as other:
        seed(other)
        record = store.api_key_by_hash(hash_api_key(keys.viewer))
        assert record is not None
        other.add_api_key(record)
        headers = keys.header(keys.viewer)
        with (
            TestClient(create_app(store, Settings())) as empty,
            TestClient(create_app(other, Settings())) as full,
        ):
            assert empty.get("/api/v1/incidents", headers=headers).json()["total"] == 0
            assert full.get("/api/v1/incidents", headers=headers).json()["total"] == 5


def test_the_list_route_documents_its_query_parameters_by_their_public_names(
    app: FastAPI,
) -> None:
    operation = operations(app.openapi())[("GET", "/api/v1/incidents")]
    names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    assert names == {
        "status",
        "severity",
        "system",
        "organization",
        "rule",
        "entity",
        "q",
        "since",
        "until",
        "sort",
        "limit",
        "cursor",
    }
