"""The pure half of event search: the checks both stores share, and Elasticsearch's
query (its time range widened to whole milliseconds, the exact bounds kept apart)."""

from datetime import UTC, datetime, timedelta

import pytest

from canhgac.storage import EventFilter, EventQuery, EventQueryError
from canhgac.storage._encoding import encode_cursor
from canhgac.storage._event_search import (
    check_event_query,
    es_event_filters,
    sqlite_event_search,
    wanted_hit,
)

T = datetime(2026, 11, 24, 8, 0, 0, 123456, tzinfo=UTC)


def test_the_range_is_widened_to_the_milliseconds_holding_its_bounds() -> None:
    checked = check_event_query(EventQuery(since=T, until=T + timedelta(seconds=1)))
    assert es_event_filters(checked) == [
        {
            "range": {
                "@timestamp": {
                    "gte": "2026-11-24T08:00:00.123Z",
                    "lte": "2026-11-24T08:00:01.123Z",
                }
            }
        }
    ]
    # The exact bounds: since inclusive, until exclusive, to the microsecond.
    assert not wanted_hit(checked, "2026-11-24T08:00:00.123455Z", "e1")
    assert wanted_hit(checked, "2026-11-24T08:00:00.123456Z", "e1")
    assert not wanted_hit(checked, "2026-11-24T08:00:01.123456Z", "e1")


def test_a_cursor_lowers_the_upper_bound_and_skips_up_to_itself() -> None:
    cursor = encode_cursor("2026-11-24T07:00:00.500001Z", "e5")
    checked = check_event_query(EventQuery(until=T, cursor=cursor))
    (window,) = es_event_filters(checked)
    assert window == {"range": {"@timestamp": {"lte": "2026-11-24T07:00:00.500Z"}}}
    assert wanted_hit(checked, "2026-11-24T07:00:00.500001Z", "e4")
    assert not wanted_hit(checked, "2026-11-24T07:00:00.500001Z", "e5")
    assert not wanted_hit(checked, "2026-11-24T07:00:00.500001Z", "e6")
    assert wanted_hit(checked, "2026-11-24T07:00:00.500000Z", "e9")


def test_filters_scope_and_text_become_filters() -> None:
    query = EventQuery(
        filters=[EventFilter("user.name", "adm", prefix=True), EventFilter("source.ip", "::1")],
        text="union  select",
        scope=("Sở Y tế",),
    )
    assert es_event_filters(check_event_query(query)) == [
        {"prefix": {"user.name": "adm"}},
        {"term": {"source.ip": "::1"}},
        {"terms": {"organization.name": ["Sở Y tế"]}},
        {
            "multi_match": {
                "query": "union select",
                "fields": [
                    "message",
                    "error.message",
                    "url.original.text",
                    "url.full.text",
                    "user_agent.original.text",
                    "process.command_line.text",
                ],
                "type": "cross_fields",
                "operator": "and",
            }
        },
    ]


def test_too_many_words_are_refused() -> None:
    with pytest.raises(EventQueryError, match="at most 20"):
        check_event_query(EventQuery(text=" ".join(["w"] * 21)))


def test_sqlite_binds_every_value() -> None:
    query = EventQuery(
        filters=[EventFilter("user.name", "x'; DROP TABLE events; --")],
        text="50%_off",
        since=T,
    )
    sql, params = sqlite_event_search(check_event_query(query))
    assert "DROP" not in sql
    assert "x'; DROP TABLE events; --" in params
    assert "%50\\%\\_off%" in params


def test_windows_and_audit_fields_filter_exactly_and_copies_are_refused() -> None:
    checked = check_event_query(
        EventQuery(
            filters=[
                EventFilter("winlog.event_id", "4624"),
                EventFilter("winlog.event_data.TargetUserName", "Admin", prefix=True),
                EventFilter("auditd.log.type", "EXECVE"),
            ]
        )
    )
    assert es_event_filters(checked) == [
        {"term": {"winlog.event_id": "4624"}},
        {"prefix": {"winlog.event_data.TargetUserName": "Admin"}},
        {"term": {"auditd.log.type": "EXECVE"}},
    ]
    # Filters compare exactly, as on SQLite: the lower-cased copies are not fields.
    for name in ("user.name.caseless", "winlog.event_data.Image.caseless"):
        with pytest.raises(EventQueryError, match="does not index"):
            es_event_filters(check_event_query(EventQuery(filters=[EventFilter(name, "x")])))
    with pytest.raises(EventQueryError, match="long"):
        es_event_filters(
            check_event_query(EventQuery(filters=[EventFilter("winlog.event_id", "4*")]))
        )
