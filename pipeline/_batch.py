"""What a collector hands the pipeline, and what the pipeline reports back."""

from collections.abc import Sequence
from dataclasses import dataclass

from canhgac.events import DeadLetter, Event
from canhgac.storage import Checkpoint


@dataclass(frozen=True, slots=True)
class CollectedBatch:
    """Events a collector read from one source, with the position to resume from once
    they are stored. `lines` counts every record read, good or bad."""

    source: str
    events: Sequence[Event]
    dead_letters: Sequence[DeadLetter] = ()
    checkpoints: Sequence[Checkpoint] = ()
    lines: int = 0


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    lines: int
    events: int
    """New events stored; events seen before are counted in `duplicates`."""
    duplicates: int
    dead_letters: int
    alerts: int
    new_incidents: int
    updated_incidents: int
