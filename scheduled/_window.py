"""`StoredEventWindow`: the stretch of event time one scheduled run covers."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from canhgac.scheduled._errors import ScheduledError

WINDOW_CHECKPOINT = "scheduled:window"
"""The store checkpoint holding the end of the last window scheduled detection covered."""


@dataclass(frozen=True, slots=True)
class StoredEventWindow:
    """Events with start <= timestamp < end (timezone-aware, start before end)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ScheduledError("give window times with a time zone, e.g. 2026-11-24T08:00Z")
        if self.start >= self.end:
            raise ScheduledError(
                f"the window starts ({self.start.isoformat()}) at or after its end "
                f"({self.end.isoformat()}); give an earlier start"
            )

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    def checkpoint_state(self) -> dict[str, Any]:
        """What the store keeps so the next run starts where this one ended."""
        return {"end": self.end.isoformat()}


def next_window(
    checkpoint: Mapping[str, Any] | None, now: datetime, interval: timedelta, lag: timedelta
) -> StoredEventWindow | None:
    """The window from the last one's end (or, on a first run, `interval` back) to
    `now - lag` in whole seconds; None while that is not past the last end yet.

    `lag` leaves time for events to be stored before their time is searched. Whole
    seconds keep a boundary exact in both stores (Elasticsearch keeps milliseconds).
    """
    end = (now - lag).replace(microsecond=0)
    start = end - interval
    if checkpoint is not None:
        try:
            start = datetime.fromisoformat(str(checkpoint["end"]))
        except (KeyError, ValueError) as err:
            raise ScheduledError(
                f"the stored checkpoint {WINDOW_CHECKPOINT!r} is damaged ({err}); "
                "delete it to start again from the last interval"
            ) from err
    if start >= end:
        return None
    return StoredEventWindow(start, end)
