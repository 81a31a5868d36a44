"""GET /api/v1/exports/incidents: the incidents matching the listing's filters as CSV,
JSON or a STIX 2.1 bundle, streamed page by page from the store."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from canhgac.api._deps import StoreDep, ViewerDep
from canhgac.api._exports import incidents_csv, incidents_json, stix_bundle
from canhgac.api.routes._responses import AUTH_RESPONSES
from canhgac.api.routes.incidents import IncidentFiltersDep
from canhgac.incidents import Incident
from canhgac.storage import IncidentQuery, Store

_PAGE = 500
MAX_EXPORT = 200_000


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    STIX = "stix"


_MEDIA = {
    ExportFormat.CSV: ("text/csv; charset=utf-8", "csv"),
    ExportFormat.JSON: ("application/json", "json"),
    ExportFormat.STIX: ("application/stix+json;version=2.1", "stix.json"),
}


def _all_pages(store: Store, query: IncidentQuery, limit: int) -> Iterator[Incident]:
    cursor: str | None = None
    sent = 0
    while sent < limit:
        # total_cap=0: an export follows the cursor and never reads the total.
        page = store.list_incidents(
            replace(query, limit=min(_PAGE, limit - sent), cursor=cursor, total_cap=0)
        )
        yield from page.items
        sent += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return


def export_incidents(
    request: Request,
    store: StoreDep,
    principal: ViewerDep,
    filters: IncidentFiltersDep,
    format_: Annotated[
        ExportFormat, Query(alias="format", description="csv, json, or stix (a STIX 2.1 bundle).")
    ] = ExportFormat.CSV,
    limit: Annotated[
        int, Query(ge=1, le=MAX_EXPORT, description="At most this many incidents, newest first.")
    ] = MAX_EXPORT,
) -> StreamingResponse:
    """Every incident matching the filters (newest last_seen first) as one file; a key
    scoped to some organizations gets theirs only."""
    now = datetime.now(UTC)
    incidents = _all_pages(store, replace(filters, scope=principal.scope), limit)
    body: Iterator[str] | Iterator[bytes]
    if format_ is ExportFormat.CSV:
        body = incidents_csv(incidents)
    elif format_ is ExportFormat.JSON:
        body = incidents_json(incidents)
    else:
        producer = request.app.state.settings.api.soc_name
        body = stix_bundle(incidents, producer=producer, now=now)
    media, extension = _MEDIA[format_]
    filename = f"canhgac-incidents-{now:%Y%m%dT%H%M%SZ}.{extension}"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def exports_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/exports", tags=["exports"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "/incidents",
        export_incidents,
        methods=["GET"],
        summary="Export incidents as CSV, JSON or STIX 2.1",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "The file, streamed.",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                    "application/stix+json;version=2.1": {"schema": {"type": "object"}},
                },
            }
        },
    )
    return router
