"""`PipelineWorker`: the one thread that feeds collected batches to the pipeline.

Collectors call `submit`, which blocks while the queue is full: a slow correlator or
store slows the readers down instead of dropping what they read. A batch the store
fails to write is retried with backoff until it succeeds or the worker stops; it is
never dropped, and its collector checkpoint is only stored with it.
"""

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from canhgac.pipeline._batch import BatchOutcome, CollectedBatch, OutcomeTotals, PipelineStatus
from canhgac.pipeline._pipeline import IngestPipeline
from canhgac.storage import StoreError

log = logging.getLogger(__name__)

_STOP = object()


@dataclass(frozen=True, slots=True)
class _ClockTick:
    now: datetime


@dataclass(frozen=True, slots=True)
class _Call:
    call: Callable[[], None]


class PipelineWorker:
    def __init__(
        self,
        pipeline: IngestPipeline,
        max_batches: int = 16,
        retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0),
        on_outcome: Callable[[str, BatchOutcome], None] | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_batches)
        self._retry_delays = retry_delays
        self._on_outcome = on_outcome
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="canhgac-pipeline", daemon=True)
        self.totals = OutcomeTotals()
        self.failed_writes = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, batch: CollectedBatch) -> None:
        """Queue a batch, waiting while the queue is full (backpressure)."""
        while not self._stopping.is_set():
            try:
                self._queue.put(batch, timeout=0.5)
            except queue.Full:
                continue
            return
        raise RuntimeError("the pipeline is stopping; the batch was not accepted")

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def status(self) -> PipelineStatus:
        """The live view: queue depth and capacity, batches stored, failed writes."""
        return PipelineStatus(
            queue_depth=self._queue.qsize(),
            queue_capacity=self._queue.maxsize,
            batches=self.totals.batches,
            failed_writes=self.failed_writes,
        )

    def advance_clock(self, now: datetime) -> None:
        """Queue a clock tick: correlation windows ending before `now` fire. It runs on the
        worker thread, in order with the batches, since the correlator is single-threaded."""
        self._queue.put(_ClockTick(now))

    def call_between_batches(self, call: Callable[[], None]) -> None:
        """Queue `call` to run on the worker thread, in order with the batches (the rule
        settings swapped in between two batches). An error it raises is logged."""
        self._queue.put(_Call(call))

    def stop(self, timeout: float = 30.0) -> None:
        """Process what is queued, then stop."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._stopping.set()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, _Call):
                try:
                    item.call()
                except Exception:
                    # The worker thread must outlive a failed maintenance call.
                    log.exception("a call on the pipeline thread failed")
            elif isinstance(item, _ClockTick):
                self._process_until_stored("correlator", partial(self._pipeline.advance, item.now))
            else:
                assert isinstance(item, CollectedBatch)
                self._process_until_stored(item.source, partial(self._pipeline.process, item))

    def _process_until_stored(self, source: str, step: Callable[[], BatchOutcome]) -> None:
        attempt = 0
        while True:
            try:
                outcome = step()
            except StoreError as exc:
                self.failed_writes += 1
                delay = self._retry_delays[min(attempt, len(self._retry_delays) - 1)]
                log.error(
                    "storing a batch from %s failed (%s); retrying in %.1fs",
                    source,
                    exc,
                    delay,
                )
                attempt += 1
                if self._stopping.wait(delay):
                    log.error(
                        "stopped before a batch from %s was stored; it will be read "
                        "again from its checkpoint at the next start",
                        source,
                    )
                    return
                continue
            self.totals.add(outcome)
            if self._on_outcome is not None:
                self._on_outcome(source, outcome)
            return
