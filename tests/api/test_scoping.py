"""Keys scoped to organizations: every route is enumerated from the app (as in
test_deps.py), called with a key of one agency, and nothing of another agency's
incidents, events or alerts may come back; another agency's incident answers exactly as
an incident that does not exist.

The seed (tests/api/seed_data.py) has five incidents of three organizations and one of
none; the scoped keys here see Sở Y tế's only: inc-ssh.
"""

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import httpx2 as httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from canhgac.api import Principal, create_app, generate_api_key, require_role
from canhgac.config import Settings
from canhgac.storage import Role, SQLiteStore
from tests.api.seed_data import NOW, ORG_TTTT, ORG_UBND, ORG_YTE, Clock, seed
from tests.api.test_deps import BODIES, PATH_VALUES, STREAM_QUERIES, protected_routes

FOREIGN_IDS = ("inc-sqli", "inc-admin", "inc-scan", "inc-trav")
# What only the other agencies' incidents, alerts and events hold.
FOREIGN_MARKERS = (
    *FOREIGN_IDS,
    "a-sqli-1",
    "a-admin",
    "a-trav",
    ORG_TTTT,
    ORG_UBND,
    "203.113.131.5",
    "45.76.1.1",
    "185.220.101.4",
    "113.161.7.7",
)
MISSING_ID = "inc-does-not-exist"


class Scoped:
    """An app over the seed, a stream cursor from before the seed, and keys."""

    def __init__(self, store: SQLiteStore, app: FastAPI, feed_start: str) -> None:
        self.store = store
        self.app = app
        self.feed_start = feed_start
        self.keys: dict[str, str] = {}

    def header(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}


@pytest.fixture
def scoped(tmp_path: Path) -> Iterator[Scoped]:
    with SQLiteStore.open(tmp_path / "canhgac.sqlite3", clock=Clock(NOW)) as store:
        feed_start = store.incidents_changed_since(None, None).cursor
        seed(store)
        scoped = Scoped(store, create_app(store, Settings()), feed_start)
        for name, role, organizations in (
            ("yte-admin", Role.ADMIN, (ORG_YTE,)),
            ("soc-analyst", Role.ANALYST, ()),
            ("soc-admin", Role.ADMIN, ()),
        ):
            key, record = generate_api_key(name, role)
            store.add_api_key(replace(record, organizations=organizations))
            scoped.keys[name] = key
        yield scoped


@pytest.fixture
def client(scoped: Scoped) -> Iterator[TestClient]:
    with TestClient(scoped.app) as test_client:
        yield test_client


def leaks(text: str) -> list[str]:
    """The foreign markers in a response body, written raw or JSON-escaped."""
    return [
        marker
        for marker in FOREIGN_MARKERS
        if marker in text or json.dumps(marker)[1:-1] in text or marker.lower() in text.lower()
    ]


def request(
    client: TestClient,
    scoped: Scoped,
    method: str,
    template: str,
    incident_id: str,
    key: str = "yte-admin",
) -> httpx.Response:
    path = template.replace("{incident_id}", incident_id)
    for name, value in PATH_VALUES.items():
        path = path.replace(name, value)
    body = BODIES.get((method, template), BODIES.get(method))
    if template == "/api/v1/incidents/bulk":
        body = {"ids": [incident_id], "status": "acknowledged"}
    if template.endswith("/merge"):
        body = {"source_id": "inc-ssh", "reason": "try"}
    headers = scoped.header(key)
    if template in STREAM_QUERIES:
        headers["Last-Event-ID"] = scoped.feed_start
    response: httpx.Response = client.request(
        method, path, headers=headers, json=body, params=STREAM_QUERIES.get(template)
    )
    return response


def test_no_route_leaks_another_organization(client: TestClient, scoped: Scoped) -> None:
    before = {i: scoped.store.incident_history(i) for i in FOREIGN_IDS}
    routes = protected_routes(scoped.app)
    assert ("GET", "/api/v1/stream") in routes
    for method, template in routes:
        if "{incident_id}" in template or template == "/api/v1/incidents/bulk":
            # Another agency's incident: answered exactly as one that does not exist.
            foreign = request(client, scoped, method, template, "inc-sqli")
            missing = request(client, scoped, method, template, MISSING_ID)
            assert foreign.status_code == missing.status_code, (method, template)
            assert foreign.text.replace("inc-sqli", MISSING_ID) == missing.text, (method, template)
            if "{incident_id}" in template:
                assert foreign.status_code == 404, (method, template, foreign.text)
        else:
            answer = request(client, scoped, method, template, "inc-ssh")
            assert answer.status_code < 500, (method, template, answer.text)
            assert leaks(answer.text) == [], (method, template, answer.text[:500])
    # Nothing of theirs was changed either.
    assert {i: scoped.store.incident_history(i) for i in FOREIGN_IDS} == before


def test_the_same_routes_do_show_everything_to_a_key_of_every_organization(
    client: TestClient, scoped: Scoped
) -> None:
    # The check above would pass on routes that show nothing at all: show it does not.
    headers = scoped.header("soc-analyst")
    listing = client.get("/api/v1/incidents", headers=headers).text
    assert set(leaks(listing)) >= {"inc-sqli", "inc-admin", ORG_TTTT, ORG_UBND}
    stream = client.get(
        "/api/v1/stream",
        headers={**headers, "Last-Event-ID": scoped.feed_start},
        params={"max_seconds": 0},
    )
    assert "inc-sqli" in leaks(stream.text)
    assert "inc-sqli" in leaks(client.get("/api/v1/exports/incidents", headers=headers).text)
    assert ORG_TTTT in leaks(client.get("/api/v1/stats", headers=headers).text)


def test_a_scoped_key_sees_and_changes_its_own_incidents(
    client: TestClient, scoped: Scoped
) -> None:
    headers = scoped.header("yte-admin")
    page = client.get("/api/v1/incidents", headers=headers).json()
    assert ([i["id"] for i in page["items"]], page["total"]) == (["inc-ssh"], 1)
    # Asking for another organization does not widen the scope.
    other = client.get("/api/v1/incidents", headers=headers, params={"organization": ORG_TTTT})
    assert other.json()["total"] == 0
    assert client.get("/api/v1/incidents/inc-ssh", headers=headers).status_code == 200
    changed = client.patch(
        "/api/v1/incidents/inc-ssh", headers=headers, json={"status": "resolved"}
    )
    assert changed.status_code == 200
    stats = client.get("/api/v1/stats", headers=headers).json()
    assert (stats["total"], stats["by_organization"]) == (1, [{"key": ORG_YTE, "count": 1}])
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["organizations"] == [ORG_YTE]
    exported = client.get(
        "/api/v1/exports/incidents", headers=headers, params={"format": "json"}
    ).json()
    assert [i["id"] for i in exported] == ["inc-ssh"]
    stream = client.get(
        "/api/v1/stream",
        headers={**headers, "Last-Event-ID": scoped.feed_start},
        params={"max_seconds": 0},
    )
    assert "inc-ssh" in stream.text


def test_a_scoped_key_cannot_merge_another_organizations_incident_into_its_own(
    client: TestClient, scoped: Scoped
) -> None:
    headers = scoped.header("yte-admin")
    foreign = client.post(
        "/api/v1/incidents/inc-ssh/merge",
        headers=headers,
        json={"source_id": "inc-sqli", "reason": "grab it"},
    )
    missing = client.post(
        "/api/v1/incidents/inc-ssh/merge",
        headers=headers,
        json={"source_id": MISSING_ID, "reason": "grab it"},
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.text.replace("inc-sqli", MISSING_ID) == missing.text
    sqli = scoped.store.get_incident("inc-sqli")
    assert sqli is not None
    assert sqli.status == "new"


def test_a_bulk_change_skips_what_the_key_may_not_see(client: TestClient, scoped: Scoped) -> None:
    answer = client.post(
        "/api/v1/incidents/bulk",
        headers=scoped.header("yte-admin"),
        json={"ids": ["inc-ssh", "inc-sqli"], "assignee": "yte-oncall"},
    )
    assert [(r["id"], r["ok"]) for r in answer.json()["results"]] == [
        ("inc-ssh", True),
        ("inc-sqli", False),
    ]
    sqli = scoped.store.get_incident("inc-sqli")
    assert sqli is not None
    assert sqli.assignee is None


def test_what_concerns_every_organization_refuses_a_scoped_key(scoped: Scoped) -> None:
    app = FastAPI()
    app.state.store = scoped.store
    app.state.auth_failures = scoped.app.state.auth_failures
    everyone = require_role(Role.ADMIN, every_organization=True)

    def change_everything(principal: Annotated[Principal, Depends(everyone)]) -> str:
        return principal.name

    app.add_api_route("/all", change_everything, methods=["POST"])
    with TestClient(app) as client:
        refused = client.post("/all", headers=scoped.header("yte-admin"))
        assert refused.status_code == 403
        assert "limited" in refused.json()["detail"]
        allowed = client.post("/all", headers=scoped.header("soc-admin"))
        assert (allowed.status_code, allowed.json()) == (200, "soc-admin")
