"""GET /api/v1/stats: the IOC dashboard's figures over the incidents the key may see."""

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from canhgac.api._deps import StoreDep, ViewerDep
from canhgac.api._schemas import StatsPublic, stats_public
from canhgac.api.routes._responses import AUTH_RESPONSES

_OFFSET = "It needs an offset: Z, or +07:00 written %2B07:00 in a URL."


def incident_stats(
    store: StoreDep,
    principal: ViewerDep,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Only incidents created at or after this ISO-8601 time. " + _OFFSET),
    ] = None,
    until: Annotated[
        AwareDatetime | None,
        Query(
            description="Only incidents created before this ISO-8601 time; the hourly and "
            "daily series end here (default: now). " + _OFFSET
        ),
    ] = None,
) -> StatsPublic:
    """Counts by severity, status, system and organization, open incidents, mean times
    to acknowledge and to resolve, top rules and source addresses, and incidents created
    by hour (48 h) and by day (30 days)."""
    stats = store.incident_stats(
        since.astimezone(UTC) if since else None,
        until.astimezone(UTC) if until else None,
        principal.scope,
    )
    return stats_public(stats)


def stats_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["incidents"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "/stats",
        incident_stats,
        methods=["GET"],
        summary="Incident statistics for the IOC dashboard",
        response_model=StatsPublic,
    )
    return router
