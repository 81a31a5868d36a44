"""Request dependencies: the store, and who is calling with what role."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from canhgac.api._keys import hash_api_key
from canhgac.storage import Role, Store

BEARER_SCHEME = "ApiKey"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True, slots=True)
class Principal:
    """The API key a request was authenticated with; `name` is the actor in audit entries."""

    key_id: str
    name: str
    role: Role


def get_store(request: Request) -> Store:
    """The store the app was created with (its owner opens and closes it)."""
    return cast(Store, request.app.state.store)


StoreDep = Annotated[Store, Depends(get_store)]


def require_role(role: Role) -> Callable[..., Principal]:
    """A dependency that authenticates the request's API key and demands at least `role`.

    No or unknown or revoked key: 401 with `WWW-Authenticate: Bearer`. A key whose role
    is below `role`: 403.
    """
    bearer = HTTPBearer(
        auto_error=False,
        scheme_name=BEARER_SCHEME,
        bearerFormat="canhgac API key",
        description="An API key from `canhgac apikey create`, sent as `Authorization: Bearer KEY`.",
    )

    def authenticate(
        store: StoreDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        if credentials is None or not credentials.credentials:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail=(
                    "missing API key: send it as 'Authorization: Bearer KEY' "
                    "(an administrator creates keys with `canhgac apikey create`)"
                ),
                headers=_CHALLENGE,
            )
        # The lookup is by the SHA-256 of a high-entropy key, so lookup timing can only
        # reveal something about a hash, which does not help guess a key: no
        # constant-time comparison is needed.
        record = store.api_key_by_hash(hash_api_key(credentials.credentials))
        if record is None or record.revoked:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="invalid or revoked API key: ask an administrator for a valid one",
                headers=_CHALLENGE,
            )
        principal = Principal(key_id=record.id, name=record.name, role=record.role)
        if not principal.role.allows(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=(
                    f"this needs the {role.value} role; the key {principal.name!r} has the "
                    f"{principal.role.value} role"
                ),
            )
        return principal

    return authenticate


ViewerDep = Annotated[Principal, Depends(require_role(Role.VIEWER))]
AnalystDep = Annotated[Principal, Depends(require_role(Role.ANALYST))]
