"""FastAPI dependencies shared by the services: the runtime, a transactional session, auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.app import Runtime
from anbefal.common.auth import InvalidToken, Principal, verify_token
from anbefal.common.errors import ServiceError
from anbefal.common.kafka import Publisher


# Dependencies are `async def` even when they await nothing: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hand-off per request that cost ingest a fifth of its
# CPU under load (py-spy).
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route returns, rolled back if it raises."""
    async with runtime.sessionmaker() as session, session.begin():
        yield session


# scope="function": the commit happens before the response is sent. FastAPI's default ends a
# yield dependency after the response, so a client could get its 2xx (or a browser follow a
# redirect) before the transaction was committed, or even though the commit then failed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_publisher(runtime: RuntimeDep) -> Publisher:
    return runtime.publisher


PublisherDep = Annotated[Publisher, Depends(get_publisher)]

_bearer = HTTPBearer(auto_error=False, description="JWT from `anbefal token issue`")


async def get_principal(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise ServiceError(
            401, "unauthenticated", "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        return verify_token(runtime.settings.jwt_secret.get_secret_value(), credentials.credentials)
    except InvalidToken as exc:
        raise ServiceError(
            401,
            "invalid_token",
            f"bearer token rejected: {exc}",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def authorize(principal: Principal, tenant: str, roles: set[str]) -> None:
    """A token only ever acts for its own tenant, and only in the roles given."""
    if principal.tenant != tenant:
        raise ServiceError(403, "wrong_tenant", "token is not valid for this tenant")
    if principal.role not in roles:
        raise ServiceError(
            403,
            "forbidden",
            f"role {principal.role!r} may not do this; needs one of {sorted(roles)}",
        )
