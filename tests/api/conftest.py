"""A real SQLiteStore in tmp_path, API keys of each role, and a client for the app."""

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from canhgac.api import create_app, generate_api_key
from canhgac.config import ApiConfig, Settings
from canhgac.storage import Role, SQLiteStore
from tests.api.seed_data import NOW, Clock, Keys, seed


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[SQLiteStore]:
    with SQLiteStore.open(tmp_path / "canhgac.sqlite3", clock=clock) as opened:
        yield opened


@pytest.fixture
def seeded(store: SQLiteStore) -> SQLiteStore:
    seed(store)
    return store


@pytest.fixture
def keys(store: SQLiteStore) -> Keys:
    made: dict[str, str] = {}
    for name, role in (
        ("soc-viewer", Role.VIEWER),
        ("soc-analyst", Role.ANALYST),
        ("soc-admin", Role.ADMIN),
        ("old-analyst", Role.ANALYST),
    ):
        key, record = generate_api_key(name, role)
        if name == "old-analyst":
            record = replace(record, revoked=True)
        store.add_api_key(record)
        made[name] = key
    return Keys(
        viewer=made["soc-viewer"],
        analyst=made["soc-analyst"],
        admin=made["soc-admin"],
        revoked=made["old-analyst"],
    )


@pytest.fixture
def app(store: SQLiteStore) -> FastAPI:
    # The auth tests call every route with wrong keys; the limit is tested on its own
    # (test_auth_failures.py), not tripped by the number of routes.
    return create_app(store, Settings(api=ApiConfig(auth_failures_per_minute=1000)))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def as_viewer(keys: Keys) -> dict[str, str]:
    return keys.header(keys.viewer)


@pytest.fixture
def as_analyst(keys: Keys) -> dict[str, str]:
    return keys.header(keys.analyst)
