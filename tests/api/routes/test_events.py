"""GET /api/v1/events over the seed data (tests/api/seed_data.py): e1..e7, newest first
e7 (+70 min), e3 (+50), e4 (+40), e6 (+30), e2 (+1), e1 (+0), e5 (-60)."""

from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from canhgac.api import generate_api_key
from canhgac.api.routes.events import parse_filter
from canhgac.storage import EventFilter, Role, SQLiteStore
from tests.api.seed_data import ORG_TTTT, ORG_YTE

NEWEST_FIRST = ["e7", "e3", "e4", "e6", "e2", "e1", "e5"]
SINCE = "2026-11-24T00:00:00Z"

pytestmark = pytest.mark.usefixtures("seeded")


def ids(body: dict[str, Any]) -> list[str]:
    return [item["event"]["id"] for item in body["items"]]


def walk(client: TestClient, headers: dict[str, str], **params: Any) -> list[str]:
    found: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/events", params=query, headers=headers)
        assert response.status_code == 200, response.text
        found += ids(response.json())
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


def test_events_come_newest_first_as_ecs_documents(
    client: TestClient, as_viewer: dict[str, str]
) -> None:
    response = client.get("/api/v1/events", headers=as_viewer)
    assert response.status_code == 200
    body = response.json()
    assert ids(body) == NEWEST_FIRST
    assert body["next_cursor"] is None
    first = body["items"][0]
    assert first["@timestamp"] == "2026-11-24T09:10:00Z"
    assert first["source"]["ip"] == "113.161.7.7"
    assert first["url"]["path"] == "/../../etc/passwd"
    assert first["tags"] == ["web", "portal"]


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_cursors_walk_every_event_once(
    client: TestClient, as_viewer: dict[str, str], limit: int
) -> None:
    assert walk(client, as_viewer, limit=limit) == NEWEST_FIRST


def test_filters_free_text_and_time_combine(client: TestClient, as_viewer: dict[str, str]) -> None:
    assert walk(client, as_viewer, filter="source.ip:203.113.131.5", since=SINCE) == [
        "e3",
        "e2",
        "e1",
    ]
    both = ["labels.system:dichvucong", "url.path:/search*"]
    assert walk(client, as_viewer, filter=both, since=SINCE) == ["e2", "e1"]
    assert walk(client, as_viewer, q="union", since=SINCE) == ["e2"]
    window = {"since": "2026-11-24T08:30:00+00:00", "until": "2026-11-24T09:10:00Z"}
    assert walk(client, as_viewer, **window) == ["e3", "e4", "e6"]
    # An offset other than Z is the same instant.
    assert walk(client, as_viewer, since="2026-11-24T15:30:00+07:00") == ["e7", "e3", "e4", "e6"]


def test_a_scoped_key_sees_its_organizations_events_only(
    client: TestClient, store: SQLiteStore
) -> None:
    key, record = generate_api_key("yte-viewer", Role.VIEWER)
    store.add_api_key(replace(record, organizations=(ORG_YTE,)))
    headers = {"Authorization": f"Bearer {key}"}
    assert walk(client, headers) == ["e4"]
    # Asking for another organization's events finds none.
    other = f"organization.name:{ORG_TTTT}"
    assert walk(client, headers, filter=other, since=SINCE) == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"filter": "source.ip"}, "field:value"),
        ({"filter": ":x"}, "field:value"),
        ({"filter": "source.ip:*"}, "no value"),
        ({"filter": 'bad"name:x', "since": SINCE}, "not a field name"),
        ({"q": "union"}, "needs `since`"),
        ({"filter": "source.ip:1.2.3.4"}, "needs `since`"),
    ],
)
def test_a_search_the_store_cannot_run_is_a_422_saying_why(
    client: TestClient, as_viewer: dict[str, str], params: dict[str, str], reason: str
) -> None:
    response = client.get("/api/v1/events", params=params, headers=as_viewer)
    assert response.status_code == 422
    assert reason in response.json()["detail"][0]["msg"]


def test_a_cursor_not_from_a_page_is_a_400(client: TestClient, as_viewer: dict[str, str]) -> None:
    response = client.get("/api/v1/events", params={"cursor": "forged"}, headers=as_viewer)
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


def test_limits_and_times_are_validated(client: TestClient, as_viewer: dict[str, str]) -> None:
    for params in ({"limit": 0}, {"limit": 1001}, {"since": "2026-11-24T08:00:00"}):
        response = client.get("/api/v1/events", params=params, headers=as_viewer)
        assert response.status_code == 422, params


_FIELDS = st.from_regex(r"[a-z][a-z0-9_.]{0,30}", fullmatch=True)


@given(field=_FIELDS, value=st.text(min_size=1).filter(lambda v: not v.endswith("*")))
def test_a_filter_reads_back_its_field_and_value(field: str, value: str) -> None:
    assert parse_filter(f"{field}:{value}") == EventFilter(field, value)
    assert parse_filter(f"{field}:{value}*") == EventFilter(field, value, prefix=True)


@given(text=st.text())
def test_any_filter_text_is_a_filter_or_refused_saying_how_to_write_one(text: str) -> None:
    field, colon, value = text.partition(":")
    usable = bool(colon and field.strip() and value.removesuffix("*"))
    if not usable:
        with pytest.raises(ValueError, match="filter"):
            parse_filter(text)
        return
    parsed = parse_filter(text)
    assert parsed.field == field.strip()
    assert parsed.value == value.removesuffix("*")
    assert parsed.prefix == value.endswith("*")
