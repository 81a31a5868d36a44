"""IIS and other W3C extended log files (formats `iis` and `w3c`).

    #Software: Microsoft Internet Information Services 10.0
    #Version: 1.0
    #Date: 2026-11-24 01:00:00
    #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip ...
    2026-11-24 01:00:03 10.0.0.5 GET /dvc/thu-tuc id=12 443 - 203.0.113.7 Mozilla/5.0+(...) ...

The `#Fields:` directive names the columns of the lines after it, and a file may
declare new ones midway (IIS does, after a restart or a configuration change). A
`W3CParser` is pure: it reads lines by the columns it was built with, and
`with_directive(line)` returns the parser for the lines after a directive, which the
file readers keep per file (and the tailer in its checkpoint, so a restart that resumes
mid-file still knows the columns). `iis` starts from IIS's default columns, for a file
whose header was not seen; `w3c` refuses data lines before a `#Fields:` directive.

Values are separated by single spaces; a value of "-" is absent; IIS writes the spaces
inside a value as "+" (user agents, referrers), which are turned back into spaces there.
Times are UTC, as the W3C format defines them.

ECS fields, as the nginx parser's where they mean the same:

| W3C field                    | ECS field                                              |
|------------------------------|--------------------------------------------------------|
| date, time                   | the record's timestamp (UTC)                            |
| c-ip                         | source.address, source.ip or source.domain              |
| s-ip, s-port                 | destination.ip, destination.port                        |
| cs-method                    | http.request.method                                     |
| cs-uri-stem, cs-uri-query    | url.path, url.query; url.original = stem?query          |
| cs-username                  | user.name                                               |
| cs(User-Agent), cs(Referer)  | user_agent.original, http.request.referrer              |
| cs-host, cs(Host)            | url.domain                                              |
| cs-version                   | http.version ("1.1")                                    |
| sc-status                    | http.response.status_code, event.outcome                |
| sc-substatus, sc-win32-status| iis.access.sub_status, iis.access.win32_status (int)    |
| sc-bytes, cs-bytes           | http.response.bytes, http.request.bytes                 |
| time-taken (ms)              | event.duration (ns)                                     |
| s-sitename, s-computername   | iis.access.site_name, host.name                         |
| any other field              | w3c.<field name, lowercase, "(" and ")" as "_">         |
| (always)                     | event.kind=event, event.category=[web],                 |
|                              | event.type=[access], event.module=iis,                  |
|                              | event.dataset=iis.access                                |
"""

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import ClassVar

from canhgac.events import FieldValue
from canhgac.parsers._base import ParseContext, ParsedRecord, ParseError
from canhgac.parsers._source_address import source_address_fields

IIS_DEFAULT_FIELDS = (
    "date",
    "time",
    "s-ip",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "s-port",
    "cs-username",
    "c-ip",
    "cs(User-Agent)",
    "cs(Referer)",
    "sc-status",
    "sc-substatus",
    "sc-win32-status",
    "time-taken",
)
"""The columns IIS logs when its W3C logging is left at the defaults."""

_DIRECTIVES = ("#Software:", "#Version:", "#Date:", "#Fields:", "#Remark:", "#Start-Date:")
_DATA_LINE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \S+ \S+ \S+", re.ASCII)
_VERSION = re.compile(r"HTTP/([0-9]+(?:\.[0-9]+)?)", re.ASCII)
_OTHER_NAME = re.compile(r"[^a-z0-9_.-]+")

_WEB = ("web",)
_ACCESS = ("access",)

Setter = Callable[[str, dict[str, FieldValue]], None]


def _text(name: str, plus_is_space: bool = False) -> Setter:
    def put(value: str, fields: dict[str, FieldValue]) -> None:
        fields[name] = value.replace("+", " ") if plus_is_space else value

    return put


def _integer(name: str, scale: int = 1) -> Setter:
    def put(value: str, fields: dict[str, FieldValue]) -> None:
        if not value.isascii() or not value.isdigit():
            raise ParseError(f"{name}: expected a number, not {value[:40]!r}")
        fields[name] = int(value) * scale

    return put


def _version(value: str, fields: dict[str, FieldValue]) -> None:
    match = _VERSION.fullmatch(value)
    fields["http.version"] = match.group(1) if match else value


def _status(value: str, fields: dict[str, FieldValue]) -> None:
    if not value.isascii() or not value.isdigit() or len(value) != 3:
        raise ParseError(f"sc-status: expected a 3-digit status, not {value[:40]!r}")
    status = int(value)
    fields["http.response.status_code"] = status
    fields["event.outcome"] = (
        "success" if 100 <= status < 400 else "failure" if status >= 400 else "unknown"
    )


def _client(value: str, fields: dict[str, FieldValue]) -> None:
    source_address_fields(value, fields)


_SETTERS: Mapping[str, Setter] = MappingProxyType(
    {
        "c-ip": _client,
        "s-ip": _text("destination.ip"),
        "s-port": _integer("destination.port"),
        "cs-method": _text("http.request.method"),
        "cs-uri-stem": _text("url.path"),
        "cs-uri-query": _text("url.query"),
        "cs-username": _text("user.name"),
        "cs(user-agent)": _text("user_agent.original", plus_is_space=True),
        "cs(referer)": _text("http.request.referrer", plus_is_space=True),
        "cs-host": _text("url.domain"),
        "cs(host)": _text("url.domain"),
        "cs-version": _version,
        "sc-status": _status,
        "sc-substatus": _integer("iis.access.sub_status"),
        "sc-win32-status": _integer("iis.access.win32_status"),
        "sc-bytes": _integer("http.response.bytes"),
        "cs-bytes": _integer("http.request.bytes"),
        "time-taken": _integer("event.duration", scale=1_000_000),
        "s-sitename": _text("iis.access.site_name"),
        "s-computername": _text("host.name"),
    }
)


def is_directive(line: str) -> bool:
    """Whether the line is a W3C directive ("#Fields: ..."), not a record."""
    return line.startswith("#")


class W3CParser:
    """W3C extended log lines read by the columns of the last `#Fields:` directive."""

    __slots__ = ("_date", "_setters", "_time", "fields")
    name: ClassVar[str] = "w3c"
    default_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, fields: Sequence[str] | None = None) -> None:
        """`fields`: the columns, as a `#Fields:` directive names them; the format's
        defaults when None."""
        self.fields: tuple[str, ...] = tuple(fields if fields is not None else self.default_fields)
        lowered = [name.lower() for name in self.fields]
        self._date = lowered.index("date") if "date" in lowered else -1
        self._time = lowered.index("time") if "time" in lowered else -1
        self._setters: tuple[tuple[int, Setter], ...] = tuple(
            (index, _SETTERS.get(name) or _other(name))
            for index, name in enumerate(lowered)
            if name not in ("date", "time")
        )

    def with_directive(self, line: str) -> "W3CParser":
        """The parser for the lines after this directive: a new one for `#Fields:`,
        this one for the other directives. ParseError for a `#Fields:` naming none."""
        if not line.startswith("#Fields:"):
            return self
        fields = line[len("#Fields:") :].split()
        if not fields:
            raise ParseError("#Fields: directive names no field")
        return type(self)(fields)

    def recognizes(self, line: str) -> bool:
        """A W3C directive, or a line starting with a date and time then three values."""
        if line.startswith("#"):
            return line.startswith(_DIRECTIVES)
        return _DATA_LINE.match(line) is not None

    def parse(self, line: str, context: ParseContext) -> ParsedRecord:
        """Parse one record line by the current columns; ParseError says why not."""
        if is_directive(line):
            raise ParseError("a W3C directive line, not a record")
        if not self.fields:
            raise ParseError("no #Fields: directive before this line: its columns are unknown")
        values = line.split(" ")
        if len(values) != len(self.fields):
            raise ParseError(
                f"{len(values)} values where #Fields: names {len(self.fields)}"
                " (values are separated by single spaces)"
            )
        fields: dict[str, FieldValue] = {
            "event.kind": "event",
            "event.category": _WEB,
            "event.type": _ACCESS,
            "event.module": "iis",
            "event.dataset": "iis.access",
        }
        for index, put in self._setters:
            value = values[index]
            if value != "-":
                put(value, fields)
        _url_original(fields)
        return ParsedRecord(self._timestamp(values, context), fields)

    def _timestamp(self, values: Sequence[str], context: ParseContext) -> datetime:
        if self._date < 0 or self._time < 0:
            raise ParseError("#Fields: names no date and time: the record cannot be dated")
        text = f"{values[self._date]}T{values[self._time]}"
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            raise ParseError(f"bad date and time {text[:40]!r}") from None
        if len(values[self._date]) != 10 or stamp.tzinfo is not None:
            raise ParseError(f"bad date and time {text[:40]!r}")
        return stamp.replace(tzinfo=UTC)


class IisParser(W3CParser):
    """IIS W3C logs; before any `#Fields:` directive, IIS's default columns."""

    __slots__ = ()
    name: ClassVar[str] = "iis"
    default_fields: ClassVar[tuple[str, ...]] = IIS_DEFAULT_FIELDS


def _other(name: str) -> Setter:
    return _text("w3c." + _OTHER_NAME.sub("_", name).strip("_"))


def _url_original(fields: dict[str, FieldValue]) -> None:
    path = fields.get("url.path")
    if isinstance(path, str):
        query = fields.get("url.query")
        fields["url.original"] = f"{path}?{query}" if isinstance(query, str) else path
