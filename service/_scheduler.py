"""The APScheduler jobs of each component: collector polls, the correlation clock,
incident windows, store maintenance, scheduled detection, the forwarding spool's drain."""

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from canhgac.collectors import Collector
from canhgac.config import Settings
from canhgac.pipeline import IngestPipeline, PipelineWorker
from canhgac.scheduled import ScheduledDetection
from canhgac.service._live_state import LIVE_STATE_SECONDS, ServiceLiveState
from canhgac.storage import Store
from canhgac.tuning import RELOAD_SECONDS, LiveRuleTuning

log = logging.getLogger(__name__)

WINDOW_CLOSING_SECONDS = 60
MAINTENANCE_MINUTES = 10
CORRELATION_CLOCK_SECONDS = 15
SPOOL_DRAIN_SECONDS = 2


def new_scheduler() -> BackgroundScheduler:
    # APScheduler logs every run of every job at INFO: a line per file poll.
    quiet = logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.WARNING
    logging.getLogger("apscheduler").setLevel(quiet)
    return BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})


def add_collector_jobs(scheduler: BackgroundScheduler, collectors: Sequence[Collector]) -> None:
    for collector in collectors:
        # Files are polled: portable, and rotation is checked on the same beat.
        scheduler.add_job(
            collector.poll,
            "interval",
            seconds=collector.poll_interval,
            id=f"poll:{collector.name}",
            next_run_time=datetime.now(UTC),
        )


def add_spool_drain_job(scheduler: BackgroundScheduler, drain: Callable[[], int]) -> None:
    scheduler.add_job(drain, "interval", seconds=SPOOL_DRAIN_SECONDS, id="forwarding-spool-drain")


def add_correlator_jobs(
    scheduler: BackgroundScheduler,
    settings: Settings,
    pipeline: IngestPipeline,
    worker: PipelineWorker,
    store: Store,
) -> None:
    scheduler.add_job(
        pipeline.close_incident_windows,
        "interval",
        seconds=WINDOW_CLOSING_SECONDS,
        id="close-incident-windows",
    )
    scheduler.add_job(
        store.maintain, "interval", minutes=MAINTENANCE_MINUTES, id="store-maintenance"
    )
    delay = timedelta(seconds=settings.pipeline.correlation_close_delay_seconds)
    scheduler.add_job(
        lambda: worker.advance_clock(datetime.now(UTC) - delay),
        "interval",
        seconds=CORRELATION_CLOCK_SECONDS,
        id="correlation-clock",
    )
    scheduler.add_job(
        ServiceLiveState(worker, store).write,
        "interval",
        seconds=LIVE_STATE_SECONDS,
        id="live-service",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        LiveRuleTuning(settings, store, pipeline, worker).refresh,
        "interval",
        seconds=RELOAD_SECONDS,
        id="rule-settings",
    )
    if settings.rules.scheduled:
        scheduled = ScheduledDetection.from_settings(settings, store)
        scheduler.add_job(
            scheduled.job(pipeline),
            "interval",
            minutes=settings.rules.schedule_minutes,
            id="scheduled-detection",
            next_run_time=datetime.now(UTC),
        )
