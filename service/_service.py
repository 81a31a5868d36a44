"""`Service`: what `canhgac run` is — collectors, pipeline, scheduler and API in one process.

It only wires parts together and owns their lifetimes; each part's logic lives in its
own package. Start order: store, rules, pipeline worker, collectors (as scheduler jobs),
API. Stop order is the reverse, so every batch read is stored before the store closes.
"""

import logging
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler

from canhgac.api import create_app
from canhgac.collectors import Collector, build_collector
from canhgac.config import Settings, SourceConfig
from canhgac.correlator import Correlator, RuleSet, load_rules
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline import STATE_CHECKPOINT, BatchOutcome, IngestPipeline, PipelineWorker
from canhgac.service._demo import DemoReplay
from canhgac.storage import ElasticsearchStore, SQLiteStore, Store

log = logging.getLogger(__name__)

WINDOW_CLOSING_SECONDS = 60
MAINTENANCE_MINUTES = 10
CORRELATION_CLOCK_SECONDS = 15


def load_ruleset(settings: Settings) -> RuleSet:
    """The configured rules; every rule that failed to load is logged with its reason."""
    ruleset = load_rules(
        [Path(p) for p in settings.rules.paths],
        bundled=settings.rules.bundled,
        placeholders=settings.rules.placeholders,
    )
    for error in ruleset.errors:
        log.warning("rule skipped: %s", error)
    loaded = len(ruleset.rules) + len(ruleset.correlations)
    log.info("%d rules loaded, %d skipped", loaded, len(ruleset.errors))
    return ruleset


def open_store(settings: Settings) -> Store:
    """The configured store: SQLite in data_dir, or the Elasticsearch cluster."""
    if settings.storage == "sqlite":
        return SQLiteStore.open(settings.database_path)
    es = settings.elasticsearch
    assert es.url is not None  # Settings refuses elasticsearch without a URL
    return ElasticsearchStore.open(
        [url.strip() for url in es.url.split(",") if url.strip()],
        spool_dir=settings.data_dir / "elasticsearch-spool",
        index_prefix=es.index_prefix,
        api_key=es.api_key,
        username=es.username,
        password=es.password,
        ca_file=es.ca_file,
        retention_days=es.retention_days,
        replicas=es.replicas,
    )


def build_correlator(settings: Settings, store: Store) -> Correlator:
    """The configured rules, with the correlation windows open at the last stop."""
    saved = store.checkpoint(STATE_CHECKPOINT)
    return Correlator(load_ruleset(settings), state=saved.state if saved else None)


class Service:
    def __init__(self, settings: Settings, *, demo: DemoReplay | None = None) -> None:
        self.settings = settings
        self.demo = demo

    def sources(self) -> Sequence[SourceConfig]:
        extra = self.demo.sources if self.demo else []
        return [*self.settings.sources, *extra]

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM, then stop every part cleanly."""
        settings = self.settings
        store = open_store(settings)
        try:
            pipeline = IngestPipeline(
                store,
                Correlator(load_ruleset(settings)),
                IncidentGrouper(settings.incidents.window),
            )
            worker = PipelineWorker(
                pipeline, max_batches=settings.pipeline.queue_batches, on_outcome=_log_outcome
            )
            collectors = [
                build_collector(
                    source,
                    load_checkpoint=store.checkpoint,
                    submit=worker.submit,
                    timezone=settings.zone,
                    batch_lines=settings.pipeline.batch_size,
                )
                for source in self.sources()
            ]
            scheduler = self._scheduler(collectors, pipeline, worker, store)
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(store, settings),
                    host=settings.api.host,
                    port=settings.api.port,
                    log_level="info",
                )
            )
            worker.start()
            for collector in collectors:
                collector.start()
            if self.demo:
                self.demo.prepare()
            scheduler.start()
            if self.demo:
                self.demo.start()
            try:
                with _graceful_signals():
                    server.run()
            finally:
                if self.demo:
                    self.demo.stop()
                scheduler.shutdown(wait=True)
                worker.stop()
                for collector in collectors:
                    collector.close()
        finally:
            store.close()

    def _scheduler(
        self,
        collectors: Sequence[Collector],
        pipeline: IngestPipeline,
        worker: PipelineWorker,
        store: Store,
    ) -> BackgroundScheduler:
        # APScheduler logs every run of every job at INFO: a line per file poll.
        quiet = logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.WARNING
        logging.getLogger("apscheduler").setLevel(quiet)
        scheduler = BackgroundScheduler(
            timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1}
        )
        for collector in collectors:
            # Files are polled: portable, and rotation is checked on the same beat.
            scheduler.add_job(
                collector.poll,
                "interval",
                seconds=collector.poll_interval,
                id=f"poll:{collector.name}",
                next_run_time=datetime.now(UTC),
            )
        scheduler.add_job(
            pipeline.close_incident_windows,
            "interval",
            seconds=WINDOW_CLOSING_SECONDS,
            id="close-incident-windows",
        )
        scheduler.add_job(
            store.maintain, "interval", minutes=MAINTENANCE_MINUTES, id="store-maintenance"
        )
        delay = timedelta(seconds=self.settings.pipeline.correlation_close_delay_seconds)
        scheduler.add_job(
            lambda: worker.advance_clock(datetime.now(UTC) - delay),
            "interval",
            seconds=CORRELATION_CLOCK_SECONDS,
            id="correlation-clock",
        )
        return scheduler


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


@contextmanager
def _graceful_signals() -> Iterator[None]:
    """Let SIGINT/SIGTERM end only the server loop.

    uvicorn re-raises the signal it caught once it has shut down, which would kill the
    process before the collectors, pipeline queue and store are closed; with these
    handlers in place that re-raise is a no-op and shutdown runs to its end.
    """

    def note(sig: int, frame: FrameType | None) -> None:
        log.info("received %s; shutting down", signal.Signals(sig).name)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
