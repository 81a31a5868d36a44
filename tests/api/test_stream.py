"""GET /api/v1/stream on a real uvicorn server, read by a streaming HTTP client: what is
written to the store arrives as events, and a client that reconnects with Last-Event-ID
misses nothing and gets nothing twice."""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import pytest
import uvicorn

from canhgac.api import IncidentPublic, create_app, generate_api_key
from canhgac.config import Settings
from canhgac.correlator import Severity
from canhgac.incidents import IncidentGrowth, IncidentStatus, IncidentUpdate
from canhgac.storage import Role, SQLiteStore, WriteBatch
from tests.conftest import free_port
from tests.storage.records import at, incident

pytestmark = pytest.mark.integration

ORG_A = "Sở TT&TT"
ORG_B = "Sở Y tế"


@dataclass
class Server:
    """The API on a real port, over a real SQLite store."""

    store: SQLiteStore
    url: str
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, name: str, last_event_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.keys[name]}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        return headers


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with SQLiteStore.open(tmp_path / "canhgac.sqlite3") as store:
        running = Server(store, "")
        for name, organizations in (("dashboard", ()), ("so-y-te", (ORG_B,))):
            key, record = generate_api_key(name, Role.VIEWER)
            store.add_api_key(replace(record, organizations=organizations))
            running.keys[name] = key
        port = free_port()
        running.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            create_app(store, Settings()),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        uvicorn_server = uvicorn.Server(config)
        thread = threading.Thread(target=uvicorn_server.run, daemon=True)
        thread.start()
        while not uvicorn_server.started:
            time.sleep(0.01)
        try:
            yield running
        finally:
            uvicorn_server.should_exit = True
            thread.join()


@dataclass(frozen=True)
class Event:
    id: str
    kind: str
    incident: IncidentPublic


class EventReader:
    """Server-Sent Events read line by line from an open streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()
        self.comments: list[str] = []

    def next(self) -> Event:
        fields: dict[str, str] = {}
        for line in self.lines:
            if line.startswith(":"):
                self.comments.append(line)
            elif line == "":
                if "data" in fields:
                    return Event(
                        fields["id"],
                        fields["event"],
                        IncidentPublic.model_validate_json(fields["data"]),
                    )
                fields.clear()
            else:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        raise AssertionError("the stream ended")

    def take(self, n: int) -> list[Event]:
        return [self.next() for _ in range(n)]


def _client() -> httpx.Client:
    # A generous read timeout: the server polls the store every second.
    return httpx.Client(timeout=httpx.Timeout(5.0, read=20.0))


def test_an_incident_written_to_the_store_arrives_as_an_event(server: Server) -> None:
    with (
        _client() as client,
        client.stream(
            "GET", f"{server.url}/api/v1/stream", headers=server.headers("dashboard")
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = EventReader(response)
        server.store.write(WriteBatch(new_incidents=[incident("a", org=ORG_A)]))
        (created,) = reader.take(1)
        assert (created.kind, created.incident.id) == ("incident.created", "inc-a")
        assert created.incident.organization == ORG_A
        server.store.write(
            WriteBatch(incident_growths=[IncidentGrowth("inc-a", 2, at(5), Severity.CRITICAL)])
        )
        (grown,) = reader.take(1)
        assert (grown.kind, grown.incident.id) == ("incident.updated", "inc-a")
        assert (grown.incident.alert_count, grown.incident.severity) == (3, Severity.CRITICAL)
        assert grown.id != created.id


def test_reconnecting_with_last_event_id_misses_nothing_and_repeats_nothing(
    server: Server,
) -> None:
    store = server.store
    url = f"{server.url}/api/v1/stream"
    with _client() as client:
        with client.stream("GET", url, headers=server.headers("dashboard")) as response:
            reader = EventReader(response)
            store.write(WriteBatch(new_incidents=[incident("a"), incident("b", entity_value="b")]))
            first = reader.take(2)
        # Disconnected: what happens now must come on reconnection, once.
        store.update_incident("inc-a", IncidentUpdate(status=IncidentStatus.ACKNOWLEDGED), "lan")
        store.write(WriteBatch(new_incidents=[incident("c", entity_value="c")]))
        headers = server.headers("dashboard", last_event_id=first[-1].id)
        with client.stream("GET", url, headers=headers) as response:
            reader = EventReader(response)
            resumed = reader.take(2)
            store.write(WriteBatch(new_incidents=[incident("d", entity_value="d")]))
            live = reader.take(1)
        # Resuming from the middle of the first batch: only what followed that event.
        headers = server.headers("dashboard", last_event_id=first[0].id)
        answer = client.get(url, headers=headers, params={"max_seconds": 0})
    assert [(e.kind, e.incident.id) for e in first] == [
        ("incident.created", "inc-a"),
        ("incident.created", "inc-b"),
    ]
    assert [(e.kind, e.incident.id, e.incident.status) for e in resumed] == [
        ("incident.updated", "inc-a", IncidentStatus.ACKNOWLEDGED),
        ("incident.created", "inc-c", IncidentStatus.NEW),
    ]
    assert [(e.kind, e.incident.id) for e in live] == [("incident.created", "inc-d")]
    every = [e.id for e in (*first, *resumed, *live)]
    assert len(set(every)) == len(every)
    assert answer.status_code == 200
    # b, then a (changed since), c, d: each incident once, in its latest state.
    again = EventReader(answer).take(4)
    assert [e.incident.id for e in again] == ["inc-b", "inc-a", "inc-c", "inc-d"]
    assert [e.id for e in again] == [first[1].id, resumed[0].id, resumed[1].id, live[0].id]


def test_a_scoped_key_streams_its_organizations_only(server: Server) -> None:
    url = f"{server.url}/api/v1/stream"
    with (
        _client() as client,
        client.stream("GET", url, headers=server.headers("so-y-te")) as response,
    ):
        reader = EventReader(response)
        server.store.write(
            WriteBatch(
                new_incidents=[
                    incident("other", org=ORG_A),
                    incident("none", org=None, entity_value="x"),
                    incident("mine", org=ORG_B, entity_value="y"),
                ]
            )
        )
        server.store.write(
            WriteBatch(new_incidents=[incident("later", org=ORG_A, entity_value="z")])
        )
        server.store.write(
            WriteBatch(new_incidents=[incident("mine2", org=ORG_B, entity_value="w")])
        )
        events = reader.take(2)
    assert [e.incident.id for e in events] == ["inc-mine", "inc-mine2"]


def test_a_last_event_id_the_stream_never_sent_is_a_400(server: Server) -> None:
    with _client() as client:
        answer = client.get(
            f"{server.url}/api/v1/stream",
            headers=server.headers("dashboard", last_event_id="not-an-id"),
        )
    assert answer.status_code == 400
    assert "cursor" in answer.json()["detail"]


def test_the_stream_needs_a_key(server: Server) -> None:
    with _client() as client:
        answer = client.get(f"{server.url}/api/v1/stream")
    assert answer.status_code == 401
