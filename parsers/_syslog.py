"""Syslog messages: RFC 5424 and RFC 3164 (BSD), as they arrive on the wire or in files.

RFC 5424 (`<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`):

    <165>1 2026-11-24T08:15:02.123+07:00 fw01 pfsense 4242 ID47 [origin@32473 ip="10.0.0.1"] hi

RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`), the `<PRI>` optional so that
files of syslog lines (/var/log/syslog) read too; the timestamp may also be RFC 3339, as
rsyslog writes it with high-precision timestamps:

    <38>Nov 24 08:15:02 web01 sshd[1234]: Failed password for root from 203.0.113.7 ...

Year-less timestamps are dated by the year rule of parsers/_syslog_time.py; a 5424 `-`
timestamp, and a 3164 message with no timestamp at all (RFC 3164 section 4.3.3: the
whole text is then the message), take `context.reference_time`, the time of receipt.
A 3164 hostname is absent when the word after the timestamp is already the tag
("alice:", "cron[42]:").

Fields (ECS names):

| value                           | field                                               |
|---------------------------------|-----------------------------------------------------|
| PRI                             | log.syslog.priority, log.syslog.facility.code and   |
|                                 | .name, log.syslog.severity.code and .name (RFC 5424 |
|                                 | keywords: kern ... local7, emerg ... debug)         |
| VERSION (5424)                  | log.syslog.version ("1")                            |
| HOSTNAME                        | log.syslog.hostname and host.name                   |
| APP-NAME, 3164 TAG              | log.syslog.appname and process.name                 |
| PROCID, 3164 [PID]              | log.syslog.procid; process.pid too when it is a     |
|                                 | number                                              |
| MSGID (5424)                    | log.syslog.msgid                                    |
| SD element ID, param NAME=VALUE | log.syslog.structured_data.ID.NAME (a list when the |
|                                 | element repeats the name); an element without       |
|                                 | params stays only in event.original                 |
| MSG                             | message (a leading UTF-8 BOM removed)               |

Every message is event.kind=event, event.module=system. Messages of the auth and
authpriv facilities, of sshd, sudo and su, and PAM module messages are read by the
auth-log parser as well (parsers/_auth_log.py): event.dataset=system.auth with its
event.action, user.*, source.* fields, so the Linux auth rules fire on forwarded auth
logs; every other message is event.dataset=system.syslog.
"""

import re
from datetime import UTC, datetime

from canhgac.events import FieldValue
from canhgac.parsers._auth_log import AuthLogParser
from canhgac.parsers._base import ParseContext, ParsedRecord, ParseError
from canhgac.parsers._syslog_time import parse_classic_timestamp, parse_rfc3339_timestamp

FACILITY_NAMES = (
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
)
"""Facility keywords by code (RFC 5424 table 1, as rsyslog names them)."""

SEVERITY_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
"""Severity keywords by code (RFC 5424 table 2)."""

_PRI = re.compile(r"<(\d{1,3})>", re.ASCII)
_CLASSIC = re.compile(r"([A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2})(?:\.\d{1,6})?(?: |$)", re.ASCII)
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?)(?: |$)", re.ASCII
)
_TAG = re.compile(r"([^\s\[\]:]{1,48})(?:\[([^\]\s]{1,128})\])?:(?: |$)", re.ASCII)
_HOST = re.compile(r"(\S{1,255})(?: |$)")
_PID = re.compile(r"\d{1,10}", re.ASCII)

_AUTH_FACILITIES = frozenset({4, 10})
_AUTH_PROGRAMS = frozenset({"sshd", "sshd-session", "sshd-auth", "sudo", "su"})
# What `_auth_log` needs to read a program name and pid out of a line.
_AUTH_PROGRAM = re.compile(r"[^\s\[\]:]+", re.ASCII)
# What the auth-log parser reads from the line built for it, which this parser already has.
_READ_HERE = frozenset({"host.name", "process.name", "process.pid", "message"})

_NIL = "-"
_BOM = "\ufeff"
_HEADER_LIMITS = (("HOSTNAME", 255), ("APP-NAME", 48), ("PROCID", 128), ("MSGID", 32))
_SD_NAME_LIMIT = 32
_SD_NAME_EXCLUDED = frozenset('= ]"')


class SyslogParser:
    """RFC 5424 and RFC 3164 syslog messages, one per line (without the framing)."""

    __slots__ = ("_auth",)
    name = "syslog"

    def __init__(self) -> None:
        self._auth = AuthLogParser()

    def parse(self, line: str, context: ParseContext) -> ParsedRecord:
        """Parse one message; see the module docstring for the fields."""
        fields: dict[str, FieldValue] = {"event.kind": "event", "event.module": "system"}
        pri = _PRI.match(line)
        if pri is None:
            facility: int | None = None
            rest = line
        else:
            priority = int(pri.group(1))
            if priority > 191:
                raise ParseError(f"syslog priority {priority} is out of range (0 to 191)")
            facility = priority >> 3
            fields["log.syslog.priority"] = priority
            fields["log.syslog.facility.code"] = facility
            fields["log.syslog.facility.name"] = FACILITY_NAMES[facility]
            fields["log.syslog.severity.code"] = priority & 7
            fields["log.syslog.severity.name"] = SEVERITY_NAMES[priority & 7]
            rest = line[pri.end() :]
        if pri is not None and rest.startswith("1 "):
            timestamp = _parse_5424(rest[2:], context, fields)
        else:
            timestamp = _parse_3164(rest, context, fields, has_pri=pri is not None)
        self._classify(facility, timestamp, fields)
        return ParsedRecord(timestamp=timestamp, fields=fields)

    def recognizes(self, line: str) -> bool:
        """Whether the line starts with a syslog `<PRI>` (plain auth.log lines are `auth`)."""
        pri = _PRI.match(line)
        return pri is not None and int(pri.group(1)) <= 191

    def _classify(
        self, facility: int | None, timestamp: datetime, fields: dict[str, FieldValue]
    ) -> None:
        program = fields.get("process.name")
        message = fields.get("message")
        auth = (
            facility in _AUTH_FACILITIES
            or program in _AUTH_PROGRAMS
            or (isinstance(message, str) and message.startswith("pam_"))
        )
        fields["event.dataset"] = "system.auth" if auth else "system.syslog"
        if not auth or not isinstance(program, str) or _AUTH_PROGRAM.fullmatch(program) is None:
            return
        pid = fields.get("process.pid")
        line = "{} {} {}{}: {}".format(
            timestamp.astimezone(UTC).isoformat(),
            fields.get("host.name", _NIL),
            program,
            f"[{pid}]" if pid is not None else "",
            message or "",
        )
        try:
            record = self._auth.parse(line, ParseContext(timestamp, UTC))
        except ParseError:
            # Only the auth fields are lost: the message itself is already read.
            return
        for name, value in record.fields.items():
            if name not in _READ_HERE:
                fields.setdefault(name, value)


def _parse_5424(text: str, context: ParseContext, fields: dict[str, FieldValue]) -> datetime:
    """`text` follows "<PRI>1 "."""
    parts = text.split(" ", 5)
    if len(parts) < 6:
        raise ParseError(
            "RFC 5424 header is incomplete: expected TIMESTAMP HOSTNAME APP-NAME PROCID "
            "MSGID STRUCTURED-DATA after the version"
        )
    stamp, *header, rest = parts
    for (what, limit), value in zip(_HEADER_LIMITS, header, strict=True):
        if not value or len(value) > limit or not _printable(value):
            raise ParseError(f"RFC 5424 {what} must be 1 to {limit} printable ASCII characters")
    hostname, appname, procid, msgid = header
    timestamp = context.reference_time if stamp == _NIL else parse_rfc3339_timestamp(stamp, context)
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=context.timezone)
    fields["log.syslog.version"] = "1"
    if hostname != _NIL:
        fields["log.syslog.hostname"] = hostname
        fields["host.name"] = hostname
    if appname != _NIL:
        fields["log.syslog.appname"] = appname
        fields["process.name"] = appname
    if procid != _NIL:
        _set_procid(procid, fields)
    if msgid != _NIL:
        fields["log.syslog.msgid"] = msgid
    if rest.startswith(_NIL):
        end = 1
    elif rest.startswith("["):
        end = _parse_structured_data(rest, fields)
    else:
        raise ParseError("RFC 5424 STRUCTURED-DATA must be '-' or start with '['")
    if end < len(rest):
        if rest[end] != " ":
            raise ParseError(f"RFC 5424 STRUCTURED-DATA is followed by {rest[end]!r}, not a space")
        message = rest[end + 1 :]
        fields["message"] = message[1:] if message.startswith(_BOM) else message
    return timestamp


def _parse_structured_data(text: str, fields: dict[str, FieldValue]) -> int:
    """Read SD-ELEMENTs from the start of `text` into fields; returns where they end."""
    length = len(text)
    at = 0
    while at < length and text[at] == "[":
        at, sd_id = _sd_name(text, at + 1, " ]", "SD-ID")
        prefix = f"log.syslog.structured_data.{sd_id}."
        while True:
            if at >= length:
                raise ParseError(f"structured data element [{sd_id} is not closed with ']'")
            if text[at] == "]":
                at += 1
                break
            if text[at] != " ":
                raise ParseError(f"structured data element [{sd_id} has {text[at]!r} after a param")
            at, param = _sd_name(text, at + 1, "=", "PARAM-NAME")
            if not text.startswith('="', at):
                raise ParseError(f"structured data param {sd_id}.{param} has no '=\"' after it")
            at, value = _sd_value(text, at + 2, f"{sd_id}.{param}")
            name = prefix + param
            before = fields.get(name)
            if before is None:
                fields[name] = value
            elif isinstance(before, tuple):
                fields[name] = (*before, value)
            else:
                fields[name] = (before, value)
    return at


def _sd_name(text: str, at: int, ends: str, what: str) -> tuple[int, str]:
    end = at
    length = len(text)
    while end < length and text[end] not in ends:
        char = text[end]
        if char in _SD_NAME_EXCLUDED or not "!" <= char <= "~":
            raise ParseError(f"structured data {what} has the character {char!r}")
        end += 1
    if end >= length:
        raise ParseError(f"structured data {what} at character {at} is not terminated")
    if not 1 <= end - at <= _SD_NAME_LIMIT:
        raise ParseError(f"structured data {what} must be 1 to {_SD_NAME_LIMIT} characters")
    return end, text[at:end]


def _sd_value(text: str, at: int, where: str) -> tuple[int, str]:
    """Read a PARAM-VALUE up to its closing quote; `\\"`, `\\\\` and `\\]` are escapes."""
    chars: list[str] = []
    length = len(text)
    while at < length:
        char = text[at]
        if char == '"':
            return at + 1, "".join(chars)
        if char == "\\" and at + 1 < length and text[at + 1] in '"\\]':
            chars.append(text[at + 1])
            at += 2
            continue
        chars.append(char)
        at += 1
    raise ParseError(f"structured data param {where} has no closing quote")


def _parse_3164(
    text: str, context: ParseContext, fields: dict[str, FieldValue], *, has_pri: bool
) -> datetime:
    classic = _CLASSIC.match(text)
    rfc3339 = None if classic is not None else _RFC3339.match(text)
    if classic is not None:
        timestamp = parse_classic_timestamp(classic.group(1), context)
        rest = text[classic.end() :]
    elif rfc3339 is not None:
        timestamp = parse_rfc3339_timestamp(rfc3339.group(1), context)
        rest = text[rfc3339.end() :]
    elif has_pri:
        fields["message"] = text
        return context.reference_time
    else:
        raise ParseError(
            "not a syslog line: no <PRI> and no timestamp at the start "
            "(expected 'Nov 24 08:15:02' or RFC 3339)"
        )
    tag = _TAG.match(rest)
    if tag is None:
        host = _HOST.match(rest)
        if host is not None:
            hostname = host.group(1)
            fields["log.syslog.hostname"] = hostname
            fields["host.name"] = hostname
            rest = rest[host.end() :]
            tag = _TAG.match(rest)
    if tag is not None:
        program, procid = tag.groups()
        fields["log.syslog.appname"] = program
        fields["process.name"] = program
        if procid is not None:
            _set_procid(procid, fields)
        rest = rest[tag.end() :]
    fields["message"] = rest
    return timestamp


def _set_procid(procid: str, fields: dict[str, FieldValue]) -> None:
    fields["log.syslog.procid"] = procid
    if _PID.fullmatch(procid) is not None:
        fields["process.pid"] = int(procid)


def _printable(value: str) -> bool:
    return value.isascii() and value.isprintable() and " " not in value
