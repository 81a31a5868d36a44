"""Input that could not become an event, kept with the reason so nothing is lost silently."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A raw record that failed parsing: where it came from, why, and its text."""

    source: str
    reason: str
    raw: str
    received_at: datetime
    path: str | None = None
    line_number: int | None = None
