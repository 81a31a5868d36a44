"""Line parsers: raw log text to timestamp and ECS fields. Pure functions, no I/O.

Formats: `nginx` and `apache` (Common and Combined Log Format access logs) and `auth`
(Linux auth.log / secure). `get_parser(name)` builds one; `detect_format(lines)` guesses.
"""

from canhgac.parsers._access_log import ApacheAccessParser, NginxAccessParser
from canhgac.parsers._auth_log import AuthLogParser
from canhgac.parsers._base import LineParser, ParseContext, ParsedRecord, ParseError
from canhgac.parsers._registry import (
    DETECTION_SAMPLE,
    UnknownFormatError,
    detect_format,
    get_parser,
    parser_names,
)
from canhgac.parsers._syslog_time import (
    FUTURE_ALLOWANCE,
    parse_classic_timestamp,
    parse_rfc3339_timestamp,
    yearless_timestamp,
)

__all__ = [
    "DETECTION_SAMPLE",
    "FUTURE_ALLOWANCE",
    "ApacheAccessParser",
    "AuthLogParser",
    "LineParser",
    "NginxAccessParser",
    "ParseContext",
    "ParseError",
    "ParsedRecord",
    "UnknownFormatError",
    "detect_format",
    "get_parser",
    "parse_classic_timestamp",
    "parse_rfc3339_timestamp",
    "parser_names",
    "yearless_timestamp",
]
