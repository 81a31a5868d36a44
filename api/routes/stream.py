"""GET /api/v1/stream: incidents created and changed, as Server-Sent Events.

The route polls the store every second for the incidents changed since its cursor
(`Store.incidents_changed_since`), so it works the same when the ingest runs in another
process. Each event's `id:` is the feed's cursor right after it: a client reconnecting
with that id as Last-Event-ID gets every later change, and none it had.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from canhgac.api._deps import StoreDep, ViewerDep
from canhgac.api._schemas import incident_public
from canhgac.api.routes._responses import AUTH_RESPONSES, error_response
from canhgac.storage import (
    IncidentChanges,
    InvalidCursorError,
    OrganizationScope,
    Store,
    StoreError,
)

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 2000  # the reconnection delay the client is told to wait
_PAGE = 200


def sse_event(change_kind: str, event_id: str, data: str) -> str:
    """One Server-Sent Event (data is one line of JSON)."""
    return f"id: {event_id}\nevent: {change_kind}\ndata: {data}\n\n"


async def _changes(store: Store, cursor: str | None, scope: OrganizationScope) -> IncidentChanges:
    return await run_in_threadpool(store.incidents_changed_since, cursor, scope, _PAGE)


async def incident_events(
    request: Request,
    store: Store,
    scope: OrganizationScope,
    first: IncidentChanges,
    max_seconds: float | None,
) -> AsyncIterator[str]:
    """The stream's text: the changes of `first`, then of each poll, with a keepalive
    comment whenever nothing was sent for KEEPALIVE_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = None if max_seconds is None else loop.time() + max_seconds
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    quiet_since = loop.time()
    changes = first
    while True:
        for change in changes.changes:
            kind = "incident.created" if change.created else "incident.updated"
            yield sse_event(kind, change.cursor, incident_public(change.incident).model_dump_json())
            quiet_since = loop.time()
        full = len(changes.changes) >= _PAGE
        now = loop.time()
        if deadline is not None and now >= deadline and not full:
            return
        if now - quiet_since >= KEEPALIVE_SECONDS:
            yield ": keepalive\n\n"
            quiet_since = now
        if not full:
            if await request.is_disconnected():
                return
            wait = POLL_SECONDS if deadline is None else max(0.0, min(POLL_SECONDS, deadline - now))
            await asyncio.sleep(wait)
        try:
            changes = await _changes(store, changes.cursor, scope)
        except StoreError as exc:
            # The client reconnects with the last id it got: nothing is lost.
            log.warning("the incident stream stops: the store failed: %s", exc)
            return


def stream_incidents(
    request: Request,
    store: StoreDep,
    principal: ViewerDep,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="The id of the last event received: the stream resumes right after it.",
        ),
    ] = None,
    max_seconds: Annotated[
        float | None,
        Query(
            ge=0,
            le=86_400,
            description="Close the stream after this many seconds (0: send what is pending "
            "and close), for clients that poll; default: until the client leaves.",
        ),
    ] = None,
) -> StreamingResponse:
    """Incidents created (`incident.created`) and changed (`incident.updated`) from now,
    or after Last-Event-ID, as Server-Sent Events whose data is the incident; a
    `: keepalive` comment every 15 s when nothing happens."""
    scope = principal.scope
    try:
        # Read now, in the request: a bad Last-Event-ID is a 400, not a broken stream.
        first = store.incidents_changed_since(last_event_id or None, scope, _PAGE)
    except InvalidCursorError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    return StreamingResponse(
        incident_events(request, store, scope, first, max_seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def stream_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["incidents"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "/stream",
        stream_incidents,
        methods=["GET"],
        summary="Incidents created and changed, live (Server-Sent Events)",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "The event stream.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            status.HTTP_400_BAD_REQUEST: error_response(
                "Last-Event-ID is not an id this stream sent."
            ),
        },
    )
    return router
