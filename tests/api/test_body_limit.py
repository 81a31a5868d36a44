"""Request bodies over the configured size are refused with 413 before a route reads them."""

from collections.abc import Iterator

from fastapi.testclient import TestClient

from canhgac.api import create_app
from canhgac.config import ApiConfig, Settings
from canhgac.storage import SQLiteStore
from tests.api.seed_data import Keys


def small_app_client(store: SQLiteStore) -> TestClient:
    return TestClient(create_app(store, Settings(api=ApiConfig(max_request_bytes=2048))))


def test_a_declared_oversized_body_gets_413_naming_the_limit(
    store: SQLiteStore, keys: Keys
) -> None:
    with small_app_client(store) as client:
        answer = client.patch(
            "/api/v1/incidents/inc-x",
            headers=keys.header(keys.analyst),
            content=b'{"reason": "' + b"x" * 5000 + b'"}',
        )
    assert answer.status_code == 413
    assert "2048 bytes" in answer.json()["detail"]


def test_a_chunked_oversized_body_gets_413_too(store: SQLiteStore, keys: Keys) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"reason": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    with small_app_client(store) as client:
        answer = client.patch(
            "/api/v1/incidents/inc-x",
            headers={**keys.header(keys.analyst), "Content-Type": "application/json"},
            content=chunks(),
        )
    assert answer.status_code == 413


def test_a_body_under_the_limit_reaches_the_route(store: SQLiteStore, keys: Keys) -> None:
    with small_app_client(store) as client:
        answer = client.patch(
            "/api/v1/incidents/inc-x",
            headers=keys.header(keys.analyst),
            json={"status": "acknowledged"},
        )
    assert answer.status_code == 404, "the route ran and found no such incident"
