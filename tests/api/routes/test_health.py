from fastapi import FastAPI
from fastapi.testclient import TestClient

from canhgac.api import canhgac_version
from canhgac.storage import SQLiteStore


def test_healthz_reports_ok_with_the_version(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": canhgac_version(), "store": "ok"}


def test_healthz_answers_503_when_the_store_fails(
    app: FastAPI, client: TestClient, store: SQLiteStore
) -> None:
    store.close()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "version": app.version,
        "store": "unavailable",
    }
