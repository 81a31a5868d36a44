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
from canhgac.api.routes import exports_router, health_router, incidents_router, me_router
from canhgac.config import Settings
from canhgac.storage import Store, StoreError

log = logging.getLogger(__name__)

_DESCRIPTION = """\
canhgac's incident API: read the incidents the Sigma correlator raised, with their alerts
and evidence events, and record an analyst's triage (status, assignee, reason) with a full
audit trail.

Every route under `/api/v1` needs an API key, sent as `Authorization: Bearer KEY`
(`canhgac apikey create` makes one). Roles: viewer reads; analyst also changes incidents;
admin may do everything. Times are ISO-8601 with a UTC offset.
"""

_TAGS = [
    {"name": "incidents", "description": "Incidents, their evidence and their triage."},
    {"name": "health", "description": "Liveness and store health, without authentication."},
    {"name": "exports", "description": "Incidents as CSV, JSON or STIX 2.1 for reports and CERTs."},
    {"name": "session", "description": "The calling key: name, role, the panel's time zone."},
]


def canhgac_version() -> str:
    """The installed canhgac version."""
    try:
        return version("canhgac")
    except PackageNotFoundError:
        # A development checkout is imported through a link, not installed as a distribution.
        return "0+dev"


def create_app(store: Store, settings: Settings) -> FastAPI:
    """The API serving `store`. The caller owns the store: the app never closes it."""
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
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_request_bytes)
    app.add_exception_handler(StoreError, _store_unavailable)
    app.include_router(health_router())
    app.include_router(incidents_router())
    app.include_router(me_router())
    app.include_router(exports_router())
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
