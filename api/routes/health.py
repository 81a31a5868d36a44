"""GET /healthz: is the API up and can it read the store (no authentication)."""

import logging

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from canhgac.api._deps import StoreDep
from canhgac.api._schemas import HealthPublic, HealthUnavailable
from canhgac.storage import StoreError

log = logging.getLogger(__name__)


def healthz(request: Request, store: StoreDep) -> HealthPublic | JSONResponse:
    """Report ok when the store answers; 503 when it does not."""
    version = request.app.version
    try:
        store.ping()
    except StoreError as exc:
        log.error("health check: the store failed: %s", exc)
        body = HealthUnavailable(version=version)
        return JSONResponse(body.model_dump(mode="json"), status.HTTP_503_SERVICE_UNAVAILABLE)
    return HealthPublic(version=version)


def health_router() -> APIRouter:
    """GET /healthz, open to all: load balancers and monitors call it without a key."""
    router = APIRouter(tags=["health"])
    router.add_api_route(
        "/healthz",
        healthz,
        methods=["GET"],
        summary="Health check",
        response_model=HealthPublic,
        responses={
            status.HTTP_503_SERVICE_UNAVAILABLE: {
                "model": HealthUnavailable,
                "description": "The store cannot be read.",
            }
        },
    )
    return router
