"""GET /api/v1/me: who the key is, what it may do, and how the panel should show times."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from canhgac.api._deps import Principal, require_role
from canhgac.api.routes._responses import AUTH_RESPONSES
from canhgac.storage import Role


class MePublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The key's name: the actor in audit entries.")
    role: Role
    timezone: str = Field(description="IANA zone the panel shows times in.")
    version: str
    organizations: list[str] = Field(
        description="The organizations whose incidents and events the key may see; "
        "empty: every one."
    )


def me(
    request: Request, principal: Annotated[Principal, Depends(require_role(Role.VIEWER))]
) -> MePublic:
    """The calling key's name and role (the panel checks a key with it at sign-in)."""
    return MePublic(
        name=principal.name,
        role=principal.role,
        timezone=request.app.state.settings.timezone,
        version=request.app.version,
        organizations=list(principal.organizations),
    )


def me_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["session"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "/me", me, methods=["GET"], summary="The calling key", response_model=MePublic
    )
    return router
