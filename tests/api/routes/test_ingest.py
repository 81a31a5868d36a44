"""POST /api/v1/ingest and GET /api/v1/ingest/checkpoints, through a real pipeline worker
into a real SQLite store."""

from collections.abc import Iterator
from datetime import datetime

import orjson
import pytest
from fastapi.testclient import TestClient

from canhgac.api import create_app, generate_api_key
from canhgac.config import ApiConfig, RulesConfig, Settings
from canhgac.service import CorrelatorComponent
from canhgac.storage import Role, SQLiteStore
from tests.api.seed_data import Keys

NDJSON = {"Content-Type": "application/x-ndjson"}
SETTINGS = Settings(rules=RulesConfig(bundled=False), api=ApiConfig(max_ingest_bytes=64 * 1024))

GOOD = [
    {"@timestamp": "2026-03-01T08:00:00Z", "source": {"ip": "203.0.113.7"}, "message": "one"},
    {"@timestamp": "2026-03-01T08:00:01Z", "event.action": "login", "user.name": "lan"},
    {"@timestamp": 1772352002000, "message": "epoch milliseconds"},
]


def _body(*lines: bytes) -> bytes:
    return b"\n".join(lines) + b"\n"


def _good_lines() -> list[bytes]:
    return [orjson.dumps(document) for document in GOOD]


@pytest.fixture
def ingest_key(store: SQLiteStore) -> str:
    key, record = generate_api_key("agency-agent", Role.INGEST)
    store.add_api_key(record)
    return key


@pytest.fixture
def ingest_client(store: SQLiteStore, keys: Keys) -> Iterator[TestClient]:
    correlator = CorrelatorComponent(SETTINGS, store)
    correlator.start()
    try:
        with TestClient(create_app(store, SETTINGS, ingest=correlator)) as client:
            yield client
    finally:
        correlator.stop()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **NDJSON}


def test_good_lines_become_events_and_bad_lines_dead_letters_with_their_line(
    ingest_client: TestClient, ingest_key: str, store: SQLiteStore
) -> None:
    good = _good_lines()
    body = _body(good[0], b"{not json", good[1], b'{"message": "no time"}', b"", good[2])

    response = ingest_client.post("/api/v1/ingest", content=body, headers=_auth(ingest_key))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["source"] == "agency-agent"
    assert (answer["accepted"], answer["dead_lettered"]) == (3, 2)
    assert (answer["stored"], answer["duplicates"]) == (3, 0)
    assert [error["line"] for error in answer["errors"]] == [2, 4]
    assert "invalid JSON" in answer["errors"][0]["reason"]
    assert "no @timestamp" in answer["errors"][1]["reason"]
    assert store.counts().events == 3
    letters = store.dead_letters()
    assert sorted(letter.line_number or 0 for letter in letters) == [2, 4]
    assert {letter.source for letter in letters} == {"agency-agent"}
    counters = store.source_counters().source("agency-agent")
    assert counters is not None
    assert (counters.received, counters.parsed, counters.dead_lettered) == (5, 3, 2)


def test_the_same_body_sent_again_stores_nothing_twice(
    ingest_client: TestClient, ingest_key: str, store: SQLiteStore
) -> None:
    body = _body(*_good_lines())
    first = ingest_client.post("/api/v1/ingest", content=body, headers=_auth(ingest_key))
    again = ingest_client.post("/api/v1/ingest", content=body, headers=_auth(ingest_key))

    assert first.json()["stored"] == 3
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 3)
    assert store.counts().events == 3


def test_stored_events_keep_their_fields_and_original(
    ingest_client: TestClient, ingest_key: str, store: SQLiteStore
) -> None:
    forwarded = {
        "@timestamp": "2026-03-01T08:00:00Z",
        "event": {"id": "abc123", "original": "Mar  1 15:00:00 web sshd[1]: Failed password"},
        "log": {"file": {"path": "/var/log/auth.log"}},
        "source": {"ip": "198.51.100.4"},
    }
    line = orjson.dumps(forwarded)
    ingest_client.post("/api/v1/ingest?source=web", content=_body(line), headers=_auth(ingest_key))

    (event,) = next(store.event_pages(_at("2026-03-01T00:00:00Z"), _at("2026-03-02T00:00:00Z")))
    assert event.get("event.original") == "Mar  1 15:00:00 web sshd[1]: Failed password"
    assert event.get("log.file.path") == "/var/log/auth.log"
    assert event.get("source.ip") == "198.51.100.4"
    assert event.id != "abc123"  # the sender's id names the event, it does not become its id


def test_a_checkpoint_in_the_batch_header_is_stored_with_the_events(
    ingest_client: TestClient, ingest_key: str, store: SQLiteStore
) -> None:
    header = {
        "canhgac_batch": {
            "checkpoints": [{"name": "file:web:/var/log/nginx/access.log", "state": {"offset": 9}}],
            "dead_letters": [{"reason": "nginx: no match", "raw": "garbage", "line_number": 4}],
            "lines": 4,
        }
    }
    body = _body(orjson.dumps(header), *_good_lines())

    response = ingest_client.post(
        "/api/v1/ingest?source=web", content=body, headers=_auth(ingest_key)
    )

    assert response.status_code == 200, response.text
    assert (response.json()["accepted"], response.json()["dead_lettered"]) == (3, 1)
    saved = store.checkpoint("file:web:/var/log/nginx/access.log")
    assert saved is not None
    assert saved.state == {"offset": 9}
    assert store.counts().events == 3
    (letter,) = store.dead_letters()
    assert (letter.source, letter.reason, letter.line_number) == ("web", "nginx: no match", 4)
    read = ingest_client.get(
        "/api/v1/ingest/checkpoints",
        params={"name": "file:web:/var/log/nginx/access.log"},
        headers=_auth(ingest_key),
    )
    assert read.json() == {"name": "file:web:/var/log/nginx/access.log", "state": {"offset": 9}}


def test_a_checkpoint_of_another_source_refuses_the_whole_batch(
    ingest_client: TestClient, ingest_key: str, store: SQLiteStore
) -> None:
    header = {"canhgac_batch": {"checkpoints": [{"name": "correlator:state", "state": {}}]}}
    body = _body(orjson.dumps(header), *_good_lines())

    response = ingest_client.post(
        "/api/v1/ingest?source=web", content=body, headers=_auth(ingest_key)
    )

    assert response.status_code == 400
    assert "does not belong to source 'web'" in response.json()["detail"]
    assert store.counts().events == 0


def test_the_correlator_state_cannot_be_read_through_the_checkpoints_route(
    ingest_client: TestClient, ingest_key: str
) -> None:
    ingest_client.post("/api/v1/ingest", content=_body(*_good_lines()), headers=_auth(ingest_key))
    response = ingest_client.get(
        "/api/v1/ingest/checkpoints", params={"name": "correlator:state"}, headers=_auth(ingest_key)
    )
    assert response.status_code == 404


def test_a_body_over_the_limit_gets_413_and_nothing_is_stored(
    ingest_client: TestClient, ingest_key: str, store: SQLiteStore
) -> None:
    line = orjson.dumps({"@timestamp": "2026-03-01T08:00:00Z", "message": "x" * 1000})
    body = _body(*[line] * 80)

    response = ingest_client.post("/api/v1/ingest", content=body, headers=_auth(ingest_key))

    assert response.status_code == 413
    assert "65536 bytes" in response.json()["detail"]
    assert store.counts().events == 0


def test_other_media_types_get_415(ingest_client: TestClient, ingest_key: str) -> None:
    response = ingest_client.post(
        "/api/v1/ingest",
        content=b"hello",
        headers={"Authorization": f"Bearer {ingest_key}", "Content-Type": "text/plain"},
    )
    assert response.status_code == 415


def test_viewer_analyst_and_admin_keys_cannot_ingest(
    ingest_client: TestClient, keys: Keys, store: SQLiteStore
) -> None:
    for key in (keys.viewer, keys.analyst, keys.admin):
        response = ingest_client.post(
            "/api/v1/ingest", content=_body(*_good_lines()), headers=_auth(key)
        )
        assert response.status_code == 403
        assert "needs the ingest role" in response.json()["detail"]
        checkpoint = ingest_client.get(
            "/api/v1/ingest/checkpoints", params={"name": "file:web:x"}, headers=_auth(key)
        )
        assert checkpoint.status_code == 403
    assert store.counts().events == 0


def test_an_ingest_key_cannot_read(ingest_client: TestClient, ingest_key: str) -> None:
    for path in ("/api/v1/incidents", "/api/v1/me", "/api/v1/exports/incidents"):
        response = ingest_client.get(path, headers=_auth(ingest_key))
        assert response.status_code == 403, path


def test_without_a_key_ingest_answers_401(ingest_client: TestClient) -> None:
    response = ingest_client.post("/api/v1/ingest", content=_body(*_good_lines()), headers=NDJSON)
    assert response.status_code == 401


def test_the_read_api_has_no_ingest_route_and_the_correlator_no_read_routes(
    store: SQLiteStore, ingest_key: str, keys: Keys
) -> None:
    with TestClient(create_app(store, SETTINGS)) as read_only:
        response = read_only.post(
            "/api/v1/ingest", content=_body(*_good_lines()), headers=_auth(ingest_key)
        )
        assert response.status_code in (404, 405)
    correlator = CorrelatorComponent(SETTINGS, store)
    with TestClient(create_app(store, SETTINGS, ingest=correlator, read_api=False)) as ingest_only:
        assert ingest_only.get("/api/v1/incidents", headers=_auth(keys.viewer)).status_code == 404
        assert ingest_only.get("/healthz").status_code == 200


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)
