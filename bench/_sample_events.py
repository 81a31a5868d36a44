"""The bundled nginx sample log as events, for the ingest benchmarks (es_ingest,
forward_ingest): as many as a run asks for, the log read again and again."""

from pathlib import Path

from canhgac.collectors import EventBuilder
from canhgac.events import Event

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "portal-access.log"


def sample_events(count: int, builder: EventBuilder) -> list[Event]:
    """`count` events built by `builder` from the bundled nginx log, each line at its own
    offset (a line read again is a new event, not a duplicate)."""
    lines = SAMPLE.read_bytes().splitlines()
    events: list[Event] = []
    position = 0
    while len(events) < count:
        for raw in lines:
            built = builder.build(raw, position, None)
            position += len(raw) + 1
            if isinstance(built, Event):
                events.append(built)
                if len(events) == count:
                    break
    return events
