"""The API's routes, one module per resource; each builds its router on request."""

from canhgac.api.routes.collectors import collectors_router
from canhgac.api.routes.events import events_router
from canhgac.api.routes.exports import exports_router
from canhgac.api.routes.health import health_router
from canhgac.api.routes.incidents import incidents_router
from canhgac.api.routes.ingest import INGEST_PREFIX, IngestSink, ingest_router
from canhgac.api.routes.me import me_router
from canhgac.api.routes.metrics import metrics_router
from canhgac.api.routes.rules import rules_router
from canhgac.api.routes.stats import stats_router
from canhgac.api.routes.stream import stream_router

__all__ = [
    "INGEST_PREFIX",
    "IngestSink",
    "collectors_router",
    "events_router",
    "exports_router",
    "health_router",
    "incidents_router",
    "ingest_router",
    "me_router",
    "metrics_router",
    "rules_router",
    "stats_router",
    "stream_router",
]
