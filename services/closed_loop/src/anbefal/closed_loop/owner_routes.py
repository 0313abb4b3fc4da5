"""closed_loop's API for the owners that answers are routed to: the account owners and segment
directors, and the people with their working hours. Each list is replaced as a whole (JSON or
CSV); a bad CSV file is refused naming every bad row, and nothing of it is loaded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.closed_loop import repository
from anbefal.closed_loop.models import OUTBOX
from anbefal.closed_loop.owners import AccountsDoc, OwnerCounts, PeopleDoc
from anbefal.closed_loop.owners_csv import CsvRefused, accounts_from_csv, people_from_csv
from anbefal.closed_loop.routes import Admin, Reader
from anbefal.common import audit
from anbefal.common.app import validation_details
from anbefal.common.auth import Principal
from anbefal.common.deps import SessionDep, TenantPath
from anbefal.common.errors import BadRequest, Unprocessable

router = APIRouter(tags=["owners"])
D = TypeVar("D", AccountsDoc, PeopleDoc)
CSV_TYPES = ("text/csv", "application/csv")


async def _document(request: Request, model: type[D], from_csv: Callable[[str], D]) -> D:
    """The body as `model`, from JSON or (Content-Type text/csv) CSV. 422 names each bad field;
    for CSV, each bad row by its line in the file (`row`, the header being 1) and column."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in CSV_TYPES:
            return from_csv(raw.decode("utf-8-sig"))
        data = orjson.loads(raw)
    except CsvRefused as exc:
        raise Unprocessable(
            "the file has bad rows; nothing of it was loaded",
            code="invalid_rows",
            details=[e.detail() for e in exc.errors],
        ) from exc
    except (UnicodeDecodeError, orjson.JSONDecodeError, ValueError) as exc:
        raise BadRequest(f"body is not valid JSON or CSV: {exc}", code="malformed_body") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable(
            "the document is invalid",
            code="invalid_owners",
            details=validation_details(exc.errors()),
        ) from exc


def _body_doc(model: type[BaseModel], csv_columns: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": model.model_json_schema()},
                "text/csv": {
                    "schema": {"type": "string", "description": f"columns: {csv_columns}"}
                },
            },
        }
    }


ACCOUNT_COLUMNS = (
    "account_id,salesperson,director (an account) or dimension,value,director (a segment)"
)
PEOPLE_COLUMNS = "email,name,time_zone,work_start,work_end,work_days,holiday_country"
CSV_REFUSAL = (
    " A bad CSV file is answered 422 `invalid_rows` with one detail per bad row (`row`: its "
    "line in the file, the header being 1; `field`: the column, empty for the whole row; "
    "`message`; `type`), and nothing of it is loaded."
)


async def _replace(
    tenant: str,
    request: Request,
    principal: Principal,
    session: AsyncSession,
    model: type[D],
    from_csv: Callable[[str], D],
    replace: Callable[[AsyncSession, str, D], Awaitable[None]],
    target: str,
    lists: tuple[str, ...],
) -> OwnerCounts:
    """Replace one of the tenant's owner lists with the body, audited with the counts before
    and after."""
    doc = await _document(request, model, from_csv)
    before = await repository.owner_counts(session, tenant)
    await replace(session, tenant, doc)
    after = OwnerCounts(tenant=tenant, **{n: len(getattr(doc, n)) for n in lists})
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=principal, action=f"owners.{target}_replaced",
        target=target,
        detail={n: {"from": getattr(before, n), "to": getattr(after, n)} for n in lists},
    )  # fmt: skip
    return after


Offset = Annotated[int, Query(ge=0, description="rows to skip in each list")]
Limit = Annotated[int | None, Query(ge=1, le=100_000, description="rows per list; default all")]


@router.put(
    "/v1/tenants/{tenant}/accounts",
    response_model=OwnerCounts,
    response_model_exclude_none=True,
    summary="Replace the account owners and segment directors (JSON or CSV)",
    description=(
        "Owner resolution for an answer: its `owners` hint, then its account, then its "
        "segments (first listed wins), then the tenant default; nobody: the fallback queue."
        + CSV_REFUSAL
    ),
    openapi_extra=_body_doc(AccountsDoc, ACCOUNT_COLUMNS),
)
async def put_accounts(
    tenant: TenantPath, request: Request, principal: Admin, session: SessionDep
) -> OwnerCounts:
    return await _replace(
        tenant, request, principal, session, AccountsDoc, accounts_from_csv,
        repository.replace_accounts, "accounts", ("accounts", "segments"),
    )  # fmt: skip


@router.get(
    "/v1/tenants/{tenant}/accounts", response_model=AccountsDoc,
    summary="The account owners (by account id) and segment directors (in order), paged",
)  # fmt: skip
async def get_accounts(
    tenant: TenantPath, principal: Reader, session: SessionDep, offset: Offset = 0,
    limit: Limit = None,
) -> AccountsDoc:  # fmt: skip
    return await repository.accounts_doc(session, tenant, offset, limit)


@router.put(
    "/v1/tenants/{tenant}/people",
    response_model=OwnerCounts,
    response_model_exclude_none=True,
    summary="Replace the people: time zone and working hours (JSON or CSV)",
    description="Business-hours due times count these hours; someone not listed works "
    "08:00-16:00 Monday to Friday in the tenant's time zone." + CSV_REFUSAL,
    openapi_extra=_body_doc(PeopleDoc, PEOPLE_COLUMNS),
)
async def put_people(
    tenant: TenantPath, request: Request, principal: Admin, session: SessionDep
) -> OwnerCounts:
    return await _replace(
        tenant, request, principal, session, PeopleDoc, people_from_csv,
        repository.replace_people, "people", ("people",),
    )  # fmt: skip


@router.get(
    "/v1/tenants/{tenant}/people", response_model=PeopleDoc,
    summary="The people and their working hours (by email), paged",
)  # fmt: skip
async def get_people(
    tenant: TenantPath, principal: Reader, session: SessionDep, offset: Offset = 0,
    limit: Limit = None,
) -> PeopleDoc:  # fmt: skip
    return await repository.people_doc(session, tenant, offset, limit)


@router.get(
    "/v1/tenants/{tenant}/owners", response_model=OwnerCounts,
    summary="How many accounts, segments and people are loaded",
)  # fmt: skip
async def get_owner_counts(
    tenant: TenantPath, principal: Reader, session: SessionDep
) -> OwnerCounts:
    return await repository.owner_counts(session, tenant)
