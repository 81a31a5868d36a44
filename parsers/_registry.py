"""Parsers by name, and guessing a file's format from its first lines."""

from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from types import MappingProxyType

from canhgac.parsers._access_log import ApacheAccessParser, NginxAccessParser
from canhgac.parsers._auth_log import AuthLogParser
from canhgac.parsers._base import LineParser
from canhgac.parsers._json_lines import JsonLinesParser
from canhgac.parsers._syslog import SyslogParser
from canhgac.parsers._w3c import IisParser, W3CParser

# In preference order: when two parsers recognize as many lines, the earlier one wins.
_PARSERS: Mapping[str, Callable[[], LineParser]] = MappingProxyType(
    {
        NginxAccessParser.name: NginxAccessParser,
        ApacheAccessParser.name: ApacheAccessParser,
        AuthLogParser.name: AuthLogParser,
        JsonLinesParser.name: JsonLinesParser,
        IisParser.name: IisParser,
        W3CParser.name: W3CParser,
        SyslogParser.name: SyslogParser,
    }
)

DETECTION_SAMPLE = 20
"""How many non-empty lines `detect_format` looks at."""


class UnknownFormatError(ValueError):
    """A format name that no parser has; the message lists the names there are."""


def parser_names() -> tuple[str, ...]:
    """The known format names, in preference order ("nginx", "apache", "auth", "json")."""
    return tuple(_PARSERS)


def get_parser(name: str) -> LineParser:
    """A parser for the named format; raises UnknownFormatError for an unknown name."""
    make = _PARSERS.get(name)
    if make is None:
        known = ", ".join(_PARSERS)
        raise UnknownFormatError(f"unknown log format {name!r}; known formats: {known}")
    return make()


def detect_format(lines: Iterable[str]) -> str | None:
    """The name of the format that recognizes most of the first 20 non-empty lines.

    Ties go to the earlier name in `parser_names()`; None when no parser recognizes any
    line (or there are no non-empty lines). Reads no more of `lines` than it needs.
    """
    sample = tuple(islice((line for line in lines if line.strip()), DETECTION_SAMPLE))
    best_name: str | None = None
    best_count = 0
    for name, make in _PARSERS.items():
        parser = make()
        count = sum(1 for line in sample if parser.recognizes(line))
        if count > best_count:
            best_name, best_count = name, count
    return best_name
