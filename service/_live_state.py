"""`ServiceLiveState`: the correlator's live state, written for every API process to read.

Every `LIVE_STATE_SECONDS` (a scheduler job of the correlator component) it writes the
store checkpoint `live:service`, plain JSON:

    written_at, started_at      ISO-8601 UTC times
    status                      "running"
    uptime_seconds              since this process started its pipeline
    interval_seconds            how often the document is written
    queue_depth, queue_capacity batches waiting for the pipeline thread, and the room
    batches, events_in, alerts, failed_writes
                                since the start: batches stored, new events stored,
                                alerts raised, store writes that failed (and were retried)
    sources                     {name: {"received": n, "parsed": n}}: the stored source
                                counters when this document was written
    events_per_second           {name: rate}: parsed events per second between the previous
                                document's `sources` and this one's (a source that did not
                                grow: 0.0); empty in the first document after a start

The rate comes from two snapshots of the stored counters, so it is the same whichever
process serves the API, and it covers the whole last interval (not the instant).
"""

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from canhgac.pipeline import OutcomeTotals, PipelineStatus
from canhgac.storage import Checkpoint, SourceCountersReport, Store, StoreError, WriteBatch

log = logging.getLogger(__name__)

LIVE_SERVICE_CHECKPOINT = "live:service"
LIVE_STATE_SECONDS = 15


class RunningWorker(Protocol):
    """What the live state reads of the pipeline worker (`pipeline.PipelineWorker`)."""

    totals: OutcomeTotals

    def status(self) -> PipelineStatus: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def source_snapshot(report: SourceCountersReport) -> dict[str, dict[str, int]]:
    """The counters the next document's rates are computed from."""
    return {c.source: {"received": c.received, "parsed": c.parsed} for c in report.sources}


def rates_between(
    earlier: Mapping[str, Mapping[str, int]],
    earlier_at: datetime,
    later: Mapping[str, Mapping[str, int]],
    later_at: datetime,
) -> dict[str, float]:
    """Parsed events per second of each source of `later` since `earlier`; a source new
    in `later` counts from zero, a counter that went down (a new store) from zero too."""
    seconds = (later_at - earlier_at).total_seconds()
    if seconds <= 0:
        return {}
    rates: dict[str, float] = {}
    for name, counters in later.items():
        before = earlier.get(name, {}).get("parsed", 0)
        now = counters.get("parsed", 0)
        grown = now - before if now >= before else now
        rates[name] = round(grown / seconds, 3)
    return rates


class ServiceLiveState:
    """Writes `live:service` (see the module doc) when `write` is called: the job."""

    def __init__(
        self,
        worker: RunningWorker,
        store: Store,
        *,
        interval_seconds: float = LIVE_STATE_SECONDS,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._worker = worker
        self._store = store
        self._interval = interval_seconds
        self._clock = clock
        self.started_at = clock()
        self._previous: tuple[datetime, dict[str, dict[str, int]]] | None = None

    def document(self) -> dict[str, Any]:
        """The document as of now (reads the stored source counters)."""
        now = self._clock()
        snapshot = source_snapshot(self._store.source_counters())
        rates: dict[str, float] = {}
        if self._previous is not None:
            rates = rates_between(self._previous[1], self._previous[0], snapshot, now)
        self._previous = (now, snapshot)
        status = self._worker.status()
        totals = self._worker.totals
        return {
            "written_at": now.isoformat(),
            "status": "running",
            "started_at": self.started_at.isoformat(),
            "uptime_seconds": round((now - self.started_at).total_seconds(), 3),
            "interval_seconds": self._interval,
            "queue_depth": status.queue_depth,
            "queue_capacity": status.queue_capacity,
            "batches": status.batches,
            "events_in": totals.events,
            "alerts": totals.alerts,
            "failed_writes": status.failed_writes,
            "sources": snapshot,
            "events_per_second": rates,
        }

    def write(self) -> None:
        """The job: write the document; a store failure is logged, the next beat retries."""
        try:
            document = self.document()
            self._store.write(
                WriteBatch(checkpoints=[Checkpoint(LIVE_SERVICE_CHECKPOINT, document)])
            )
        except StoreError as exc:
            log.warning("live service state not written (%s); the next beat tries again", exc)
