"""`CorrelatorComponent`: the pipeline worker and its jobs, and the sink of the ingest API.

There is one correlator per deployment: its correlation windows live in its memory
(snapshotted into the store with every batch), so it cannot be split across processes.
"""

import logging
import threading
from dataclasses import dataclass, field, fields

from canhgac.config import Settings
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline import BatchOutcome, CollectedBatch, IngestPipeline, PipelineWorker
from canhgac.service._setup import build_correlator
from canhgac.storage import Store

log = logging.getLogger(__name__)

STORE_WAIT_SECONDS = 60.0
"""How long an ingest request waits for its batch to be stored before answering 503."""


class _Receipt:
    """Filled in by the pipeline thread once a batch is stored."""

    def __init__(self) -> None:
        self._stored = threading.Event()
        self.outcome: BatchOutcome | None = None

    def deliver(self, outcome: BatchOutcome) -> None:
        self.outcome = outcome
        self._stored.set()

    def wait(self, timeout: float) -> BatchOutcome | None:
        return self.outcome if self._stored.wait(timeout) else None


@dataclass(frozen=True, slots=True)
class _AwaitedBatch(CollectedBatch):
    """A batch whose sender waits for it to be stored (an ingest request)."""

    receipt: _Receipt = field(default_factory=_Receipt)


class _AcknowledgingPipeline(IngestPipeline):
    """Tells the waiting sender of an ingest batch, right after its store write."""

    def process(self, batch: CollectedBatch) -> BatchOutcome:
        outcome = super().process(batch)
        if isinstance(batch, _AwaitedBatch):
            batch.receipt.deliver(outcome)
        return outcome


class CorrelatorComponent:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.pipeline = _AcknowledgingPipeline(
            store, build_correlator(settings, store), IncidentGrouper(settings.incidents.window)
        )
        self.worker = PipelineWorker(
            self.pipeline, max_batches=settings.pipeline.queue_batches, on_outcome=_log_outcome
        )

    def submit(self, batch: CollectedBatch) -> None:
        """Queue a local collector's batch, waiting while the queue is full."""
        self.worker.submit(batch)

    def store(self, batch: CollectedBatch) -> BatchOutcome | None:
        """Queue an ingested batch and wait until it is stored (the ingest API's sink)."""
        awaited = _AwaitedBatch(**{f.name: getattr(batch, f.name) for f in fields(CollectedBatch)})
        try:
            self.worker.submit(awaited)
        except RuntimeError:
            return None  # stopping: the sender sends it again to the next correlator
        return awaited.receipt.wait(STORE_WAIT_SECONDS)

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        """Store what is queued, then stop."""
        self.worker.stop()


def _log_outcome(source: str, outcome: BatchOutcome) -> None:
    notable = outcome.alerts or outcome.dead_letters or outcome.new_incidents
    log.log(
        logging.INFO if notable else logging.DEBUG,
        "%s: %d lines, %d new events, %d dead letters, %d alerts, %d new incidents",
        source,
        outcome.lines,
        outcome.events,
        outcome.dead_letters,
        outcome.alerts,
        outcome.new_incidents,
    )
