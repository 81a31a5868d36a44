"""Line parsers: raw log text to timestamp and ECS fields. Pure functions, no I/O.

Formats: `nginx` and `apache` (Common and Combined Log Format access logs), `auth`
(Linux auth.log / secure) and `json` (JSON lines: ECS documents, Windows events, or any
JSON with a field mapping). `get_parser(name)` builds one; `detect_format(lines)` guesses.
Windows event records (evtx JSON, Winlogbeat, flat exports) are normalized to ECS by
`normalize_windows_event`, which the EVTX file reader uses too. `iis` and `w3c` read
W3C extended logs by their `#Fields:` directive. `syslog` reads RFC 5424
and RFC 3164 messages.
"""

from canhgac.parsers._access_log import ApacheAccessParser, NginxAccessParser
from canhgac.parsers._auth_log import AuthLogParser
from canhgac.parsers._base import LineParser, ParseContext, ParsedRecord, ParseError
from canhgac.parsers._json_lines import JsonLinesParser
from canhgac.parsers._registry import (
    DETECTION_SAMPLE,
    UnknownFormatError,
    detect_format,
    get_parser,
    parser_names,
)
from canhgac.parsers._syslog import FACILITY_NAMES, SEVERITY_NAMES, SyslogParser
from canhgac.parsers._syslog_time import (
    FUTURE_ALLOWANCE,
    parse_classic_timestamp,
    parse_rfc3339_timestamp,
    yearless_timestamp,
)
from canhgac.parsers._w3c import IIS_DEFAULT_FIELDS, IisParser, W3CParser, is_directive
from canhgac.parsers._windows import (
    channel_dataset,
    evtx_flattening,
    looks_like_windows_event,
    normalize_windows_event,
    windows_event_origin,
)

__all__ = [
    "DETECTION_SAMPLE",
    "FACILITY_NAMES",
    "FUTURE_ALLOWANCE",
    "IIS_DEFAULT_FIELDS",
    "SEVERITY_NAMES",
    "ApacheAccessParser",
    "AuthLogParser",
    "IisParser",
    "JsonLinesParser",
    "LineParser",
    "NginxAccessParser",
    "ParseContext",
    "ParseError",
    "ParsedRecord",
    "SyslogParser",
    "UnknownFormatError",
    "W3CParser",
    "channel_dataset",
    "detect_format",
    "evtx_flattening",
    "get_parser",
    "is_directive",
    "looks_like_windows_event",
    "normalize_windows_event",
    "parse_classic_timestamp",
    "parse_rfc3339_timestamp",
    "parser_names",
    "windows_event_origin",
    "yearless_timestamp",
]
