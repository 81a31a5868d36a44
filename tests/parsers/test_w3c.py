"""IIS / W3C extended logs: hand-written golden files, directives, detection, properties.

golden/w3c/<format>_<case>.log is read top to bottom as a file reader does: a directive
line's expected object is {"directive": true} (or {"error": ...} when the directive is
refused), a record's the ECS fields it gives plus "@timestamp", or {"error": ...}.
"""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canhgac.parsers import (
    IIS_DEFAULT_FIELDS,
    IisParser,
    ParseContext,
    ParseError,
    W3CParser,
    detect_format,
    get_parser,
    is_directive,
)

GOLDEN = Path(__file__).parent / "golden" / "w3c"
ICT = timezone(timedelta(hours=7))
CONTEXT = ParseContext(reference_time=datetime(2026, 11, 24, 23, 59, 59, tzinfo=ICT), timezone=ICT)

IIS_HEADER = [
    "#Software: Microsoft Internet Information Services 10.0",
    "#Version: 1.0",
    "#Date: 2026-11-24 01:00:00",
    "#Fields: " + " ".join(IIS_DEFAULT_FIELDS),
]
IIS_LINE = (
    "2026-11-24 01:00:03 10.10.5.20 GET /dvc/thu-tuc id=12 443 - 203.113.7.9 "
    "Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 125"
)


def _golden_files() -> list[Path]:
    return sorted(GOLDEN.glob("*.log"))


@pytest.mark.parametrize("log", _golden_files(), ids=lambda p: p.stem)
def test_golden_file(log: Path) -> None:
    lines = log.read_text(encoding="utf-8").split("\n")[:-1]
    expected: list[dict[str, Any]] = json.loads(log.with_suffix(".json").read_text("utf-8"))
    assert len(lines) == len(expected)
    parser = get_parser(log.stem.split("_")[0])
    assert isinstance(parser, W3CParser)
    for number, (line, want) in enumerate(zip(lines, expected, strict=True), start=1):
        if is_directive(line):
            if "error" in want:
                with pytest.raises(ParseError, match=want["error"]):
                    parser.with_directive(line)
            else:
                assert want == {"directive": True}, f"line {number}"
                parser = parser.with_directive(line)
            continue
        if "error" in want:
            with pytest.raises(ParseError) as raised:
                parser.parse(line, CONTEXT)
            assert want["error"] in str(raised.value), f"line {number}"
            continue
        record = parser.parse(line, CONTEXT)
        got: dict[str, Any] = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in record.fields.items()
        }
        got["@timestamp"] = record.timestamp.isoformat()
        assert got == want, f"line {number}"


def test_iis_reads_default_columns_before_any_header() -> None:
    record = get_parser("iis").parse(IIS_LINE, CONTEXT)
    assert record.timestamp == datetime(2026, 11, 24, 1, 0, 3, tzinfo=UTC)
    assert record.fields["url.original"] == "/dvc/thu-tuc?id=12"
    assert record.fields["user_agent.original"] == "Mozilla/5.0 (Windows NT 10.0)"


def test_w3c_refuses_records_before_a_fields_directive() -> None:
    with pytest.raises(ParseError, match="no #Fields: directive before this line"):
        get_parser("w3c").parse(IIS_LINE, CONTEXT)


def test_other_directives_keep_the_columns() -> None:
    parser = IisParser(["date", "time", "c-ip"])
    assert parser.with_directive("#Date: 2026-11-25 00:00:00") is parser
    assert parser.with_directive("#Fields: date time cs-method").fields == (
        "date",
        "time",
        "cs-method",
    )


def test_a_directive_given_to_parse_is_refused() -> None:
    with pytest.raises(ParseError, match="directive"):
        get_parser("iis").parse("#Version: 1.0", CONTEXT)


def test_records_without_date_and_time_cannot_be_dated() -> None:
    parser = W3CParser(["c-ip", "cs-method"])
    with pytest.raises(ParseError, match="names no date and time"):
        parser.parse("10.0.0.1 GET", CONTEXT)


def test_auto_detection_recognizes_iis_files_by_their_header_and_records() -> None:
    assert detect_format([*IIS_HEADER, IIS_LINE, IIS_LINE]) == "iis"
    assert detect_format([IIS_LINE]) == "iis"
    nginx = '203.113.7.9 - - [24/Nov/2026:08:00:00 +0700] "GET / HTTP/1.1" 200 5 "-" "curl/8.5.0"'
    assert detect_format([nginx]) == "nginx"


# -- properties ----------------------------------------------------------------------------
_value = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Cc"), blacklist_characters="+#"),
    min_size=1,
    max_size=30,
).filter(lambda v: v != "-")


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.none()
    ),
    method=st.sampled_from(["GET", "POST", "HEAD", "PROPFIND"]),
    stem=_value.map(lambda v: "/" + v),
    user=_value,
    status=st.integers(100, 599),
    taken=st.integers(0, 10**9),
)
def test_a_record_built_from_values_gives_them_back(
    moment: datetime, method: str, stem: str, user: str, status: int, taken: int
) -> None:
    parser = W3CParser(["date", "time", "cs-method", "cs-uri-stem", "cs-username", "sc-status"])
    parser = parser.with_directive(
        "#Fields: date time cs-method cs-uri-stem cs-username " + ("sc-status time-taken")
    )
    stamp = moment.replace(microsecond=0)
    line = f"{stamp:%Y-%m-%d %H:%M:%S} {method} {stem} {user} {status} {taken}"
    record = parser.parse(line, CONTEXT)
    assert record.timestamp == stamp.replace(tzinfo=UTC)
    assert record.fields["http.request.method"] == method
    assert record.fields["url.path"] == stem
    assert record.fields["url.original"] == stem
    assert record.fields["user.name"] == user
    assert record.fields["http.response.status_code"] == status
    assert record.fields["event.duration"] == taken * 1_000_000


@given(st.text(max_size=300))
def test_any_line_parses_or_is_refused_with_a_reason(line: str) -> None:
    parser = get_parser("iis")
    try:
        record = parser.parse(line, CONTEXT)
    except ParseError as exc:
        reason = str(exc)
    else:
        reason = ""
        assert record.timestamp.tzinfo is not None
        assert record.fields["event.dataset"] == "iis.access"
    assert reason or not is_directive(line)


@given(st.text(max_size=200).map(lambda t: "#Fields: " + t))
def test_any_fields_directive_gives_a_parser_or_a_reason(line: str) -> None:
    parser = get_parser("w3c")
    assert isinstance(parser, W3CParser)
    names = tuple(line[len("#Fields:") :].split())
    if not names:
        with pytest.raises(ParseError, match="names no field"):
            parser.with_directive(line)
        return
    assert parser.with_directive(line).fields == names
