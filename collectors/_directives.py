"""Header directives of line formats whose columns a file declares (W3C `#Fields:`)."""

from datetime import UTC, datetime

from canhgac.collectors._event_builder import EventBuilder
from canhgac.events import DeadLetter
from canhgac.parsers import LineParser, ParseError, W3CParser


def reads_directives(parser: LineParser) -> bool:
    """Whether lines starting with "#" are directives for this parser, not records."""
    return isinstance(parser, W3CParser)


def take_directive(
    builder: EventBuilder, raw: bytes, line_number: int | None, dead: list[DeadLetter]
) -> bool:
    """Whether `raw` is a directive line, which is then applied: the builder's parser reads
    the lines after it by the columns it declares. One that cannot be read goes to
    `dead` as a dead letter."""
    parser = builder.parser
    if not raw.startswith(b"#") or not isinstance(parser, W3CParser):
        return False
    text = raw.decode("utf-8", "replace")
    try:
        builder.parser = parser.with_directive(text)
    except ParseError as exc:
        dead.append(
            DeadLetter(
                source=builder.labels.source,
                reason=f"{parser.name}: {exc}",
                raw=text,
                received_at=datetime.now(UTC),
                path=builder.path,
                line_number=line_number,
            )
        )
    return True
