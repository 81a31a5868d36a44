"""nginx and Apache access-log parsing: examples, robustness and round trips."""

from datetime import UTC, datetime, timedelta, timezone
from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.events import FieldValue
from canhgac.parsers import (
    ApacheAccessParser,
    LineParser,
    NginxAccessParser,
    ParseContext,
    ParseError,
)

ICT = timezone(timedelta(hours=7))
CONTEXT = ParseContext(reference_time=datetime(2026, 11, 24, 12, 0, tzinfo=ICT), timezone=ICT)
PARSERS = (NginxAccessParser(), ApacheAccessParser())
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

COMBINED = (
    '203.113.131.5 - - [24/Nov/2026:08:15:02 +0700] "GET /dvc/thu-tuc?id=12 HTTP/1.1" 200 5123'
    ' "https://dichvucong.haugiang.gov.vn/" "Mozilla/5.0"'
)
COMMON = '10.0.0.1 - alice [24/Nov/2026:08:15:02 +0700] "POST /login HTTP/1.1" 302 - '


# --- examples ----------------------------------------------------------------------------


def test_names_and_datasets() -> None:
    nginx = NginxAccessParser().parse(COMBINED, CONTEXT)
    apache = ApacheAccessParser().parse(COMBINED, CONTEXT)
    assert (NginxAccessParser().name, ApacheAccessParser().name) == ("nginx", "apache")
    assert (nginx.fields["event.module"], nginx.fields["event.dataset"]) == (
        "nginx",
        "nginx.access",
    )
    assert (apache.fields["event.module"], apache.fields["event.dataset"]) == (
        "apache",
        "apache.access",
    )


def test_time_keeps_the_logged_offset() -> None:
    record = NginxAccessParser().parse(COMBINED.replace("+0700", "-0330"), CONTEXT)
    assert record.timestamp == datetime(2026, 11, 24, 11, 45, 2, tzinfo=UTC)
    assert record.timestamp.utcoffset() == timedelta(hours=-3, minutes=-30)


def test_offset_outside_the_quarter_hours_still_parses() -> None:
    record = NginxAccessParser().parse(COMBINED.replace("+0700", "+0013"), CONTEXT)
    assert record.timestamp.utcoffset() == timedelta(minutes=13)


@pytest.mark.parametrize(
    ("time_text", "reason"),
    [
        ("29/Feb/2026:00:00:00 +0700", "bad timestamp '29/Feb/2026:00:00:00 +0700'"),
        ("24/nov/2026:08:15:02 +0700", "unknown month"),
        ("24/Nov/2026:24:00:00 +0700", "bad timestamp"),
        ("24/Nov/2026:08:15:02 +2500", "offset out of range"),
        ("24/Nov/2026:08:15:02", "bad timestamp '24/Nov/2026:08:15:02'"),
    ],
)
def test_bad_times_are_named(time_text: str, reason: str) -> None:
    line = COMBINED.replace("24/Nov/2026:08:15:02 +0700", time_text)
    with pytest.raises(ParseError) as raised:
        NginxAccessParser().parse(line, CONTEXT)
    assert reason in str(raised.value)


def test_common_format_with_dash_bytes() -> None:
    fields = ApacheAccessParser().parse(COMMON, CONTEXT).fields
    assert fields["user.name"] == "alice"
    assert fields["http.response.status_code"] == 302
    assert "http.response.body.bytes" not in fields
    assert "http.request.referrer" not in fields
    assert "user_agent.original" not in fields


def test_question_mark_without_query_gives_empty_query() -> None:
    line = COMBINED.replace("/dvc/thu-tuc?id=12", "/dvc/?")
    fields = NginxAccessParser().parse(line, CONTEXT).fields
    assert (fields["url.path"], fields["url.query"]) == ("/dvc/", "")


def test_no_question_mark_means_no_query() -> None:
    fields = NginxAccessParser().parse(COMBINED.replace("?id=12", ""), CONTEXT).fields
    assert "url.query" not in fields


@pytest.mark.parametrize(
    "request_text",
    ["\\x16\\x03\\x01\\x00\\xA5\\x01", "GET /", "GET / FTP/1.0", "G@T / HTTP/1.1", "GET  HTTP/1.1"],
)
def test_malformed_request_is_tagged_without_url_fields(request_text: str) -> None:
    line = COMBINED.replace("GET /dvc/thu-tuc?id=12 HTTP/1.1", request_text)
    fields = NginxAccessParser().parse(line, CONTEXT).fields
    assert fields["tags"] == ("malformed_request",)
    assert not {"url.original", "url.path", "http.request.method", "http.version"} & set(fields)


def test_target_with_spaces_is_kept_whole() -> None:
    line = COMBINED.replace("/dvc/thu-tuc?id=12", "/dvc/thu-tuc?id=1 UNION SELECT 1")
    fields = NginxAccessParser().parse(line, CONTEXT).fields
    assert fields["url.query"] == "id=1 UNION SELECT 1"
    assert fields["http.version"] == "1.1"


def test_invalid_utf8_escapes_stay_visible() -> None:
    line = COMBINED.replace("/dvc/thu-tuc?id=12", "/a\\xFF\\xC3\\xA1")
    fields = NginxAccessParser().parse(line, CONTEXT).fields
    assert fields["url.path"] == "/a\\xffá"


def test_apache_c_escapes_in_agent() -> None:
    line = COMBINED.replace("Mozilla/5.0", "a\\tb\\nc\\\\d")
    fields = ApacheAccessParser().parse(line, CONTEXT).fields
    assert fields["user_agent.original"] == "a\tb\nc\\d"


def test_extra_fields_after_the_agent_are_ignored() -> None:
    fields = NginxAccessParser().parse(COMBINED + ' "10.1.1.1" 0.012', CONTEXT).fields
    assert fields["user_agent.original"] == "Mozilla/5.0"


def test_status_below_100_has_unknown_outcome() -> None:
    fields = NginxAccessParser().parse(COMBINED.replace(" 200 ", " 000 "), CONTEXT).fields
    assert fields["event.outcome"] == "unknown"


def test_nginx_recognizes_only_combined_lines_with_a_byte_count() -> None:
    nginx, apache = NginxAccessParser(), ApacheAccessParser()
    assert nginx.recognizes(COMBINED)
    assert not nginx.recognizes(COMMON)
    assert not nginx.recognizes(COMBINED.replace(" 5123 ", " - "))
    assert apache.recognizes(COMBINED)
    assert apache.recognizes(COMMON)
    assert not apache.recognizes("Nov 24 08:15:02 web01 sshd[1]: hello")


# --- robustness --------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "203.113.131.5",
        "::1",
        " ",
        "-",
        "[",
        "]",
        '"',
        "\\",
        "\\x",
        "\\xE1",
        "\\\\",
        '\\"',
        "24/Nov/2026:08:15:02 +0700",
        "99/Nov/9999:99:99:99 +9999",
        "00/Jan/0000:00:00:00 -0000",
        "GET",
        "/",
        "?",
        "http://",
        "[::1",
        ":99999",
        "HTTP/1.1",
        "200",
        "5123",
        "9" * 30,
        "\n",
        "\x00",
        "ủ",
    ]
)
LINES = st.one_of(
    st.text(),
    st.lists(FRAGMENTS | st.text(max_size=5), max_size=40).map("".join),
    st.tuples(st.text(max_size=20), st.integers(1, 5000)).map(lambda pair: pair[0] * pair[1]),
)


@settings(max_examples=500, deadline=None)
@given(line=LINES)
def test_any_text_raises_only_parse_error(line: str) -> None:
    for parser in PARSERS:
        assert isinstance(parser.recognizes(line), bool)
        assert failure_reason(parser, line) != ""


def failure_reason(parser: LineParser, line: str) -> str | None:
    """The ParseError's reason, or None when the line parses; any other error propagates."""
    try:
        parser.parse(line, CONTEXT)
    except ParseError as error:
        return str(error)
    return None


# --- round trip --------------------------------------------------------------------------


def _nginx_escape(text: str) -> str:
    """How nginx's default log escaping writes a value."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in (0x22, 0x5C) or byte < 0x20 or byte > 0x7E:
            out.append(f"\\x{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


def _apache_escape(text: str) -> str:
    """How Apache's ap_escape_logitem writes a value."""
    named = {0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x09: "\\t", 0x0D: "\\r"}
    out = []
    for byte in text.encode("utf-8"):
        if byte in named:
            out.append(named[byte])
        elif byte < 0x20 or byte > 0x7E:
            out.append(f"\\x{byte:02x}")
        else:
            out.append(chr(byte))
    return "".join(out)


IPS = st.ip_addresses().filter(
    lambda ip: not (isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None)
)
USERS = st.none() | st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789._@", min_size=1, max_size=16
)
METHODS = st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PROPFIND"])
URL_TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="?"), max_size=40
)
VALUES = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60).filter(
    lambda text: text != "-"
)
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
TIMES = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda moment: moment.replace(microsecond=0)
    ),
    OFFSETS,
)


@settings(max_examples=300, deadline=None)
@given(
    ip=IPS,
    user=USERS,
    when=TIMES,
    method=METHODS,
    path=URL_TEXT,
    query=st.none() | URL_TEXT,
    status=st.integers(100, 599),
    size=st.none() | st.integers(0, 10**15),
    referrer=st.none() | VALUES,
    agent=st.none() | VALUES,
    common=st.booleans(),
    server=st.sampled_from(["nginx", "apache"]),
)
def test_generated_line_round_trips(
    ip: object,
    user: str | None,
    when: datetime,
    method: str,
    path: str,
    query: str | None,
    status: int,
    size: int | None,
    referrer: str | None,
    agent: str | None,
    common: bool,
    server: str,
) -> None:
    escape = _nginx_escape if server == "nginx" else _apache_escape
    target = "/" + path + ("" if query is None else "?" + query)
    offset = when.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    time_text = (
        f"{when.day:02d}/{MONTHS[when.month - 1]}/{when.year:04d}:"
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} "
        f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    )
    line = (
        f"{ip} - {user or '-'} [{time_text}] "
        f'"{method} {escape(target)} HTTP/1.1" {status} {"-" if size is None else size}'
    )
    if not common:
        line += f' "{"-" if referrer is None else escape(referrer)}"'
        line += f' "{"-" if agent is None else escape(agent)}"'

    parser = NginxAccessParser() if server == "nginx" else ApacheAccessParser()
    record = parser.parse(line, CONTEXT)

    expected: dict[str, FieldValue] = {
        "event.kind": "event",
        "event.category": ("web",),
        "event.type": ("access",),
        "event.module": server,
        "event.dataset": f"{server}.access",
        "event.outcome": "success" if status < 400 else "failure",
        "source.address": str(ip),
        "source.ip": str(ip),
        "http.request.method": method,
        "http.version": "1.1",
        "url.original": target,
        "url.path": "/" + path,
        "http.response.status_code": status,
    }
    if user is not None:
        expected["user.name"] = user
    if query is not None:
        expected["url.query"] = query
    if size is not None:
        expected["http.response.body.bytes"] = size
    if not common and referrer is not None:
        expected["http.request.referrer"] = referrer
    if not common and agent is not None:
        expected["user_agent.original"] = agent
    assert dict(record.fields) == expected
    assert record.timestamp == when
    assert record.timestamp.utcoffset() == when.utcoffset()
