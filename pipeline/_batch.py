"""What a collector hands the pipeline, and what the pipeline reports back."""

from collections.abc import Sequence
from dataclasses import dataclass

from canhgac.events import DeadLetter, Event
from canhgac.storage import Checkpoint


@dataclass(frozen=True, slots=True)
class CollectedBatch:
    """Events a collector read from one source, with the position to resume from once
    they are stored.

    `lines` counts every record read, good or bad (0: as many as events and dead
    letters); `aggregated` those of them that became part of an event standing for
    several records (packets folded into a flow's event) instead of an event or dead
    letter of their own; `dropped` the records lost before they could be read since the
    last batch (a UDP receiver's kernel drops). All go into the source's counters (see
    `storage.SourceCounters`).
    """

    source: str
    events: Sequence[Event]
    dead_letters: Sequence[DeadLetter] = ()
    checkpoints: Sequence[Checkpoint] = ()
    lines: int = 0
    aggregated: int = 0
    dropped: int = 0


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
    dropped: int = 0
    late: int = 0
    """New events too late for every correlation window (see `storage.SourceCounters`)."""


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
    dropped: int = 0
    late: int = 0

    def add(self, outcome: BatchOutcome) -> None:
        self.batches += 1
        self.lines += outcome.lines
        self.events += outcome.events
        self.duplicates += outcome.duplicates
        self.dead_letters += outcome.dead_letters
        self.alerts += outcome.alerts
        self.new_incidents += outcome.new_incidents
        self.updated_incidents += outcome.updated_incidents
        self.dropped += outcome.dropped
        self.late += outcome.late


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    """The running pipeline's live view: what waits, and what it did since it started."""

    queue_depth: int
    """Batches waiting for the pipeline thread."""
    queue_capacity: int
    """Batches that may wait before collectors are slowed down (backpressure)."""
    batches: int
    """Batches and clock ticks stored since the start."""
    failed_writes: int
    """Store writes that failed and were retried."""
