"""The error answers routes declare in the OpenAPI schema, shared by every router."""

from typing import Any

from fastapi import status

from canhgac.api._schemas import ErrorPublic


def error_response(description: str) -> dict[str, Any]:
    return {"model": ErrorPublic, "description": description}


# Every route under /api/v1 needs a key; the 503 is any store failure.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    status.HTTP_401_UNAUTHORIZED: error_response("No API key, or an unknown or revoked one."),
    status.HTTP_429_TOO_MANY_REQUESTS: error_response(
        "Too many failed authentications from this address; see Retry-After."
    ),
    status.HTTP_503_SERVICE_UNAVAILABLE: error_response("The store failed; the message says why."),
}
