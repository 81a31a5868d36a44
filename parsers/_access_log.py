"""Web server access logs in the Common and Combined Log Formats (nginx and Apache).

    common:   client ident user [time] "request" status bytes
    combined: common + "referrer" "user agent"

Both parsers read both formats; nginx's default `combined` is Apache's. A combined line
may carry more fields after the user agent (nginx formats often append
`"$http_x_forwarded_for"`); they are ignored.

ECS fields:

| Log part            | ECS field                                                       |
|---------------------|-----------------------------------------------------------------|
| client              | source.address as logged; source.ip (canonical; IPv4-mapped      |
|                     | IPv6 becomes IPv4) or, for a host name, source.domain           |
| user (not "-")      | user.name                                                       |
| [time]              | the record's timestamp, with the logged offset                  |
| request             | http.request.method, url.original (target as sent), url.path,   |
|                     | url.query (after "?", may be ""), http.version ("1.1");         |
|                     | absolute-form targets also give url.scheme, url.domain, url.port |
| status              | http.response.status_code (int); event.outcome: success below   |
|                     | 400, failure from 400 (unknown below 100)                       |
| bytes (not "-")     | http.response.body.bytes (int)                                  |
| referrer (not "-")  | http.request.referrer                                           |
| agent (not "-")     | user_agent.original                                             |
| (always)            | event.kind=event, event.category=[web], event.type=[access],    |
|                     | event.module=nginx|apache, event.dataset=nginx.access|apache.access |

Escapes: both servers escape quoted values (nginx `\\x22`, Apache `\\"`, `\\\\` and
`\\xhh` for control and non-ASCII bytes). The parser undoes that escaping, and only that:
a run of `\\xhh` is read as UTF-8 (bytes that are not valid UTF-8 stay as `\\xhh` text),
so a Vietnamese path logged as `/th\\xE1\\xBB\\xA7-t\\xE1\\xBB\\xA5c` becomes `/thủ-tục`.
Percent-encoding is never decoded and paths are never normalized: url.original, url.path
and url.query hold `%2e%2e%2f` and `'%20OR%20'1'='1` as the client sent them, because
detection rules match the encoded forms. The raw line is the event's `event.original`.

Malformed requests: a request that is not `METHOD target HTTP/version` (TLS handshakes
sent to a plain-HTTP port, `\\x16\\x03\\x01...`, or other garbage, which nginx answers
with 400) still makes an event: no http.request.method, url.* or http.version, and
`tags=["malformed_request"]`. ECS has no field for an unparsed request line, and the
request is already in `event.original`. A request of `-` or `""` (the client sent
nothing) sets none of those fields and no tag. A target containing spaces is accepted
(nginx logs such requests, with status 400).

Detection (`recognizes`): Apache accepts both formats. nginx accepts only combined lines
whose byte count is a number, because nginx's `$body_bytes_sent` is never "-" and its
default format is combined; so a file with common-format lines or "-" byte counts is
detected as Apache, and a plain combined file as nginx.

Sigma's webserver taxonomy is served by ECS fields only (no cs-* fields): c-ip → source.ip,
cs-username → user.name, cs-method → http.request.method, cs-uri-stem → url.path,
cs-uri-query → url.query, cs-version → http.version, sc-status →
http.response.status_code, sc-bytes → http.response.body.bytes, cs-referer →
http.request.referrer, cs-user-agent → user_agent.original, cs-host → url.domain,
cs-uri → url.original.
"""

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import ClassVar
from urllib.parse import urlsplit

from canhgac.events import FieldValue
from canhgac.parsers._base import ParseContext, ParsedRecord, ParseError
from canhgac.parsers._month_names import MONTH_NUMBERS
from canhgac.parsers._source_address import source_address_fields

# A quoted value with backslash escapes, written as an unrolled loop: far faster in `re`
# than the equivalent (?:[^"\\]|\\.)*.
_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
_TIME = r"\[(\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]"

_LINE = re.compile(
    r"(\S+) (\S+) (\S+) "
    + _TIME
    + " "
    + _QUOTED
    + r" (\d{3}) (\d{1,20}|-)"
    + r"(?:\s*|(?: "
    + _QUOTED
    + " "
    + _QUOTED
    + r")(\s.*)?)",
    re.ASCII | re.DOTALL,
)

# Prefixes of _LINE; the first that fails to match says what is wrong with a line.
_START = r"\S+ \S+ \S+ "
_DIAGNOSIS = (
    (re.compile(_START + r"\[", re.ASCII), "expected 'client ident user [time]' at the start"),
    (re.compile(_START + r"\[[^\]]*\]", re.ASCII), "the [time] field is not closed"),
    (re.compile(_START + _TIME, re.ASCII), ""),  # reported as a bad timestamp
    (re.compile(_START + _TIME + ' "', re.ASCII), "no quoted request after [time]"),
    (
        re.compile(_START + _TIME + " " + _QUOTED, re.ASCII | re.DOTALL),
        "the quoted request is not closed",
    ),
    (
        re.compile(_START + _TIME + " " + _QUOTED + r" \d{3}(?!\d)", re.ASCII | re.DOTALL),
        "no 3-digit status after the request",
    ),
    (
        re.compile(
            _START + _TIME + " " + _QUOTED + r" \d{3} (?:\d{1,20}|-)(?!\S)",
            re.ASCII | re.DOTALL,
        ),
        "no byte count (digits or '-') after the status",
    ),
)
_TIME_FIELD = re.compile(_START + r"\[([^\]]*)\]", re.ASCII)


# Offsets as logged ("+0700") for every quarter hour in use, so a line builds no tzinfo.
_OFFSETS: Mapping[str, timezone] = MappingProxyType(
    {
        f"{sign}{minutes // 60:02d}{minutes % 60:02d}": timezone(
            timedelta(minutes=-minutes if sign == "-" else minutes)
        )
        for sign in "+-"
        for minutes in range(0, 14 * 60 + 1, 15)
    }
)

_ESCAPE = re.compile(r"(?:\\x[0-9A-Fa-f]{2})+|\\(.)", re.ASCII | re.DOTALL)
_C_ESCAPES: Mapping[str, str] = MappingProxyType(
    {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "v": "\v"}
)

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", re.ASCII)
_VERSION = re.compile(r"HTTP/([0-9]+(?:\.[0-9]+)?)", re.ASCII)

_WEB = ("web",)
_ACCESS = ("access",)
_MALFORMED = ("malformed_request",)


class _AccessLogParser:
    """Common and Combined Log Format lines; see the module docstring for the fields."""

    __slots__ = ()
    name: ClassVar[str]
    module: ClassVar[str]
    # Whether `recognizes` accepts common-format lines and "-" byte counts.
    common_allowed: ClassVar[bool]

    def parse(self, line: str, context: ParseContext) -> ParsedRecord:
        """Parse one access-log line; raise ParseError saying which part is wrong."""
        match = _LINE.fullmatch(line)
        if match is None:
            raise ParseError(_diagnose(line))
        client, _, user, time_text, request, status_text, size, referrer, agent, _ = match.groups()
        status = int(status_text)
        fields: dict[str, FieldValue] = {
            "event.kind": "event",
            "event.category": _WEB,
            "event.type": _ACCESS,
            "event.module": self.module,
            "event.dataset": self.module + ".access",
            "event.outcome": "success" if 100 <= status < 400 else _failure_or_unknown(status),
            "http.response.status_code": status,
        }
        source_address_fields(client, fields)
        if user != "-":
            fields["user.name"] = _unescape(user) if "\\" in user else user
        if size != "-":
            fields["http.response.body.bytes"] = int(size)
        if request not in ("-", ""):
            _request_fields(request, fields)
        if referrer is not None and referrer != "-":
            fields["http.request.referrer"] = _unescape(referrer) if "\\" in referrer else referrer
        if agent is not None and agent != "-":
            fields["user_agent.original"] = _unescape(agent) if "\\" in agent else agent
        return ParsedRecord(timestamp=_clf_time(time_text), fields=fields)

    def recognizes(self, line: str) -> bool:
        """Whether the line is in a format this server writes (module docstring)."""
        match = _LINE.fullmatch(line)
        if match is None:
            return False
        if self.common_allowed:
            return True
        return match.group(9) is not None and match.group(7) != "-"


class NginxAccessParser(_AccessLogParser):
    """nginx access logs (`combined`, or a `common`-style log_format)."""

    __slots__ = ()
    name: ClassVar[str] = "nginx"
    module: ClassVar[str] = "nginx"
    common_allowed: ClassVar[bool] = False


class ApacheAccessParser(_AccessLogParser):
    """Apache httpd access logs (`common` or `combined`)."""

    __slots__ = ()
    name: ClassVar[str] = "apache"
    module: ClassVar[str] = "apache"
    common_allowed: ClassVar[bool] = True


def _failure_or_unknown(status: int) -> str:
    return "failure" if status >= 400 else "unknown"


def _request_fields(request: str, fields: dict[str, FieldValue]) -> None:
    method, space, rest = request.partition(" ")
    target, space2, protocol = rest.rpartition(" ")
    version = _VERSION.fullmatch(protocol) if space2 else None
    if not space or version is None or not target or _TOKEN.fullmatch(method) is None:
        fields["tags"] = _MALFORMED
        return
    if "\\" in target:
        target = _unescape(target)
    fields["http.request.method"] = method
    fields["http.version"] = version.group(1)
    fields["url.original"] = target
    if target.startswith("/"):
        path, question, query = target.partition("?")
        fields["url.path"] = path
        if question:
            fields["url.query"] = query
    elif "://" in target:
        _absolute_url_fields(target, fields)


def _absolute_url_fields(target: str, fields: dict[str, FieldValue]) -> None:
    # A proxy-style request ("GET http://host/path HTTP/1.1"); rare, so urlsplit's cost is fine.
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError:
        return
    if parts.scheme:
        fields["url.scheme"] = parts.scheme
    if parts.hostname:
        fields["url.domain"] = parts.hostname
    if port is not None:
        fields["url.port"] = port
    # Path and query split as for "/..." targets, not by urlsplit, which also cuts at "#".
    authority_end = len(target)
    for mark in "/?":
        found = target.find(mark, target.index("://") + 3)
        if found != -1:
            authority_end = min(authority_end, found)
    path, question, query = target[authority_end:].partition("?")
    if path:
        fields["url.path"] = path
    if question:
        fields["url.query"] = query


def _unescape(text: str) -> str:
    """Undo the log's own escaping: `\\xhh` runs as UTF-8, `\\"`, `\\\\`, C escapes."""
    return _ESCAPE.sub(_unescape_match, text)


def _unescape_match(match: re.Match[str]) -> str:
    single = match.group(1)
    if single is not None:
        return _C_ESCAPES.get(single, single)
    data = bytes.fromhex(match.group(0).replace("\\x", ""))
    return data.decode("utf-8", "backslashreplace")


def _clf_time(text: str) -> datetime:
    """`24/Nov/2026:08:15:02 +0700`, whose shape `_TIME` has checked, by slicing."""
    month = MONTH_NUMBERS.get(text[3:6])
    zone = _OFFSETS.get(text[21:])
    if zone is None:
        hours, minutes = int(text[22:24]), int(text[24:26])
        if hours > 23 or minutes > 59:
            raise ParseError(f"bad timestamp '{text}': offset out of range")
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if text[21] == "-" else offset)
    if month is None:
        raise ParseError(f"bad timestamp '{text}': unknown month {text[3:6]!r}")
    try:
        return datetime(
            int(text[7:11]),
            month,
            int(text[:2]),
            int(text[12:14]),
            int(text[15:17]),
            int(text[18:20]),
            tzinfo=zone,
        )
    except ValueError:
        raise ParseError(f"bad timestamp '{text}'") from None


def _diagnose(line: str) -> str:
    if "[" not in line:
        return "not an access-log line: no [time] field"
    for prefix, reason in _DIAGNOSIS:
        if prefix.match(line) is None:
            if not reason:
                time_field = _TIME_FIELD.match(line)
                shown = time_field.group(1)[:40] if time_field is not None else ""
                return f"bad timestamp '{shown}'"
            return f"not an access-log line: {reason}"
    return (
        "not an access-log line: unexpected text after the byte count"
        ' (expected "referrer" "user agent")'
    )
