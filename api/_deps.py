"""Request dependencies: the store, and who is calling with what role."""

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from canhgac.api._auth_failures import AuthFailureLimiter
from canhgac.api._keys import hash_api_key
from canhgac.storage import OrganizationScope, Role, Store

log = logging.getLogger(__name__)

BEARER_SCHEME = "ApiKey"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True, slots=True)
class Principal:
    """The API key a request was authenticated with; `name` is the actor in audit entries.

    A key scoped to `organizations` sees and acts on their incidents and events only:
    routes pass `scope` to the store, and answer 404 for another organization's
    incident, so that its existence is not disclosed."""

    key_id: str
    name: str
    role: Role
    organizations: tuple[str, ...] = ()

    @property
    def scope(self) -> OrganizationScope:
        """The organizations the key may see; None: every one."""
        return self.organizations or None

    def may_see(self, organization: str | None) -> bool:
        return not self.organizations or organization in self.organizations


def get_auth_failures(request: Request) -> AuthFailureLimiter:
    """The app's failed-authentication counter (one per app, made by create_app)."""
    return cast(AuthFailureLimiter, request.app.state.auth_failures)


def get_store(request: Request) -> Store:
    """The store the app was created with (its owner opens and closes it)."""
    return cast(Store, request.app.state.store)


StoreDep = Annotated[Store, Depends(get_store)]


def require_role(role: Role, *, every_organization: bool = False) -> Callable[..., Principal]:
    """A dependency that authenticates the request's API key and demands at least `role`.

    No or unknown or revoked key: 401 with `WWW-Authenticate: Bearer`. A key whose role
    is below `role`, or, with `every_organization` (what concerns all agencies, such as
    the rules), a key scoped to some organizations: 403.
    """
    bearer = HTTPBearer(
        auto_error=False,
        scheme_name=BEARER_SCHEME,
        bearerFormat="canhgac API key",
        description="An API key from `canhgac apikey create`, sent as `Authorization: Bearer KEY`.",
    )

    def authenticate(
        request: Request,
        store: StoreDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        limiter = get_auth_failures(request)
        address = request.client.host if request.client else "unknown"
        wait = limiter.retry_after(address)
        if wait is not None:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                detail="too many failed authentications from this address; wait and retry",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
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
            failures = limiter.record_failure(address)
            # Never the key itself: a mistyped key is often one character from the real one.
            log.warning(
                "authentication failed from %s on %s %s: %s key (%d failures in the last minute)",
                address,
                request.method,
                request.url.path,
                "revoked" if record else "unknown",
                failures,
            )
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="invalid or revoked API key: ask an administrator for a valid one",
                headers=_CHALLENGE,
            )
        principal = Principal(
            key_id=record.id,
            name=record.name,
            role=record.role,
            organizations=record.organizations,
        )
        if not principal.role.allows(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=(
                    f"this needs the {role.value} role; the key {principal.name!r} has the "
                    f"{principal.role.value} role"
                ),
            )
        if every_organization and principal.organizations:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=(
                    f"this concerns every organization; the key {principal.name!r} is "
                    "limited to some: use a key without organizations"
                ),
            )
        return principal

    return authenticate


ViewerDep = Annotated[Principal, Depends(require_role(Role.VIEWER))]
AnalystDep = Annotated[Principal, Depends(require_role(Role.ANALYST))]
