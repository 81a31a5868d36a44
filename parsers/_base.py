"""What every line parser is: text in, timestamp and ECS fields out, or a ParseError."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Protocol

from canhgac.events import FieldValue


class ParseError(ValueError):
    """A line that a parser cannot read; the message is the dead letter's reason."""


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What a parser may know beyond the line itself.

    `reference_time` dates year-less timestamps (see parsers/_syslog_time.py);
    `timezone` applies to timestamps that carry no offset; `hostname` is the default
    `host.name` for lines that name no host.
    """

    reference_time: datetime
    timezone: tzinfo
    hostname: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """A parser's result: the event time (timezone-aware) and ECS fields by dotted name.

    `without_none` is the parser's word that no field value is None, so that the event
    built from it skips filtering them out (`make_event(owned=True)`).
    """

    timestamp: datetime
    fields: Mapping[str, FieldValue]
    without_none: bool = False


class LineParser(Protocol):
    """A parser of one line-oriented log format. Parsers hold no state between lines."""

    @property
    def name(self) -> str:
        """The format's name in configuration and on the command line ("nginx")."""
        ...

    def parse(self, line: str, context: ParseContext) -> ParsedRecord:
        """Parse one line (without its newline); raise ParseError with a reason."""
        ...

    def recognizes(self, line: str) -> bool:
        """Whether the line looks like this format, for `--format auto`."""
        ...
