"""/api/v1/incidents: list, read, change, comment, merge incidents, and read their audit trail.

A key scoped to some organizations sees and changes their incidents only: another
organization's incident answers 404, exactly as an unknown id does.
"""

from dataclasses import replace
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, status
from pydantic import AwareDatetime

from canhgac.api._deps import AnalystDep, Principal, StoreDep, ViewerDep
from canhgac.api._schemas import (
    MAX_DETAIL_ALERTS,
    AuditEntryPublic,
    BulkResultPublic,
    BulkResultsPublic,
    CommentCreate,
    IncidentBulkPatch,
    IncidentDetail,
    IncidentPatch,
    IncidentPublic,
    IncidentsPublic,
    MergeRequest,
    audit_entry_public,
    evidence_event_ids,
    incident_detail,
    incident_public,
)
from canhgac.api.routes._responses import AUTH_RESPONSES, error_response
from canhgac.correlator import Severity
from canhgac.incidents import Incident, IncidentStatus
from canhgac.storage import (
    IncidentMergeError,
    IncidentNotFoundError,
    IncidentQuery,
    IncidentSort,
    InvalidCursorError,
    Store,
)

_OFFSET = "It needs an offset: Z, or +07:00 written %2B07:00 in a URL."
IncidentId = Annotated[str, Path(description="The incident's id, e.g. inc-3f2a...")]


_error = error_response
_FORBIDDEN: dict[int | str, dict[str, Any]] = {
    status.HTTP_403_FORBIDDEN: _error("The API key's role is below analyst."),
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    status.HTTP_404_NOT_FOUND: _error("No incident has this id (that the key may see)."),
}
_BAD_CURSOR: dict[int | str, dict[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: _error("The cursor is not one this API gave for this sort."),
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    status.HTTP_409_CONFLICT: _error(
        "The incidents cannot be merged: the same one, one merged already, or two organizations."
    ),
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
    rule: Annotated[
        list[str] | None, Query(description="Any of these rule ids (repeatable).")
    ] = None,
    entity: Annotated[
        list[str] | None,
        Query(
            description="Incidents about exactly this entity value, e.g. an IP address, a "
            "user or a host name (repeatable)."
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Free text: every word must appear in the title, rule title, "
            "entity, system, organization or assignee.",
        ),
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
        rules=tuple(rule or ()),
        entities=tuple(entity or ()),
        text=q,
        since=since.astimezone(UTC) if since else None,
        until=until.astimezone(UTC) if until else None,
    )


IncidentFiltersDep = Annotated[IncidentQuery, Depends(incident_filters)]


def list_incidents(
    store: StoreDep,
    principal: ViewerDep,
    filters: IncidentFiltersDep,
    sort: Annotated[
        IncidentSort,
        Query(
            description="Newest last_seen first (default), newest first_seen, most severe, "
            "or most alerts first; ties by newest last_seen."
        ),
    ] = IncidentSort.LAST_SEEN,
    limit: Annotated[int, Query(ge=1, le=500, description="Incidents per page.")] = 50,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the previous page (same sort).")
    ] = None,
) -> IncidentsPublic:
    """Incidents matching every given filter, in the sort asked for, one page at a time.
    `total` counts the matches exactly up to a cap, as Elasticsearch's track_total_hits
    does; past it, `total_relation` is gte (see the response's fields)."""
    query = replace(filters, sort=sort, limit=limit, cursor=cursor, scope=principal.scope)
    try:
        page = store.list_incidents(query)
    except InvalidCursorError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    return IncidentsPublic(
        items=[incident_public(i) for i in page.items],
        total=page.total,
        total_relation=page.total_relation,
        next_cursor=page.next_cursor,
    )


def get_incident(incident_id: IncidentId, store: StoreDep, principal: ViewerDep) -> IncidentDetail:
    """The incident with its alerts, their evidence events and its audit trail."""
    incident = visible_incident(store, incident_id, principal)
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
    """Change the status, assignee or severity; each changed field adds an audit entry
    naming the key."""
    visible_incident(store, incident_id, principal)
    try:
        incident = store.update_incident(incident_id, patch.to_update(), actor=principal.name)
    except IncidentNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except IncidentMergeError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    return incident_public(incident)


def bulk_update(
    bulk: Annotated[IncidentBulkPatch, Body()], store: StoreDep, principal: AnalystDep
) -> BulkResultsPublic:
    """Apply one change to many incidents, each on its own: one unknown id (or one the
    key may not see) fails alone, with the reason."""
    update = bulk.to_update()
    results: list[BulkResultPublic] = []
    for incident_id in dict.fromkeys(bulk.ids):
        incident = store.get_incident(incident_id)
        if incident is None or not principal.may_see(incident.organization):
            results.append(BulkResultPublic(id=incident_id, ok=False, detail=_missing(incident_id)))
            continue
        try:
            store.update_incident(incident_id, update, actor=principal.name)
        except IncidentNotFoundError:
            results.append(BulkResultPublic(id=incident_id, ok=False, detail=_missing(incident_id)))
            continue
        except IncidentMergeError as exc:
            results.append(BulkResultPublic(id=incident_id, ok=False, detail=str(exc)))
            continue
        results.append(BulkResultPublic(id=incident_id, ok=True))
    return BulkResultsPublic(results=results)


def add_comment(
    incident_id: IncidentId,
    comment: Annotated[CommentCreate, Body()],
    store: StoreDep,
    principal: AnalystDep,
) -> AuditEntryPublic:
    """Add a comment to the incident's audit trail (action "comment")."""
    visible_incident(store, incident_id, principal)
    try:
        entry = store.add_comment(incident_id, comment.text, actor=principal.name)
    except IncidentNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    return audit_entry_public(entry)


def merge_incident(
    incident_id: IncidentId,
    merge: Annotated[MergeRequest, Body()],
    store: StoreDep,
    principal: AnalystDep,
) -> IncidentPublic:
    """Merge `source_id` into this incident: its alerts move here (counts, first and last
    seen and severity follow), it becomes merged into this one; both audited."""
    visible_incident(store, incident_id, principal)
    visible_incident(store, merge.source_id, principal)
    try:
        merged = store.merge_incidents(incident_id, merge.source_id, principal.name, merge.reason)
    except IncidentNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except IncidentMergeError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    return incident_public(merged)


def incident_history(
    incident_id: IncidentId, store: StoreDep, principal: ViewerDep
) -> list[AuditEntryPublic]:
    """The incident's audit trail, oldest first, comments included."""
    visible_incident(store, incident_id, principal)
    return [audit_entry_public(e) for e in store.incident_history(incident_id)]


def visible_incident(store: Store, incident_id: str, principal: Principal) -> Incident:
    """The incident, or 404 when there is none or the key may not see it (the same
    answer: another organization's incidents are not disclosed)."""
    incident = store.get_incident(incident_id)
    if incident is None or not principal.may_see(incident.organization):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=_missing(incident_id))
    return incident


def _missing(incident_id: str) -> str:
    return f"there is no incident {incident_id!r}; list incidents to find its id"


def incidents_router() -> APIRouter:
    """The /api/v1/incidents routes, each declaring the role it needs."""
    router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "",
        list_incidents,
        methods=["GET"],
        summary="List incidents",
        response_model=IncidentsPublic,
        responses=_BAD_CURSOR,
    )
    # Before /{incident_id}, which would otherwise take "bulk" for an id.
    router.add_api_route(
        "/bulk",
        bulk_update,
        methods=["POST"],
        summary="Change many incidents at once (analyst role)",
        response_model=BulkResultsPublic,
        responses=_FORBIDDEN,
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
        summary="Change an incident's status, assignee or severity (analyst role)",
        response_model=IncidentPublic,
        responses=_NOT_FOUND
        | _FORBIDDEN
        | {status.HTTP_409_CONFLICT: _error("The incident was merged: its status stays.")},
    )
    router.add_api_route(
        "/{incident_id}/comments",
        add_comment,
        methods=["POST"],
        summary="Comment on an incident (analyst role)",
        response_model=AuditEntryPublic,
        responses=_NOT_FOUND | _FORBIDDEN,
    )
    router.add_api_route(
        "/{incident_id}/merge",
        merge_incident,
        methods=["POST"],
        summary="Merge another incident into this one (analyst role)",
        response_model=IncidentPublic,
        responses=_NOT_FOUND | _FORBIDDEN | _CONFLICT,
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
