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


@dataclass(slots=True)
class OutcomeTotals:
    """Batch outcomes added up (a run of `canhgac ingest`, a running service)."""

    batches: int = 0
    lines: int = 0
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    alerts: int = 0
    new_incidents: int = 0
    updated_incidents: int = 0

    def add(self, outcome: BatchOutcome) -> None:
        self.batches += 1
        self.lines += outcome.lines
        self.events += outcome.events
        self.duplicates += outcome.duplicates
        self.dead_letters += outcome.dead_letters
        self.alerts += outcome.alerts
        self.new_incidents += outcome.new_incidents
        self.updated_incidents += outcome.updated_incidents
