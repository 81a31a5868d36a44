"""`create_app`: the FastAPI application over a `Store`."""

import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from canhgac.api._auth_failures import AuthFailureLimiter
from canhgac.api._body_limit import BodySizeLimit
from canhgac.api._schemas import ErrorPublic
from canhgac.api.routes import (
    INGEST_PREFIX,
    IngestSink,
    collectors_router,
    events_router,
    exports_router,
    health_router,
    incidents_router,
    ingest_router,
    me_router,
    metrics_router,
    rules_router,
    stats_router,
    stream_router,
)
from canhgac.config import Settings
from canhgac.storage import Store, StoreError

log = logging.getLogger(__name__)

_DESCRIPTION = """\
canhgac's incident API: read the incidents the Sigma correlator raised, with their alerts
and evidence events, and record an analyst's triage (status, assignee, reason) with a full
audit trail.

Every route under `/api/v1` needs an API key, sent as `Authorization: Bearer KEY`
(`canhgac apikey create` makes one). Roles: viewer reads; analyst also changes incidents;
admin may do all of that; ingest may only send events (POST /api/v1/ingest). Times are
ISO-8601 with a UTC offset.
"""

_TAGS = [
    {"name": "incidents", "description": "Incidents, their evidence and their triage."},
    {"name": "health", "description": "Liveness and store health, without authentication."},
    {"name": "exports", "description": "Incidents as CSV, JSON or STIX 2.1 for reports and CERTs."},
    {"name": "session", "description": "The calling key: name, role, the panel's time zone."},
    {"name": "ingest", "description": "ECS JSON lines from agents and forwarding collectors."},
    {"name": "events", "description": "The stored events, by field, free text and time."},
    {"name": "collectors", "description": "The sources' counters and the service's live state."},
    {"name": "metrics", "description": "Prometheus metrics (unscoped viewer keys)."},
    {
        "name": "rules",
        "description": "Rule health, enabling, levels, exceptions, uploads, backtests (admin).",
    },
]


def canhgac_version() -> str:
    """The installed canhgac version."""
    try:
        return version("canhgac")
    except PackageNotFoundError:
        # A development checkout is imported through a link, not installed as a distribution.
        return "0+dev"


def create_app(
    store: Store, settings: Settings, *, ingest: IngestSink | None = None, read_api: bool = True
) -> FastAPI:
    """The API serving `store`. The caller owns the store: the app never closes it.

    With `ingest`, POST /api/v1/ingest hands batches to it (the correlator component);
    without `read_api`, only that and /healthz are served.
    """
    app = FastAPI(
        title="canhgac",
        version=canhgac_version(),
        description=_DESCRIPTION,
        openapi_tags=_TAGS,
    )
    app.state.store = store
    app.state.settings = settings
    app.state.auth_failures = AuthFailureLimiter(settings.api.auth_failures_per_minute)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["Retry-After"],
            max_age=600,
        )
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.api.max_request_bytes,
        overrides={INGEST_PREFIX: settings.api.max_ingest_bytes} if ingest else None,
    )
    app.add_exception_handler(StoreError, _store_unavailable)
    app.include_router(health_router())
    if ingest is not None:
        app.state.ingest = ingest
        app.include_router(ingest_router())
    if read_api:
        app.include_router(incidents_router())
        app.include_router(me_router())
        app.include_router(exports_router())
        app.include_router(stats_router())
        app.include_router(stream_router())
        app.include_router(rules_router())
        app.include_router(events_router())
        app.include_router(collectors_router())
        app.include_router(metrics_router())
        _serve_panel(app)
    return app


def _serve_panel(app: FastAPI) -> None:
    """The IOC panel at /: static files, nothing to build; it calls the API with the key
    the analyst signs in with."""
    panel = Path(__file__).parent / "panel"

    def index() -> FileResponse:
        return FileResponse(panel / "index.html", headers={"Cache-Control": "no-cache"})

    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    app.mount("/panel", StaticFiles(directory=panel), name="panel")


def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Known store failures (locked, closed, disk full...) are a 503, never a bare 500.
    # The store's message names files and may reach callers not yet authenticated (the
    # key lookup needs the store), so it goes to the server log, not into the response.
    log.error("%s %s: the store failed: %s", request.method, request.url.path, exc)
    body = ErrorPublic(
        detail="the store is unavailable; try again later, or see the server log for the cause"
    )
    return JSONResponse(body.model_dump(), status.HTTP_503_SERVICE_UNAVAILABLE)
