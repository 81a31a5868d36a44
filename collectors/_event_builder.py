"""`EventBuilder`: one raw line → an `Event`, or a `DeadLetter` saying why not."""

from dataclasses import dataclass
from datetime import UTC, datetime

from canhgac.events import DeadLetter, Event, event_id, make_event
from canhgac.parsers import LineParser, ParseContext, ParseError, windows_event_origin

MAX_LINE_BYTES = 64 * 1024
"""Longer lines are dead-lettered (truncated) rather than parsed: no log line is that long."""


@dataclass(frozen=True, slots=True)
class SourceLabels:
    """What the configuration says of a source; stamped on every event it yields."""

    source: str
    system: str | None = None
    organization: str | None = None


class EventBuilder:
    def __init__(
        self,
        parser: LineParser,
        labels: SourceLabels,
        context: ParseContext,
        origin: str,
        path: str | None = None,
    ) -> None:
        self.parser = parser
        self.labels = labels
        self.context = context
        self.origin = origin
        self.path = path

    def build(self, raw: bytes, position: int, line_number: int | None) -> Event | DeadLetter:
        """`raw` is the line without its line ending; `position` its byte offset."""
        if len(raw) > MAX_LINE_BYTES:
            return self._dead(
                raw[:MAX_LINE_BYTES],
                line_number,
                f"line is {len(raw)} bytes, longer than {MAX_LINE_BYTES}",
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._dead(raw, line_number, f"invalid UTF-8 at byte {exc.start}")
        try:
            record = self.parser.parse(text, self.context)
        except ParseError as exc:
            return self._dead(raw, line_number, f"{self.parser.name}: {exc}")
        origin, where = self.origin, position
        if "winlog.record_id" in record.fields:
            # A Windows record keeps its id whichever export it is read from.
            origin, where = windows_event_origin(record.fields)
        return make_event(
            id=event_id(origin, where, raw),
            timestamp=record.timestamp,
            fields=record.fields,
            original=text,
            path=self.path,
            system=self.labels.system,
            organization=self.labels.organization,
            # The parser made the fields for this line alone; it may vouch for no None.
            owned=record.without_none,
        )

    def _dead(self, raw: bytes, line_number: int | None, reason: str) -> DeadLetter:
        return DeadLetter(
            source=self.labels.source,
            reason=reason,
            raw=raw.decode("utf-8", "replace"),
            received_at=datetime.now(UTC),
            path=self.path,
            line_number=line_number,
        )
