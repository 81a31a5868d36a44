"""GET /api/v1/collectors: the correlator's live state and every source's counters.

The counters are read from the store (written with what they count); the service's state
and the sources' rates from `live:service`, which the correlator writes every 15 s
(service/_live_state.py), so any API process serves the same answer.
"""

from datetime import UTC, datetime
from typing import cast

from fastapi import APIRouter, Request

from canhgac.api._deps import StoreDep, ViewerDep
from canhgac.api._ops_schemas import (
    LIVE_SERVICE_CHECKPOINT,
    CollectorsPublic,
    ServiceLive,
    service_public,
    sources_public,
)
from canhgac.api.routes._responses import AUTH_RESPONSES
from canhgac.config import Settings
from canhgac.storage import Store


def read_service_live(store: Store) -> ServiceLive | None:
    """The correlator's last `live:service` document, or None."""
    stored = store.checkpoint(LIVE_SERVICE_CHECKPOINT)
    return ServiceLive.of(None if stored is None else stored.state)


def collectors(request: Request, store: StoreDep, principal: ViewerDep) -> CollectorsPublic:
    """The service's state and each source's counters. A key scoped to some
    organizations sees the configured sources tagging events with one of them, and no
    figures over every organization."""
    now = datetime.now(UTC)
    live = read_service_live(store)
    rates = live.events_per_second if live is not None and live.fresh(now) else {}
    settings = cast(Settings, request.app.state.settings)
    return CollectorsPublic(
        service=service_public(live, now, counts=principal.scope is None),
        sources=sources_public(
            store.source_counters().sources, settings.sources, rates, principal.scope
        ),
    )


def collectors_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["collectors"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "/collectors",
        collectors,
        methods=["GET"],
        summary="Collector and service health",
        response_model=CollectorsPublic,
    )
    return router
