"""JSON lines (format `json`): ECS documents, Windows events, mapped JSON, and bad lines."""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.parsers import (
    JsonLinesParser,
    ParseContext,
    ParseError,
    detect_format,
    get_parser,
    normalize_windows_event,
    parser_names,
)

ICT = timezone(timedelta(hours=7))
CONTEXT = ParseContext(reference_time=datetime(2026, 11, 24, 12, 0, tzinfo=ICT), timezone=ICT)
PARSER = JsonLinesParser()
GOLDEN = Path(__file__).parent / "golden" / "windows"

ECS_LINE = (
    '{"@timestamp":"2026-11-24T01:15:02.125Z","source":{"ip":"203.113.131.5","port":51234},'
    '"http.request.method":"POST","url":{"path":"/dvc/nop-ho-so"},'
    '"event":{"category":["web"],"outcome":"failure"},'
    '"labels":{"checks":[{"name":"waf","hit":true}]},"message":"Đăng nhập thất bại"}'
)


def line_of(document: Any) -> str:
    return orjson.dumps(document).decode()


def reason(line: str, parser: JsonLinesParser = PARSER) -> str:
    with pytest.raises(ParseError) as raised:
        parser.parse(line, CONTEXT)
    return str(raised.value)


# --- the format ------------------------------------------------------------------------------


def test_name_and_registry() -> None:
    assert PARSER.name == "json"
    assert "json" in parser_names()
    assert isinstance(get_parser("json"), JsonLinesParser)


def test_recognizes_lines_starting_with_a_brace() -> None:
    assert PARSER.recognizes(ECS_LINE)
    assert PARSER.recognizes('  {"a": 1}')
    assert not PARSER.recognizes('[{"a": 1}]')
    assert not PARSER.recognizes("Nov 24 08:15:02 web01 sshd[1]: hello {")


def test_detect_format_picks_json_for_json_lines() -> None:
    assert detect_format([ECS_LINE] * 5) == "json"
    nginx = '203.113.131.5 - - [24/Nov/2026:08:15:02 +0700] "GET / HTTP/1.1" 200 5 "-" "curl/8"'
    assert detect_format([nginx] * 5) == "nginx"


# --- ECS documents ---------------------------------------------------------------------------


def test_ecs_document_nested_and_dotted_keys_become_dotted_fields() -> None:
    record = PARSER.parse(ECS_LINE, CONTEXT)
    assert record.timestamp == datetime(2026, 11, 24, 1, 15, 2, 125000, tzinfo=UTC)
    assert dict(record.fields) == {
        "source.ip": "203.113.131.5",
        "source.port": 51234,
        "http.request.method": "POST",
        "url.path": "/dvc/nop-ho-so",
        "event.category": ("web",),
        "event.outcome": "failure",
        "labels.checks": '[{"name":"waf","hit":true}]',
        "message": "Đăng nhập thất bại",
    }


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (1795482902125, datetime(2026, 11, 24, 1, 15, 2, 125000, tzinfo=UTC)),
        ("1795482902125", datetime(2026, 11, 24, 1, 15, 2, 125000, tzinfo=UTC)),
        ("2026-11-24T08:15:02+07:00", datetime(2026, 11, 24, 1, 15, 2, tzinfo=UTC)),
        # No offset: the context's zone (UTC+7 here).
        ("2026-11-24T08:15:02", datetime(2026, 11, 24, 1, 15, 2, tzinfo=UTC)),
    ],
)
def test_timestamp_forms(stamp: object, expected: datetime) -> None:
    record = PARSER.parse(line_of({"@timestamp": stamp, "message": "x"}), CONTEXT)
    assert record.timestamp == expected
    assert "@timestamp" not in record.fields


# --- Windows events --------------------------------------------------------------------------


def test_a_windows_event_line_is_normalized_like_the_record() -> None:
    document = json.loads((GOLDEN / "sysmon_3.input.json").read_text(encoding="utf-8"))
    record = PARSER.parse(line_of(document), CONTEXT)
    assert record == normalize_windows_event(document, CONTEXT)
    assert record.fields["destination.ip"] == "203.0.113.45"


def test_a_winlogbeat_line_is_a_windows_event_though_it_has_timestamp() -> None:
    line = line_of(
        {
            "@timestamp": "2026-11-24T02:01:57.204Z",
            "winlog": {
                "channel": "Security",
                "event_id": "4625",
                "computer_name": "SRV-MOTCUA01",
                "event_data": {"TargetUserName": "administrator", "IpAddress": "198.51.100.23"},
            },
        }
    )
    fields = PARSER.parse(line, CONTEXT).fields
    assert fields["winlog.event_id"] == 4625
    assert fields["source.ip"] == "198.51.100.23"
    assert fields["event.outcome"] == "failure"


# --- a field mapping -------------------------------------------------------------------------

APP_LINE = line_of(
    {
        "time": "2026-11-24T08:15:02.5+07:00",
        "client": {"ip": "203.113.131.5"},
        "account": "nguyenvana",
        "action": "login_failed",
        "session": "9f2c",
    }
)
MAPPED = JsonLinesParser(
    {"client.ip": "source.ip", "account": "user.name", "action": "event.action", "x": "y.z"},
    timestamp_field="time",
)


def test_mapping_keeps_only_mapped_fields_under_their_ecs_names() -> None:
    record = MAPPED.parse(APP_LINE, CONTEXT)
    assert record.timestamp == datetime(2026, 11, 24, 1, 15, 2, 500000, tzinfo=UTC)
    assert dict(record.fields) == {
        "source.ip": "203.113.131.5",
        "user.name": "nguyenvana",
        "event.action": "login_failed",
    }


def test_mapping_reads_windows_shaped_objects_by_the_mapping_too() -> None:
    line = line_of({"time": "2026-11-24T01:00:00Z", "EventID": 4624, "account": "a"})
    assert dict(MAPPED.parse(line, CONTEXT).fields) == {"user.name": "a"}


def test_mapping_without_its_timestamp_field() -> None:
    assert reason('{"account": "a"}', MAPPED) == "JSON object has no time"


def test_constructor_refuses_an_empty_mapping_or_timestamp_field() -> None:
    with pytest.raises(ValueError, match="field_map is empty"):
        JsonLinesParser({})
    with pytest.raises(ValueError, match="timestamp_field must name"):
        JsonLinesParser(timestamp_field="")


FORMATTED = JsonLinesParser(
    {"nguoi_dung": "user.name"}, timestamp_field="thoi_gian", timestamp_format="%d/%m/%Y %H:%M:%S"
)


def test_a_timestamp_format_reads_local_times_in_the_context_zone() -> None:
    line = line_of({"thoi_gian": "24/11/2026 08:15:02", "nguoi_dung": "nguyenvana"})
    record = FORMATTED.parse(line, CONTEXT)
    assert record.timestamp == datetime(2026, 11, 24, 1, 15, 2, tzinfo=UTC)
    assert dict(record.fields) == {"user.name": "nguyenvana"}


def test_a_timestamp_not_in_the_format_is_refused_with_both() -> None:
    line = line_of({"thoi_gian": "2026-11-24T08:15:02"})
    assert reason(line, FORMATTED) == (
        "thoi_gian: '2026-11-24T08:15:02' does not match the format '%d/%m/%Y %H:%M:%S'"
    )


def test_with_a_timestamp_format_epoch_milliseconds_still_read() -> None:
    line = line_of({"thoi_gian": 1795000502000})
    assert FORMATTED.parse(line, CONTEXT).timestamp == datetime.fromtimestamp(1795000502, UTC)


# --- bad lines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"message": "no time"}', "JSON object is neither ECS nor a Windows event: no @timestamp"),
        ('{"@timestamp": "2026-11-24T08:15:0', "invalid JSON"),
        ("", "invalid JSON"),
        ("[1, 2]", "a JSON line must hold an object, not an array"),
        ('"text"', "a JSON line must hold an object, not a string"),
        ("42", "a JSON line must hold an object, not a number"),
        ("null", "a JSON line must hold an object, not null"),
        ('{"@timestamp": "24/11/2026"}', "@timestamp: bad timestamp '24/11/2026'"),
        ('{"@timestamp": true}', "@timestamp is not a time: a boolean"),
        ('{"@timestamp": 1e300}', "@timestamp is out of range as epoch milliseconds"),
        ('{"@timestamp": "0001-01-01T00:00:00+07:00"}', "@timestamp is out of range"),
        ('{"EventID": 4624}', "no time: none of SystemTime"),
    ],
)
def test_bad_lines_say_why(line: str, expected: str) -> None:
    assert expected in reason(line)


def test_objects_nested_too_deep_are_refused() -> None:
    line = '{"@timestamp": 0, "a": ' + '{"b": ' * 40 + "1" + "}" * 40 + "}"
    assert reason(line) == "JSON object is nested deeper than 32 levels"


# --- robustness ------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=25,
)
KEYS = st.sampled_from(["@timestamp", "Event", "winlog", "EventID", "SystemTime", "time"])


def parse_or_reason(line: str, parser: JsonLinesParser = PARSER) -> str | None:
    """The ParseError's reason, or None when the line parses; any other error propagates."""
    try:
        parser.parse(line, CONTEXT)
    except ParseError as error:
        return str(error)
    return None


@settings(max_examples=500, deadline=None)
@given(line=st.text())
def test_any_text_raises_only_parse_error(line: str) -> None:
    assert isinstance(PARSER.recognizes(line), bool)
    assert parse_or_reason(line) != ""


@settings(max_examples=500, deadline=None)
@given(
    document=JSON_VALUES
    | st.dictionaries(KEYS | st.text(max_size=8), JSON_VALUES, max_size=6)
    | st.fixed_dictionaries({"Event": st.dictionaries(st.just("System"), JSON_VALUES)})
)
def test_any_json_raises_only_parse_error(document: Any) -> None:
    line = json.dumps(document, ensure_ascii=False)
    assert parse_or_reason(line) != ""
    assert parse_or_reason(line, MAPPED) != ""


NAMES = st.from_regex(r"[a-z][a-z_]{0,7}(\.[a-z][a-z_]{0,7}){0,2}", fullmatch=True)
SCALARS = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(NAMES, SCALARS | st.lists(SCALARS, max_size=3), max_size=8),
    millis=st.integers(0, 4_102_444_800_000),
)
def test_flat_ecs_documents_round_trip(fields: dict[str, Any], millis: int) -> None:
    # Dotted names come back as they went in, even "a" beside "a.b".
    record = PARSER.parse(line_of({"@timestamp": millis, **fields}), CONTEXT)
    assert record.timestamp == datetime.fromtimestamp(millis / 1000, UTC)
    assert dict(record.fields) == {
        name: tuple(value) if isinstance(value, list) else value for name, value in fields.items()
    }
