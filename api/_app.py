"""`create_app`: the FastAPI application over a `Store`."""

import logging
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from canhgac.api._schemas import ErrorPublic
from canhgac.api.routes import health_router, incidents_router
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
    app.add_exception_handler(StoreError, _store_unavailable)
    app.include_router(health_router())
    app.include_router(incidents_router())
    return app


def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Known store failures (locked, closed, disk full...) are a 503, never a bare 500.
    # The store's message names files and may reach callers not yet authenticated (the
    # key lookup needs the store), so it goes to the server log, not into the response.
    log.error("%s %s: the store failed: %s", request.method, request.url.path, exc)
    body = ErrorPublic(
        detail="the store is unavailable; try again later, or see the server log for the cause"
    )
    return JSONResponse(body.model_dump(), status.HTTP_503_SERVICE_UNAVAILABLE)
