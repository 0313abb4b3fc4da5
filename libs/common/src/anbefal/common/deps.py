"""FastAPI dependencies shared by the services: the runtime, a transactional session, auth, and
the factory of each service's typed state dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.app import Runtime
from anbefal.common.auth import DEPLOYMENT, InvalidToken, Principal, Role, verify_token
from anbefal.common.errors import Forbidden, Unauthenticated
from anbefal.common.events import TENANT_PATTERN
from anbefal.common.kafka import Publisher
from anbefal.common.settings import BaseServiceSettings

T = TypeVar("T")


# Dependencies are `async def` even when they await nothing: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hand-off per request that cost ingest a fifth of its
# CPU under load (py-spy).
async def get_runtime(request: Request) -> Runtime[BaseServiceSettings]:
    runtime: Runtime[BaseServiceSettings] = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime[BaseServiceSettings], Depends(get_runtime)]


def state_dependency(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """The dependency that hands routes the state their service's wiring built (`kind`), e.g.
    `IngestStateDep = Annotated[IngestState, Depends(state_dependency(IngestState))]`."""

    async def get_state(request: Request) -> T:
        state: T = request.app.state.wiring.state
        return state

    get_state.__name__ = f"get_{kind.__name__}"
    return get_state


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
        raise Unauthenticated("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    try:
        return verify_token(runtime.settings.signing_keys(), credentials.credentials)
    except InvalidToken as exc:
        raise Unauthenticated(
            f"bearer token rejected: {exc}",
            code="invalid_token",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


PrincipalDep = Annotated[Principal, Depends(get_principal)]


TenantPath = Annotated[str, Path(pattern=TENANT_PATTERN, description="Tenant slug")]


def authorize(principal: Principal, tenant: str, roles: Collection[Role]) -> None:
    """A token only ever acts for its own tenant, and only in the roles given."""
    if principal.tenant != tenant:
        raise Forbidden("token is not valid for this tenant", code="wrong_tenant")
    if principal.role not in roles:
        needed = sorted(str(role) for role in roles)
        raise Forbidden(f"role {str(principal.role)!r} may not do this; needs one of {needed}")


def allow(*roles: Role) -> Any:
    """The auth dependency of every tenant route: the caller's principal, once its bearer token
    is valid (401 otherwise), for the `{tenant}` in the path and in one of `roles` (403
    otherwise). Use as `Annotated[Principal, allow(Role.ADMIN, ...)]`."""
    admitted = frozenset(roles)

    async def principal_in_role(tenant: TenantPath, principal: PrincipalDep) -> Principal:
        authorize(principal, tenant, admitted)
        return principal

    return Depends(principal_in_role)


def allow_deployment(*roles: Role) -> Any:
    """The auth dependency of a deployment-wide route: a token whose tenant is `DEPLOYMENT`
    (no tenant's token, however privileged), in one of `roles`."""
    admitted = frozenset(roles)

    async def deployment_principal(principal: PrincipalDep) -> Principal:
        authorize(principal, DEPLOYMENT, admitted)
        return principal

    return Depends(deployment_principal)
