"""/api/v1/incidents: list, read, and change incidents, and read their audit trail."""

from dataclasses import replace
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, status
from pydantic import AwareDatetime

from canhgac.api._deps import AnalystDep, StoreDep, ViewerDep
from canhgac.api._schemas import (
    MAX_DETAIL_ALERTS,
    AuditEntryPublic,
    IncidentDetail,
    IncidentPatch,
    IncidentPublic,
    IncidentsPublic,
    audit_entry_public,
    evidence_event_ids,
    incident_detail,
    incident_public,
)
from canhgac.api.routes._responses import AUTH_RESPONSES, error_response
from canhgac.correlator import Severity
from canhgac.incidents import Incident, IncidentStatus
from canhgac.storage import IncidentNotFoundError, IncidentQuery, InvalidCursorError, Store

_OFFSET = "It needs an offset: Z, or +07:00 written %2B07:00 in a URL."
IncidentId = Annotated[str, Path(description="The incident's id, e.g. inc-3f2a...")]


_error = error_response
_FORBIDDEN: dict[int | str, dict[str, Any]] = {
    status.HTTP_403_FORBIDDEN: _error("The API key's role is below analyst."),
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    status.HTTP_404_NOT_FOUND: _error("No incident has this id."),
}


def incident_filters(
    status_: Annotated[
        list[IncidentStatus] | None,
        Query(alias="status", description="Any of these statuses (repeat the parameter)."),
    ] = None,
    severity: Annotated[
        list[Severity] | None, Query(description="Any of these severities (repeatable).")
    ] = None,
    system: Annotated[list[str] | None, Query(description="Any of these systems (repeatable).")] = (
        None
    ),
    organization: Annotated[
        list[str] | None, Query(description="Any of these organizations (repeatable).")
    ] = None,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Only incidents last seen at or after this ISO-8601 time. " + _OFFSET),
    ] = None,
    until: Annotated[
        AwareDatetime | None,
        Query(description="Only incidents first seen before this ISO-8601 time. " + _OFFSET),
    ] = None,
) -> IncidentQuery:
    """The filters shared by the listing and the exports, as the store's query."""
    return IncidentQuery(
        statuses=tuple(status_ or ()),
        severities=tuple(severity or ()),
        systems=tuple(system or ()),
        organizations=tuple(organization or ()),
        since=since.astimezone(UTC) if since else None,
        until=until.astimezone(UTC) if until else None,
    )


IncidentFiltersDep = Annotated[IncidentQuery, Depends(incident_filters)]


def list_incidents(
    store: StoreDep,
    _: ViewerDep,
    filters: IncidentFiltersDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Incidents per page.")] = 50,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the previous page.")
    ] = None,
) -> IncidentsPublic:
    """Incidents matching every given filter, newest last_seen first, one page at a time."""
    query = replace(filters, limit=limit, cursor=cursor)
    try:
        page = store.list_incidents(query)
    except InvalidCursorError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    return IncidentsPublic(
        items=[incident_public(i) for i in page.items],
        total=page.total,
        next_cursor=page.next_cursor,
    )


def get_incident(incident_id: IncidentId, store: StoreDep, _: ViewerDep) -> IncidentDetail:
    """The incident with its alerts, their evidence events and its audit trail."""
    incident = _existing(store, incident_id)
    alerts = store.incident_alerts(incident_id, limit=MAX_DETAIL_ALERTS)
    event_ids, truncated = evidence_event_ids(alerts)
    events = store.get_events(event_ids)
    history = store.incident_history(incident_id)
    return incident_detail(incident, alerts, events, truncated, history)


def update_incident(
    incident_id: IncidentId,
    patch: Annotated[IncidentPatch, Body()],
    store: StoreDep,
    principal: AnalystDep,
) -> IncidentPublic:
    """Change the status or assignee; each changed field adds an audit entry naming the key."""
    try:
        incident = store.update_incident(incident_id, patch.to_update(), actor=principal.name)
    except IncidentNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    return incident_public(incident)


def incident_history(
    incident_id: IncidentId, store: StoreDep, _: ViewerDep
) -> list[AuditEntryPublic]:
    """The incident's audit trail, oldest first."""
    _existing(store, incident_id)
    return [audit_entry_public(e) for e in store.incident_history(incident_id)]


def _existing(store: Store, incident_id: str) -> Incident:
    incident = store.get_incident(incident_id)
    if incident is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"there is no incident {incident_id!r}; list incidents to find its id",
        )
    return incident


def incidents_router() -> APIRouter:
    """The /api/v1/incidents routes, each declaring the role it needs."""
    router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "",
        list_incidents,
        methods=["GET"],
        summary="List incidents",
        response_model=IncidentsPublic,
        responses={status.HTTP_400_BAD_REQUEST: _error("The cursor is not one this API gave.")},
    )
    router.add_api_route(
        "/{incident_id}",
        get_incident,
        methods=["GET"],
        summary="Read an incident with its alerts, evidence and history",
        response_model=IncidentDetail,
        responses=_NOT_FOUND,
    )
    router.add_api_route(
        "/{incident_id}",
        update_incident,
        methods=["PATCH"],
        summary="Change an incident's status or assignee (analyst role)",
        response_model=IncidentPublic,
        responses=_NOT_FOUND | _FORBIDDEN,
    )
    router.add_api_route(
        "/{incident_id}/history",
        incident_history,
        methods=["GET"],
        summary="Read an incident's audit trail",
        response_model=list[AuditEntryPublic],
        responses=_NOT_FOUND,
    )
    return router
