"""The syslog parser: properties over generated messages (the golden files hold the cases)."""

import contextlib
import json
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canhgac.events import FieldValue
from canhgac.parsers import (
    FACILITY_NAMES,
    SEVERITY_NAMES,
    ParseContext,
    ParseError,
    SyslogParser,
    get_parser,
)
from tests.conftest import run_canhgac

ICT = timezone(timedelta(hours=7))
CONTEXT = ParseContext(reference_time=datetime(2026, 11, 24, 12, 0, tzinfo=ICT), timezone=ICT)
PARSER = SyslogParser()

PRINTABLE = st.characters(min_codepoint=33, max_codepoint=126)
SD_NAME = st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='= ]"')


def token(max_size: int) -> st.SearchStrategy[str]:
    """A 5424 header field: printable ASCII, never the NILVALUE alone."""
    return st.text(PRINTABLE, min_size=1, max_size=max_size).filter(lambda t: t != "-")


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


structured_data = st.dictionaries(
    st.text(SD_NAME, min_size=1, max_size=32),
    st.dictionaries(st.text(SD_NAME, min_size=1, max_size=32), st.text(max_size=20), max_size=3),
    max_size=3,
)


@st.composite
def rfc5424(draw: st.DrawFn) -> tuple[str, dict[str, FieldValue], datetime]:
    priority = draw(st.integers(0, 191))
    stamp = draw(
        st.datetimes(
            min_value=datetime(1990, 1, 1),
            max_value=datetime(2090, 1, 1),
            timezones=st.sampled_from([UTC, ICT, timezone(timedelta(hours=-5, minutes=-30))]),
        )
    )
    hostname = draw(st.none() | token(255))
    appname = draw(st.none() | token(48))
    procid = draw(st.none() | token(128))
    msgid = draw(st.none() | token(32))
    sd = draw(structured_data)
    message = draw(st.none() | st.text(max_size=60).filter(lambda m: not m.startswith("\ufeff")))
    sd_text = "".join(
        "[" + sd_id + "".join(f' {k}="{escape(v)}"' for k, v in params.items()) + "]"
        for sd_id, params in sd.items()
    )
    line = " ".join(
        (
            f"<{priority}>1",
            stamp.isoformat(),
            hostname or "-",
            appname or "-",
            procid or "-",
            msgid or "-",
            sd_text or "-",
        )
    )
    if message is not None:
        line += " " + message
    expected: dict[str, FieldValue] = {
        "log.syslog.priority": priority,
        "log.syslog.facility.code": priority // 8,
        "log.syslog.facility.name": FACILITY_NAMES[priority // 8],
        "log.syslog.severity.code": priority % 8,
        "log.syslog.severity.name": SEVERITY_NAMES[priority % 8],
        "log.syslog.version": "1",
    }
    if hostname is not None:
        expected["log.syslog.hostname"] = expected["host.name"] = hostname
    if appname is not None:
        expected["log.syslog.appname"] = expected["process.name"] = appname
    if procid is not None:
        expected["log.syslog.procid"] = procid
    if msgid is not None:
        expected["log.syslog.msgid"] = msgid
    for sd_id, params in sd.items():
        for name, value in params.items():
            expected[f"log.syslog.structured_data.{sd_id}.{name}"] = value
    if message is not None:
        expected["message"] = message
    return line, expected, stamp


@given(rfc5424())
def test_generated_5424_messages_read_back(
    case: tuple[str, dict[str, FieldValue], datetime],
) -> None:
    line, expected, stamp = case
    record = PARSER.parse(line, CONTEXT)
    assert record.timestamp == stamp
    got = {name: record.fields.get(name) for name in expected}
    assert got == expected
    if "message" not in expected:
        assert "message" not in record.fields


@given(st.text(max_size=200))
def test_any_text_parses_or_raises_parse_error(line: str) -> None:
    try:
        record = PARSER.parse(line, CONTEXT)
    except ParseError:
        return
    assert record.timestamp.tzinfo is not None


@given(
    st.sampled_from(["<13>1 ", "<13>", "<191>1 2026-11-24T08:15:02Z ", "Nov 24 08:15:02 "]),
    st.text(max_size=120),
)
def test_text_after_a_syslog_start_parses_or_raises_parse_error(start: str, rest: str) -> None:
    with contextlib.suppress(ParseError):
        PARSER.parse(start + rest, CONTEXT)


@given(
    st.integers(0, 191),
    st.sampled_from(["Jan", "Feb", "Mar", "Jun", "Nov", "Dec"]),
    st.integers(1, 28),
    st.times(),
    st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_/.-]{0,20}", fullmatch=True),
    st.none() | st.integers(1, 99999),
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=60),
)
def test_generated_3164_messages_read_back(
    priority: int,
    month: str,
    day: int,
    clock: time,
    host: str,
    tag: str,
    pid: int | None,
    message: str,
) -> None:
    stamp = f"{month} {day:2d} {clock.strftime('%H:%M:%S')}"
    line = f"<{priority}>{stamp} {host} {tag}{f'[{pid}]' if pid else ''}: {message}"
    fields = PARSER.parse(line, CONTEXT).fields
    assert fields["log.syslog.priority"] == priority
    assert fields["host.name"] == host
    assert fields["process.name"] == tag
    assert fields.get("process.pid") == pid
    assert fields["message"] == message


def test_registered_as_syslog() -> None:
    parser = get_parser("syslog")
    assert isinstance(parser, SyslogParser)
    assert parser.recognizes("<13>Nov 24 08:15:02 web01 app: x")
    assert not parser.recognizes("Nov 24 08:15:02 web01 app: x")
    assert not parser.recognizes("<192>x")


@pytest.mark.parametrize(
    ("line", "facility", "severity"),
    [("<0>x", "kern", "emerg"), ("<191>x", "local7", "debug"), ("<85>x", "authpriv", "notice")],
)
def test_priority_names(line: str, facility: str, severity: str) -> None:
    fields = PARSER.parse(line, CONTEXT).fields
    assert fields["log.syslog.facility.name"] == facility
    assert fields["log.syslog.severity.name"] == severity


def test_auth_program_on_another_facility_still_gets_auth_fields() -> None:
    line = "<13>Nov 24 08:15:02 web01 sshd[7]: Invalid user bob from 198.51.100.9 port 4000"
    fields = PARSER.parse(line, CONTEXT).fields
    assert fields["event.dataset"] == "system.auth"
    assert fields["event.action"] == "ssh_invalid_user"
    assert fields["user.name"] == "bob"
    assert fields["source.ip"] == "198.51.100.9"
    assert fields["log.syslog.facility.name"] == "user"


@pytest.mark.integration
@pytest.mark.slow
def test_canhgac_parse_reads_files_of_syslog_lines() -> None:
    golden = Path(__file__).parent / "golden" / "syslog_rfc3164.log"
    result = run_canhgac("parse", "--format", "syslog", str(golden))
    assert result.returncode == 0, result.stderr
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(documents) == 7
    assert documents[0]["event"]["action"] == "ssh_login"
    assert documents[0]["log"]["syslog"]["facility"]["name"] == "auth"
    assert documents[0]["log"]["file"]["path"] == str(golden)
