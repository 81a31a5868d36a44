"""CORS: only the dashboard origins in the configuration may call the API from a browser."""

from fastapi.testclient import TestClient

from canhgac.api import create_app
from canhgac.config import ApiConfig, Settings
from canhgac.storage import SQLiteStore

DASHBOARD = "https://ioc.example.gov.vn"


def preflight(client: TestClient, origin: str) -> dict[str, str]:
    answer = client.options(
        "/api/v1/incidents",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    return dict(answer.headers)


def test_the_configured_dashboard_origin_is_allowed(store: SQLiteStore) -> None:
    settings = Settings(api=ApiConfig(cors_origins=[DASHBOARD]))
    with TestClient(create_app(store, settings)) as client:
        headers = preflight(client, DASHBOARD)
    assert headers.get("access-control-allow-origin") == DASHBOARD
    assert "authorization" in headers.get("access-control-allow-headers", "").lower()


def test_another_origin_is_not_allowed(store: SQLiteStore) -> None:
    settings = Settings(api=ApiConfig(cors_origins=[DASHBOARD]))
    with TestClient(create_app(store, settings)) as client:
        headers = preflight(client, "https://evil.example.com")
    assert "access-control-allow-origin" not in headers


def test_without_configured_origins_no_cross_origin_call_is_allowed(store: SQLiteStore) -> None:
    with TestClient(create_app(store, Settings())) as client:
        headers = preflight(client, DASHBOARD)
    assert "access-control-allow-origin" not in headers
