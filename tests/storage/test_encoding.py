"""How every store writes values as text: times, text, JSON and page cursors."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canhgac.storage import InvalidCursorError, StoreError
from canhgac.storage._encoding import (
    decode_cursor,
    dump_json,
    encode_cursor,
    event_fields,
    format_time,
    load_json,
    parse_time,
    sql_text,
)

aware_times = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9998, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(-timedelta(hours=5))]),
)


def test_times_are_fixed_width_utc_text() -> None:
    hanoi = timezone(timedelta(hours=7))
    assert format_time(datetime(2026, 11, 24, 15, 15, 2, 123456, tzinfo=hanoi)) == (
        "2026-11-24T08:15:02.123456Z"
    )
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000Z"
    assert parse_time("2026-11-24T08:15:02.123456Z") == datetime(
        2026, 11, 24, 8, 15, 2, 123456, tzinfo=UTC
    )


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(StoreError, match="no time zone"):
        format_time(datetime(2026, 11, 24, 8, 0))


@given(aware_times, aware_times)
def test_text_order_is_time_order_and_times_read_back(a: datetime, b: datetime) -> None:
    assert parse_time(format_time(a)) == a
    assert (format_time(a) < format_time(b)) == (a < b)


def test_lone_surrogates_become_replacement_characters_in_plain_text() -> None:
    assert sql_text("GET /\udcff HTTP") == "GET /\ufffd HTTP"
    assert sql_text("Sở KH&CN") == "Sở KH&CN"
    assert sql_text(None) is None


def test_json_keeps_what_orjson_refuses() -> None:
    value = {"big": 2**70, "odd": "a\udcffb", "list": (1, 2), "inf": float("inf")}
    assert load_json(dump_json(value)) == {
        "big": 2**70,
        "odd": "a\udcffb",
        "list": [1, 2],
        "inf": float("inf"),
    }
    with pytest.raises(StoreError, match="cannot store set value"):
        dump_json({1, 2})


def test_event_fields_read_lists_back_as_tuples() -> None:
    assert event_fields('{"event.category": ["web"], "source.port": 443}') == {
        "event.category": ("web",),
        "source.port": 443,
    }


@given(aware_times, st.text(max_size=40).filter(lambda text: sql_text(text) == text))
def test_cursors_read_back(moment: datetime, incident_id: str) -> None:
    last_seen = format_time(moment)
    cursor = encode_cursor(last_seen, incident_id)
    assert "=" not in cursor
    assert decode_cursor(cursor) == (last_seen, incident_id)


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "WyJ4Il0",  # ["x"]: one part
        "WyIyMDI2LTExLTI0IiwiaWQiXQ",  # ["2026-11-24","id"]: not a stored time
    ],
)
def test_a_cursor_not_taken_from_a_page_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError, match="invalid cursor"):
        decode_cursor(cursor)
