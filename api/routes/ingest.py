"""POST /api/v1/ingest: ECS JSON lines from agents and forwarding collectors (the `ingest`
role only), and GET /api/v1/ingest/checkpoints, where a forwarding collector resumes.

The body format (one ECS document a line, an optional batch header with checkpoints) is
described in collectors/_ingest_body.py and the README. The answer comes once the batch
is stored: a sender that got 200 may forget it; one that got anything else sends it
again, and the events already stored are dropped as known.
"""

from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from canhgac.api._deps import Principal, StoreDep, require_role
from canhgac.api.routes._responses import AUTH_RESPONSES, error_response
from canhgac.collectors import DecodedIngest, IngestBodyError, decode_ingest_body
from canhgac.pipeline import BatchOutcome, CollectedBatch
from canhgac.storage import Role

INGEST_PREFIX = "/api/v1/ingest"
MAX_REPORTED_ERRORS = 100
_NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")
_SOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$"
_PRIVATE_CHECKPOINTS = ("correlator:", "scheduled:")


class IngestSink(Protocol):
    """Where ingested batches go: the correlator's pipeline worker."""

    def store(self, batch: CollectedBatch) -> BatchOutcome | None:
        """Queue `batch` (waiting while the queue is full) and wait until it is stored;
        None when that took too long (it may still be stored later)."""
        ...


class IngestLineErrorPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int = Field(description="Line number in the request body, from 1.")
    reason: str


class IngestResultPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str = Field(description="The source the events and counters are kept under.")
    accepted: int = Field(description="Lines that became events.")
    dead_lettered: int = Field(
        description="Lines kept as dead letters (with their line number and reason), plus "
        "dead letters a forwarding collector sent in the batch header."
    )
    stored: int = Field(description="Accepted events the store did not have yet.")
    duplicates: int = Field(description="Accepted events already stored (a batch sent again).")
    errors: list[IngestLineErrorPublic] = Field(
        description=f"Why lines were dead-lettered (the first {MAX_REPORTED_ERRORS})."
    )


class CheckpointPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    state: dict[str, object]


IngestDep = Annotated[Principal, Depends(require_role(Role.INGEST))]


async def ingest(
    request: Request,
    principal: IngestDep,
    source: Annotated[
        str | None,
        Query(
            pattern=_SOURCE_PATTERN,
            description="Source name for the events, counters and dead letters; the key's "
            "name when absent. A forwarding collector sends its configured source name.",
        ),
    ] = None,
) -> IngestResultPublic:
    """Store ECS JSON lines (`application/x-ndjson`) as events: each line is parsed like a
    `format: json` file's line; bad lines become dead letters. Answers once stored."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _NDJSON_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="send ECS JSON lines with 'Content-Type: application/x-ndjson'",
        )
    name = source or principal.name
    body = await request.body()
    settings = request.app.state.settings
    try:
        decoded: DecodedIngest = await run_in_threadpool(
            decode_ingest_body, body, source=name, timezone=settings.zone
        )
    except IngestBodyError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    sink: IngestSink = request.app.state.ingest
    outcome = await run_in_threadpool(sink.store, decoded.batch)
    if outcome is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the batch was not stored in time (the store may be down); send it "
            "again later: events already stored are dropped as known",
            headers={"Retry-After": "5"},
        )
    return IngestResultPublic(
        source=name,
        accepted=len(decoded.batch.events),
        dead_lettered=len(decoded.batch.dead_letters),
        stored=outcome.events,
        duplicates=outcome.duplicates,
        errors=[
            IngestLineErrorPublic(line=e.line, reason=e.reason)
            for e in decoded.errors[:MAX_REPORTED_ERRORS]
        ],
    )


def checkpoint(
    principal: IngestDep,
    store: StoreDep,
    name: Annotated[str, Query(min_length=3, max_length=4096)],
) -> CheckpointPublic:
    """A collector's stored position, where a forwarding collector resumes after a restart."""
    saved = None if name.startswith(_PRIVATE_CHECKPOINTS) else store.checkpoint(name)
    if saved is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no checkpoint named {name!r}")
    return CheckpointPublic(name=saved.name, state=dict(saved.state))


def ingest_router() -> APIRouter:
    router = APIRouter(prefix=INGEST_PREFIX, tags=["ingest"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "",
        ingest,
        methods=["POST"],
        summary="Send ECS JSON lines",
        response_model=IngestResultPublic,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            }
        },
        responses={
            status.HTTP_400_BAD_REQUEST: error_response("The batch header is malformed."),
            status.HTTP_403_FORBIDDEN: error_response("The key's role is not ingest."),
            status.HTTP_413_CONTENT_TOO_LARGE: error_response(
                "The body is larger than api.max_ingest_bytes; send smaller batches."
            ),
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: error_response(
                "The body is not application/x-ndjson."
            ),
        },
    )
    router.add_api_route(
        "/checkpoints",
        checkpoint,
        methods=["GET"],
        summary="A collector's stored position",
        response_model=CheckpointPublic,
        responses={
            status.HTTP_403_FORBIDDEN: error_response("The key's role is not ingest."),
            status.HTTP_404_NOT_FOUND: error_response("No such checkpoint."),
        },
    )
    return router
