"""closed_loop's SQL but the actions' (`action_store`): tenants, answers, owners, rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.closed_loop.models import (
    TENANTS,
    AccountRow,
    AnswerRow,
    PersonRow,
    RuleSetHistory,
    RuleSetRow,
    SegmentOwnerRow,
)
from anbefal.closed_loop.owners import (
    AccountOwner,
    AccountsDoc,
    Directory,
    OwnerCounts,
    PeopleDoc,
    Person,
)
from anbefal.closed_loop.owners import SegmentOwner as SegmentOwnerDoc
from anbefal.closed_loop.rules import DEFAULT_RULE_SET, RoutingSettings, RuleSet, TenantRules
from anbefal.common.arrays import as_columns, table_of, unnest_insert
from anbefal.common.events import SurveyResponse, TenantSettings


async def routing_settings(session: AsyncSession, tenants: set[str]) -> dict[str, RoutingSettings]:
    stored = await TENANTS.load(session, tenants)
    found = {
        name: RoutingSettings(
            t.default_director, t.default_salesperson, t.follow_up_days, t.time_zone
        )
        for name, t in stored.items()
    }
    return {t: found.get(t, RoutingSettings()) for t in tenants}


async def anonymity_k(session: AsyncSession, tenant: str) -> int:
    """The tenant's k from its settings; the settings' default before any arrived."""
    stored = (await TENANTS.load(session, {tenant})).get(tenant)
    if stored is None:
        return int(TenantSettings.model_fields["anonymity_k"].default)
    return stored.anonymity_k


# The consumer's statements are constant SQL over arrays (`anbefal.common.arrays`).

# A version older than the one stored must not undo it.
_NEWER = (
    "ON CONFLICT (event_id) DO UPDATE SET tenant = excluded.tenant, "
    "version = excluded.version, answered_at = excluded.answered_at, "
    "response = excluded.response WHERE answers.version < excluded.version RETURNING event_id"
)
_STORE = unnest_insert(
    table_of(AnswerRow), ("event_id", "tenant", "version", "answered_at", "response"), _NEWER
)
_ACCOUNTS = text(
    "SELECT tenant, account_id, salesperson, director FROM closed_loop.accounts "
    "WHERE (tenant, account_id) IN (SELECT * FROM unnest(CAST(:tenant AS text[]), "
    "CAST(:account_id AS text[])))"
)


async def store_answers(
    session: AsyncSession, responses: Sequence[SurveyResponse]
) -> set[uuid.UUID]:
    """Keep each answer's latest version (one version per answer given); returns the answers
    whose given version is now the stored one. A version older than the one stored is not:
    arriving late, it must not undo a newer one."""
    if not responses:
        return set()
    # One array per column, built straight from the answers (no dict per row to take apart).
    columns: dict[str, list[object]] = {
        "event_id": [r.event_id for r in responses],
        "tenant": [r.tenant for r in responses],
        "version": [r.version for r in responses],
        "answered_at": [r.answered_at for r in responses],
        "response": [r.model_dump_json() for r in responses],
    }
    stored = await session.execute(_STORE, columns)
    return {e for (e,) in stored}


async def tenant_rules(
    session: AsyncSession, responses: Sequence[SurveyResponse]
) -> dict[str, TenantRules]:
    """Each tenant's rules, defaults and the owners its answers may need."""
    tenants = {r.tenant for r in responses}
    accounts: dict[str, set[str]] = {t: set() for t in tenants}
    for r in responses:
        if r.respondent.account_id:
            accounts[r.tenant].add(r.respondent.account_id)
    defaults = await routing_settings(session, tenants)
    sets = await rule_sets(session, tenants)
    clocked = {t for t in tenants if sets[t].uses_business_hours}
    found = await directories(session, accounts, clocked)
    return {t: TenantRules(defaults[t], sets[t], found[t]) for t in tenants}


async def directories(
    session: AsyncSession, accounts: dict[str, set[str]], people_of: set[str]
) -> dict[str, Directory]:
    """Each tenant's owners the answers may need: their accounts, all segments, and the people
    of the tenants in `people_of` (only business-hours clocks read working hours)."""
    tenants = set(accounts)
    found_accounts: dict[str, dict[str, AccountOwner]] = {t: {} for t in tenants}
    wanted = [(t, a) for t, ids in accounts.items() for a in ids]
    if wanted:
        rows = await session.execute(_ACCOUNTS, as_columns(wanted, ("tenant", "account_id")))
        for r in rows:
            found_accounts[r.tenant][r.account_id] = AccountOwner(
                account_id=r.account_id, salesperson=r.salesperson, director=r.director
            )
    segments: dict[str, list[SegmentOwnerDoc]] = {t: [] for t in tenants}
    for seg in await session.scalars(
        select(SegmentOwnerRow)
        .where(SegmentOwnerRow.tenant.in_(tenants))
        .order_by(SegmentOwnerRow.position)
    ):
        segments[seg.tenant].append(
            SegmentOwnerDoc(dimension=seg.dimension, value=seg.value, director=seg.director)
        )
    found_people: dict[str, dict[str, Person]] = {t: {} for t in tenants}
    if people_of:
        for p in await session.scalars(select(PersonRow).where(PersonRow.tenant.in_(people_of))):
            found_people[p.tenant][p.email] = Person.model_validate(p.person)
    return {
        t: Directory(accounts=found_accounts[t], segments=segments[t], people=found_people[t])
        for t in tenants
    }


async def replace_accounts(session: AsyncSession, tenant: str, doc: AccountsDoc) -> None:
    await session.execute(delete(AccountRow).where(AccountRow.tenant == tenant))
    await session.execute(delete(SegmentOwnerRow).where(SegmentOwnerRow.tenant == tenant))
    session.add_all(
        AccountRow(tenant=tenant, account_id=a.account_id, salesperson=a.salesperson,
                   director=a.director)
        for a in doc.accounts
    )  # fmt: skip
    session.add_all(
        SegmentOwnerRow(tenant=tenant, dimension=s.dimension, value=s.value, director=s.director,
                        position=i)
        for i, s in enumerate(doc.segments)
    )  # fmt: skip
    await session.flush()


async def accounts_doc(
    session: AsyncSession, tenant: str, offset: int = 0, limit: int | None = None
) -> AccountsDoc:
    """The accounts (by id) and segments (in order), each list from `offset`, `limit` long."""
    accounts = await session.scalars(
        select(AccountRow)
        .where(AccountRow.tenant == tenant)
        .order_by(AccountRow.account_id)
        .offset(offset)
        .limit(limit)
    )
    segments = await session.scalars(
        select(SegmentOwnerRow)
        .where(SegmentOwnerRow.tenant == tenant)
        .order_by(SegmentOwnerRow.position)
        .offset(offset)
        .limit(limit)
    )
    return AccountsDoc(
        accounts=[
            AccountOwner(account_id=a.account_id, salesperson=a.salesperson, director=a.director)
            for a in accounts
        ],
        segments=[
            SegmentOwnerDoc(dimension=s.dimension, value=s.value, director=s.director)
            for s in segments
        ],
    )


async def owner_counts(session: AsyncSession, tenant: str) -> OwnerCounts:
    def count(row: Any) -> Any:
        return select(func.count()).select_from(row).where(row.tenant == tenant).scalar_subquery()

    found = (
        await session.execute(select(count(AccountRow), count(SegmentOwnerRow), count(PersonRow)))
    ).one()
    return OwnerCounts(tenant=tenant, accounts=found[0], segments=found[1], people=found[2])


async def replace_people(session: AsyncSession, tenant: str, doc: PeopleDoc) -> None:
    await session.execute(delete(PersonRow).where(PersonRow.tenant == tenant))
    session.add_all(
        PersonRow(tenant=tenant, email=p.email.lower(), person=p.model_dump(mode="json"))
        for p in doc.people
    )
    await session.flush()


async def people_doc(
    session: AsyncSession, tenant: str, offset: int = 0, limit: int | None = None
) -> PeopleDoc:
    rows = await session.scalars(
        select(PersonRow)
        .where(PersonRow.tenant == tenant)
        .order_by(PersonRow.email)
        .offset(offset)
        .limit(limit)
    )
    return PeopleDoc(people=[Person.model_validate(r.person) for r in rows])


async def answers_between(
    session: AsyncSession, tenant: str, start: datetime, end: datetime, limit: int
) -> list[SurveyResponse]:
    """The latest version of each answer given in [start, end), oldest first."""
    rows = await session.scalars(
        select(AnswerRow.response)
        .where(
            AnswerRow.tenant == tenant,
            AnswerRow.answered_at >= start,
            AnswerRow.answered_at < end,
        )
        .order_by(AnswerRow.answered_at, AnswerRow.event_id)
        .limit(limit)
    )
    return [SurveyResponse.model_validate(doc) for doc in rows]


async def rule_sets(session: AsyncSession, tenants: set[str]) -> dict[str, RuleSet]:
    rows = await session.execute(
        select(RuleSetRow.tenant, RuleSetRow.rule_set).where(RuleSetRow.tenant.in_(tenants))
    )
    found = {t: RuleSet.model_validate(doc) for t, doc in rows}
    return {t: found.get(t, DEFAULT_RULE_SET) for t in tenants}


async def current_rule_set(session: AsyncSession, tenant: str) -> RuleSetRow | None:
    row: RuleSetRow | None = await session.get(RuleSetRow, tenant)
    return row


async def save_rule_set(
    session: AsyncSession, tenant: str, rule_set: RuleSet, who: str
) -> tuple[RuleSet, int]:
    """Store a new version (row lock: two admins saving at once get versions n+1 and n+2);
    returns the rule set it replaced (the defaults for the first) and the new version."""
    current = await session.get(RuleSetRow, tenant, with_for_update=True)
    replaced = RuleSet.model_validate(current.rule_set) if current else DEFAULT_RULE_SET
    version = (current.version if current else 0) + 1
    doc = rule_set.model_dump(mode="json")
    if current is None:
        session.add(RuleSetRow(tenant=tenant, version=version, rule_set=doc, updated_by=who))
    else:
        current.version, current.rule_set, current.updated_by = version, doc, who
        current.updated_at = func.now()
    session.add(RuleSetHistory(tenant=tenant, version=version, rule_set=doc, updated_by=who))
    await session.flush()
    return replaced, version


async def rule_set_history(session: AsyncSession, tenant: str, limit: int) -> list[RuleSetHistory]:
    rows = await session.scalars(
        select(RuleSetHistory)
        .where(RuleSetHistory.tenant == tenant)
        .order_by(RuleSetHistory.version.desc())
        .limit(limit)
    )
    return list(rows)
