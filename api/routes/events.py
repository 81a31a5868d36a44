"""GET /api/v1/events: the stored events, searched by field, free text and time.

A key scoped to some organizations sees their events only (`organization.name`).
"""

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime

from canhgac.api._deps import StoreDep, ViewerDep
from canhgac.api._ops_schemas import EventsPublic
from canhgac.api.routes._responses import AUTH_RESPONSES, error_response
from canhgac.storage import EventFilter, EventQuery, EventQueryError, InvalidCursorError

_OFFSET = "It needs an offset: Z, or +07:00 written %2B07:00 in a URL."
MAX_FILTERS = 20

# A filter the store cannot search, or a search without the `since` SQLite needs, is
# answered as pydantic's 422 is (the parameter in `loc`, the reason in `msg`).
_RESPONSES: dict[int | str, dict[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: error_response("The cursor is not one this API gave."),
}


def _query_invalid(reason: str, value: object, *parameter: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", *parameter), "msg": reason, "type": "value_error", "input": value}]
    )


def parse_filter(text: str) -> EventFilter:
    """`field:value` (exact) or `field:value*` (prefix) as a filter; ValueError says why."""
    field, colon, value = text.partition(":")
    field = field.strip()
    if not colon or not field:
        raise ValueError(f"filter {text[:60]!r} is not field:value (e.g. source.ip:10.0.0.8)")
    prefix = value.endswith("*")
    if prefix:
        value = value[:-1]
    if not value:
        raise ValueError(f"filter {text[:60]!r} has no value: write field:value or field:prefix*")
    return EventFilter(field, value, prefix)


def search_events(
    store: StoreDep,
    principal: ViewerDep,
    filter_: Annotated[
        list[str] | None,
        Query(
            alias="filter",
            max_length=MAX_FILTERS,
            description="field:value, an exact value of a field (source.ip:203.113.131.5), "
            "or field:value* for values starting with it; repeat for several (all must "
            "hold). Multi-valued fields match on any value.",
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Free text: every word must appear in the event's message or "
            "original line (on Elasticsearch: in its full-text fields, message, "
            "error.message, url, user agent, command line; the original line is not "
            "indexed there).",
        ),
    ] = None,
    since: Annotated[
        AwareDatetime | None,
        Query(
            description="Only events at or after this ISO-8601 time. On the SQLite store "
            "a search by field or text needs it: SQLite indexes events by time only, so "
            "such a search reads every event from `since` on. " + _OFFSET
        ),
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Only events before this ISO-8601 time. " + _OFFSET)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per page.")] = 100,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the previous page.")
    ] = None,
) -> EventsPublic:
    """Stored events matching every filter and the free text, newest first, one page at
    a time (keyset pages: none repeats or skips an event)."""
    try:
        filters = tuple(parse_filter(text) for text in filter_ or ())
    except ValueError as exc:
        raise _query_invalid(str(exc), filter_, "filter") from exc
    query = EventQuery(
        filters=filters,
        text=q,
        since=since.astimezone(UTC) if since else None,
        until=until.astimezone(UTC) if until else None,
        limit=limit,
        cursor=cursor,
        scope=principal.scope,
    )
    try:
        page = store.search_events(query)
    except InvalidCursorError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    except EventQueryError as exc:
        raise _query_invalid(str(exc), None) from exc
    return EventsPublic(items=[e.to_ecs() for e in page.items], next_cursor=page.next_cursor)


def events_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["events"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "/events",
        search_events,
        methods=["GET"],
        summary="Search the stored events",
        response_model=EventsPublic,
        responses=_RESPONSES,
    )
    return router
