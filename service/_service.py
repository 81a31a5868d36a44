"""`Service`: what `canhgac run` is, as one process or as one component of a deployment.

It only picks the parts a component needs and owns their lifetimes; each part lives in
its own module. `all` (the default) is everything in one process; a larger province
runs `correlator` once, `api` and `collectors` as often as it likes (docs/scaling.md).
Start order: store, rules, pipeline worker, collectors (as scheduler jobs), HTTP.
Stop order is the reverse, so every batch read is stored before the store closes.
"""

from collections.abc import Sequence
from typing import Literal, get_args

from apscheduler.schedulers.background import BackgroundScheduler

from canhgac.api import create_app
from canhgac.collectors import Collector
from canhgac.config import Settings, SourceConfig
from canhgac.pipeline import IngestPipeline, PipelineWorker
from canhgac.service._collectors_component import CollectorsComponent, build_forwarder
from canhgac.service._correlator_component import CorrelatorComponent
from canhgac.service._demo import DemoReplay
from canhgac.service._scheduler import (
    add_collector_jobs,
    add_correlator_jobs,
    add_spool_drain_job,
    new_scheduler,
)
from canhgac.service._server import collectors_health_app, serve
from canhgac.service._setup import open_store
from canhgac.storage import Store

Component = Literal["all", "api", "collectors", "correlator"]
COMPONENTS: tuple[Component, ...] = get_args(Component)
"""all: everything in one process; correlator: pipeline, correlation clock, incident
windows, store maintenance and POST /api/v1/ingest; api: the read and analyst API;
collectors: the configured sources, forwarded to the correlator's ingest API."""


class Service:
    def __init__(
        self, settings: Settings, *, component: Component = "all", demo: DemoReplay | None = None
    ) -> None:
        if demo is not None and component != "all":
            raise ValueError("the demo runs every component in one process")
        self.settings = settings
        self.component = component
        self.demo = demo

    def sources(self) -> Sequence[SourceConfig]:
        extra = self.demo.sources if self.demo else []
        return [*self.settings.sources, *extra]

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM, then stop every part cleanly."""
        if self.component == "collectors":
            self._run_collectors()
            return
        store = open_store(self.settings)
        try:
            if self.component == "api":
                serve(create_app(store, self.settings), self.settings)
            else:
                self._run_correlator(store)
        finally:
            store.close()

    def _run_correlator(self, store: Store) -> None:
        """The correlator, with the local collectors and the read API when `all`."""
        settings = self.settings
        everything = self.component == "all"
        correlator = CorrelatorComponent(settings, store)
        collectors = CollectorsComponent(
            settings,
            self.sources() if everything else (),
            submit=correlator.submit,
            load_checkpoint=store.checkpoint,
        )
        scheduler = self._scheduler(
            collectors.collectors, correlator.pipeline, correlator.worker, store
        )
        app = create_app(store, settings, ingest=correlator, read_api=everything)
        correlator.start()
        collectors.start()
        if self.demo:
            self.demo.prepare()
        scheduler.start()
        if self.demo:
            self.demo.start()
        try:
            serve(app, settings)
        finally:
            if self.demo:
                self.demo.stop()
            scheduler.shutdown(wait=True)
            correlator.stop()
            collectors.close()

    def _scheduler(
        self,
        collectors: Sequence[Collector],
        pipeline: IngestPipeline,
        worker: PipelineWorker,
        store: Store,
    ) -> BackgroundScheduler:
        """The jobs of a correlator (and of its local collectors, when `all`)."""
        scheduler = new_scheduler()
        add_collector_jobs(scheduler, collectors)
        add_correlator_jobs(scheduler, self.settings, pipeline, worker, store)
        return scheduler

    def _run_collectors(self) -> None:
        """The configured sources, forwarded to the correlator; no store, no pipeline."""
        settings = self.settings
        forwarder = build_forwarder(settings)
        forwarder.start()
        try:
            collectors = CollectorsComponent(
                settings,
                self.sources(),
                submit=forwarder.submit,
                load_checkpoint=forwarder.load_checkpoint,
            )
            scheduler = new_scheduler()
            add_collector_jobs(scheduler, collectors.collectors)
            add_spool_drain_job(scheduler, forwarder.drain)
            collectors.start()
            scheduler.start()
            try:
                serve(collectors_health_app(forwarder), settings)
            finally:
                forwarder.interrupt()
                scheduler.shutdown(wait=True)
                collectors.close()
        finally:
            forwarder.close()
