"""auth.log parsing: examples, robustness and round trips."""

from datetime import datetime, timedelta, timezone
from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.events import FieldValue
from canhgac.parsers import AuthLogParser, ParseContext, ParseError

ICT = timezone(timedelta(hours=7))
REFERENCE = datetime(2026, 11, 24, 12, 0, tzinfo=ICT)
CONTEXT = ParseContext(reference_time=REFERENCE, timezone=ICT)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PARSER = AuthLogParser()


def parse(message: str, program: str = "sshd[1234]") -> dict[str, FieldValue]:
    return dict(PARSER.parse(f"Nov 24 08:15:02 web01 {program}: {message}", CONTEXT).fields)


# --- examples ----------------------------------------------------------------------------


def test_name() -> None:
    assert PARSER.name == "auth"


def test_unknown_program_is_a_plain_event() -> None:
    fields = parse("Started Session 5 of User root.", program="systemd[1]")
    assert fields == {
        "event.kind": "event",
        "event.module": "system",
        "event.dataset": "system.auth",
        "host.name": "web01",
        "process.name": "systemd",
        "process.pid": 1,
        "message": "Started Session 5 of User root.",
    }


def test_unknown_sshd_message_has_no_action() -> None:
    fields = parse("Server listening on 0.0.0.0 port 22.")
    assert "event.action" not in fields
    assert fields["message"] == "Server listening on 0.0.0.0 port 22."


def test_program_without_pid_and_empty_message() -> None:
    fields = dict(PARSER.parse("Nov 24 08:15:02 web01 kernel:", CONTEXT).fields)
    assert fields["process.name"] == "kernel"
    assert "process.pid" not in fields
    assert fields["message"] == ""


def test_failed_login_with_empty_user_name() -> None:
    fields = parse("Failed none for invalid user  from 203.0.113.7 port 4242 ssh2")
    assert fields["event.action"] == "ssh_login"
    assert "user.name" not in fields
    assert fields["source.port"] == 4242


def test_user_name_with_spaces_from_an_attacker() -> None:
    fields = parse("Invalid user admin test from 203.0.113.7 port 4242")
    assert fields["user.name"] == "admin test"


def test_ssh_client_given_as_host_name() -> None:
    fields = parse("Failed password for root from scanner.example.net port 22 ssh2")
    assert fields["source.domain"] == "scanner.example.net"
    assert "source.ip" not in fields


def test_sudo_command_containing_separator() -> None:
    fields = parse(
        "alice : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/bin/sh -c echo a ; echo b",
        program="sudo",
    )
    assert fields["process.command_line"] == "/bin/sh -c echo a ; echo b"


def test_sudo_without_tty() -> None:
    fields = parse("root : PWD=/ ; USER=postgres ; COMMAND=/usr/bin/psql", program="sudo")
    assert fields["user.effective.name"] == "postgres"
    assert fields["event.outcome"] == "success"


def test_sudo_message_that_is_not_a_command() -> None:
    fields = parse("unable to resolve host web01: Name or service not known", program="sudo")
    assert "event.action" not in fields


def test_pam_message_from_any_program() -> None:
    fields = parse(
        "pam_sss(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
        "rhost=2001:db8::9 user=canbo",
        program="sshd[7]",
    )
    assert fields["event.action"] == "pam_authentication_failure"
    assert (fields["user.name"], fields["source.ip"]) == ("canbo", "2001:db8::9")


def test_trailing_carriage_return_is_trimmed_from_message() -> None:
    fields = parse("Accepted password for alice from 10.0.0.5 port 22 ssh2\r")
    assert fields["message"] == "Accepted password for alice from 10.0.0.5 port 22 ssh2"
    assert fields["event.outcome"] == "success"


def test_recognizes_syslog_lines_only() -> None:
    assert PARSER.recognizes("Nov 24 08:15:02 web01 CRON[1]: x")
    assert PARSER.recognizes("2026-11-24T08:15:02+07:00 web01 CRON[1]: x")
    assert not PARSER.recognizes('1.2.3.4 - - [24/Nov/2026:08:15:02 +0700] "GET / HTTP/1.1" 200 1')


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "no syslog timestamp at the start"),
        ("Nov 24 08:15:02", "no syslog timestamp at the start"),
        ("Nov 24 08:15:02 ", "no host name after the timestamp"),
        ("Nov 24 08:15:02 web01 sshd[99999999999]: x", "no 'program[pid]:' after the host name"),
        ("Feb 30 08:15:02 web01 sshd: x", "bad timestamp 'Feb 30 08:15:02'"),
    ],
)
def test_errors_say_what_is_wrong(line: str, reason: str) -> None:
    with pytest.raises(ParseError) as raised:
        PARSER.parse(line, CONTEXT)
    assert reason in str(raised.value)


# --- robustness --------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "Nov 24 08:15:02",
        "Feb 29 08:15:02",
        "Xyz 99 99:99:99",
        "2026-11-24T08:15:02.123456789+07:00",
        "9999-99-99T99:99:99Z",
        "0000-01-01T00:00:00-23:59",
        " ",
        "  ",
        "web01",
        "sshd",
        "sudo",
        "su",
        "[",
        "]",
        "1234",
        "9" * 30,
        ":",
        ": ",
        "Failed password for ",
        "Accepted publickey for ",
        "invalid user ",
        "Invalid user ",
        "Connection closed by ",
        "Disconnected from ",
        "authenticating user ",
        "error: maximum authentication attempts exceeded for ",
        "PAM: Authentication failure for ",
        " from ",
        "203.0.113.7",
        "::ffff:1.2.3.4",
        "[::1",
        " port ",
        "99999",
        " ssh2",
        "pam_unix(sshd:auth): ",
        "authentication failure; ",
        "rhost=",
        "ruser=",
        "user=",
        "session opened for user ",
        "session closed for user ",
        "(uid=0)",
        " by ",
        " : ",
        " ; ",
        "USER=",
        "COMMAND=",
        "FAILED SU ",
        "(to root) ",
        " on ",
        "+ ",
        "- ",
        "message repeated 3 times: [ ",
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


@settings(max_examples=1000, deadline=None)
@given(line=LINES)
def test_any_text_raises_only_parse_error(line: str) -> None:
    assert isinstance(PARSER.recognizes(line), bool)
    assert failure_reason(line) != ""


def failure_reason(line: str) -> str | None:
    """The ParseError's reason, or None when the line parses; any other error propagates."""
    try:
        PARSER.parse(line, CONTEXT)
    except ParseError as error:
        return str(error)
    return None


@settings(max_examples=300, deadline=None)
@given(line=LINES)
def test_any_message_after_a_valid_header_parses(line: str) -> None:
    # Whatever a program writes, a well-formed header makes an event.
    for program in ("sshd[1]", "sudo", "su[2]", "CRON[3]"):
        record = PARSER.parse(f"Nov 24 08:15:02 web01 {program}: {line}", CONTEXT)
        assert record.fields["message"] == line.strip()


# --- round trips -------------------------------------------------------------------------

IPS = st.ip_addresses().filter(
    lambda ip: not (isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None)
)
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=16)
HOSTS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=20)
# Year-less lines are dated within the year before the reference time (the year rule).
RECENT = st.datetimes(
    min_value=datetime(2025, 11, 25, 12, 0, 1), max_value=datetime(2026, 11, 25, 12, 0)
).map(lambda moment: moment.replace(tzinfo=ICT))


def header(when: datetime, style: str, host: str, program: str) -> str:
    if style == "classic":
        stamp = f"{MONTHS[when.month - 1]} {when.day:2d} {when:%H:%M:%S}"
    else:
        stamp = when.isoformat()
    return f"{stamp} {host} {program}:"


@settings(max_examples=300, deadline=None)
@given(
    when=RECENT,
    style=st.sampled_from(["classic", "rfc3339"]),
    host=HOSTS,
    pid=st.integers(0, 4_194_304),
    accepted=st.booleans(),
    method=st.sampled_from(["password", "publickey", "keyboard-interactive/pam", "none"]),
    invalid=st.booleans(),
    user=NAMES,
    ip=IPS,
    port=st.integers(0, 65535),
)
def test_ssh_login_round_trips(
    when: datetime,
    style: str,
    host: str,
    pid: int,
    accepted: bool,
    method: str,
    invalid: bool,
    user: str,
    ip: object,
    port: int,
) -> None:
    if style == "classic":
        when = when.replace(microsecond=0)
    message = (
        f"{'Accepted' if accepted else 'Failed'} {method} for "
        f"{'invalid user ' if invalid else ''}{user} from {ip} port {port} ssh2"
    )
    record = PARSER.parse(f"{header(when, style, host, f'sshd[{pid}]')} {message}", CONTEXT)
    assert record.timestamp == when
    assert dict(record.fields) == {
        "event.kind": "event",
        "event.module": "system",
        "event.dataset": "system.auth",
        "event.action": "ssh_login",
        "event.category": ("authentication",),
        "event.type": ("start",),
        "event.outcome": "success" if accepted else "failure",
        "host.name": host,
        "process.name": "sshd",
        "process.pid": pid,
        "message": message,
        "user.name": user,
        "source.address": str(ip),
        "source.ip": str(ip),
        "source.port": port,
        "labels.ssh_method": method,
    }


@settings(max_examples=300, deadline=None)
@given(
    when=RECENT,
    style=st.sampled_from(["classic", "rfc3339"]),
    user=NAMES,
    target=NAMES,
    directory=st.text(alphabet="/abcdefghijklmnopqrstuvwxyz0123456789._- ", min_size=1),
    command=st.text(
        alphabet=st.characters(exclude_categories=("Cs", "Zs", "Cc")), min_size=1
    ).filter(lambda text: text == text.strip()),
    reason=st.sampled_from([None, "3 incorrect password attempts", "user NOT in sudoers"]),
)
def test_sudo_command_round_trips(
    when: datetime,
    style: str,
    user: str,
    target: str,
    directory: str,
    command: str,
    reason: str | None,
) -> None:
    if style == "classic":
        when = when.replace(microsecond=0)
    message = f"{user} : {reason + ' ; ' if reason else ''}TTY=pts/0 ; PWD={directory} ; "
    message += f"USER={target} ; COMMAND={command}"
    record = PARSER.parse(f"{header(when, style, 'web01', 'sudo')}    {message}", CONTEXT)
    assert record.timestamp == when
    expected: dict[str, FieldValue] = {
        "event.kind": "event",
        "event.module": "system",
        "event.dataset": "system.auth",
        "event.action": "sudo_command",
        "event.category": ("process",),
        "event.type": ("start",),
        "event.outcome": "failure" if reason else "success",
        "host.name": "web01",
        "process.name": "sudo",
        "message": message,
        "user.name": user,
        "user.effective.name": target,
        "process.working_directory": directory,
        "process.command_line": command,
    }
    if reason:
        expected["event.reason"] = reason
    assert dict(record.fields) == expected
