"""A reply to the respondent from their task (`tasks/reply.py`, the task page's form): drafted
in their language and signed as the tenant signs, queued in the email outbox once per form key,
logged on the task and in the email log, refused (in the page's language) when the respondent
has no address, unsubscribed or was erased, and cleared by erasure like any mail."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from anbefal.cli.users import add as add_staff
from anbefal.common.auth import Principal, Role
from anbefal.common.crypto import Keyring, key_spec
from anbefal.common.erasure import Subject
from anbefal.common.errors import Forbidden
from anbefal.common.events import Respondent
from anbefal.devstack.staffpage import form_token
from anbefal.devstack.testing import call_task_action
from anbefal.notify.models import Email, Tenant
from anbefal.notify.privacy import erasure
from anbefal.notify.reply_models import TaskReply
from anbefal.notify.tasks import reply
from anbefal.notify.unsubscribe import repository as suppressions

pytestmark = pytest.mark.integration
AGENT, PASSWORD = "agent@acme.example", "long enough password"
KEY = re.compile(r'name="key" value="([^"]+)"')


async def _task(api: Any, email: str | None, locale: str = "en", key: str = "c-1") -> str:
    action = call_task_action("acme", 3).model_copy(
        update={
            "respondent": Respondent(
                key=key, name="Ole Hansen", email=email, phone="+45 12 34 56 78", locale=locale
            )
        }
    )
    return str(await api.new_task(action))


@pytest.fixture
async def page(api: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A Danish agent logged in to the staff page; the tenant signs its mail "Kundeservice"."""
    async with api.maker() as session, session.begin():
        session.add(
            Tenant(
                tenant="acme",
                display_name="Acme A/S",
                locale="da",
                sender_name="Kundeservice",
                sender_email="cx@acme.example",
            )  # fmt: skip
        )
    await add_staff(
        api.url, tenant="acme", email=AGENT, name="Agent", role="agent", password=PASSWORD,
        locale="da",
    )  # fmt: skip
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app),
        base_url="http://test",
        headers={"Origin": "http://test"},
    ) as client:
        login = await client.get("/login")
        fields = {"tenant": "acme", "email": AGENT, "password": PASSWORD}
        await client.post("/login", data={**fields, "csrf": form_token(login.text)})
        client.cookies.set("anbefal_locale", "da")
        yield client


def _form(html: str, **fields: str) -> dict[str, str]:
    found = KEY.search(html)
    assert found, "no reply form on the page"
    return {"csrf": form_token(html), "key": found.group(1), **fields}


async def _replies(api: Any) -> tuple[list[Email], list[TaskReply]]:
    async with api.maker() as session:
        mails = list(await session.scalars(select(Email).where(Email.template == "reply")))
        rows = list(await session.scalars(select(TaskReply)))
    return mails, rows


async def test_a_reply_is_drafted_in_their_language_and_sent_once_per_form(
    api: Any, page: httpx.AsyncClient
) -> None:
    task_id = await _task(api, "Ole@Kunde.example", locale="en")
    html = (await page.get(f"/tasks/{task_id}")).text
    # An English respondent gets an English draft, signed as the tenant signs its mail.
    assert "Thank you for your answer to Acme A/S" in html
    assert "Dear Ole Hansen" in html
    assert "Kind regards\nKundeservice" in html
    assert "Til Ole@Kunde.example" in html  # the page itself is Danish
    # As a browser sends a textarea: lines ended by CRLF.
    form = _form(
        html, subject="About your answer", message="Dear Ole\r\n\r\nWe fixed it.\r\n\r\nIda"
    )
    for _ in range(2):  # a double submit
        sent = await page.post(f"/tasks/{task_id}/reply", data=form)
        assert sent.status_code == 303, sent.text
    mails, rows = await _replies(api)
    assert len(mails) == 1
    assert len(rows) == 1
    mail = mails[0]
    assert mail.id != rows[0].id
    assert mail.action_id == rows[0].id
    assert rows[0].author == AGENT
    assert mail.recipient == "Ole@Kunde.example"
    assert mail.reply_to == AGENT
    assert mail.sender == "Kundeservice <cx@acme.example>"
    assert mail.subject == "About your answer"
    assert mail.body.startswith("Dear Ole\n\nWe fixed it.\n\nIda\n")
    assert mail.unsubscribe_url
    assert mail.unsubscribe_url in mail.body
    assert "No more mail from us?" in mail.body
    assert mail.respondent_key == "c-1"
    assert mail.status == "pending"
    # Logged on the task, and in the email log.
    shown = (await page.get(f"/tasks/{task_id}")).text
    assert "sendte “About your answer”" in shown
    assert "venter på at blive sendt" in shown
    async with api.client("director") as director:
        log = (await director.get("/emails")).json()
    assert [e["template"] for e in log["emails"]] == ["reply"]
    # A new form has a new key: a second reply is a second mail.
    again = _form(shown, subject="One more thing", message="Also this.")
    assert (await page.post(f"/tasks/{task_id}/reply", data=again)).status_code == 303
    assert len((await _replies(api))[0]) == 2


async def test_a_danish_respondent_gets_a_danish_draft(api: Any, page: httpx.AsyncClient) -> None:
    task_id = await _task(api, "ole@kunde.example", locale="da")
    html = (await page.get(f"/tasks/{task_id}")).text
    assert "Tak for dit svar til Acme A/S" in html
    assert "Kære Ole Hansen" in html
    assert "Venlig hilsen\nKundeservice" in html


async def test_an_empty_reply_is_refused_in_the_pages_language(
    api: Any, page: httpx.AsyncClient
) -> None:
    task_id = await _task(api, "ole@kunde.example")
    html = (await page.get(f"/tasks/{task_id}")).text
    refused = await page.post(
        f"/tasks/{task_id}/reply", data=_form(html, subject="Hej", message="  ")
    )
    assert refused.status_code == 422
    assert "Skriv beskeden." in refused.text
    refused = await page.post(
        f"/tasks/{task_id}/reply",
        data=_form(html, subject="Hej\r\nBcc: x@evil.example", message="x"),
    )
    assert refused.status_code == 422
    assert "Skriv et emne." in refused.text
    assert (await _replies(api))[0] == []


async def test_no_reply_without_an_address_or_after_an_unsubscribe_or_erasure(
    api: Any, page: httpx.AsyncClient
) -> None:
    keyring = Keyring.parse(key_spec("k1", b"k" * 32))
    no_address = await _task(api, None, key="c-1")
    unsubscribed = await _task(api, "gone@kunde.example", key="c-2")
    erased = await _task(api, "erased@kunde.example", key="c-3")
    forms = {}
    for task_id in (unsubscribed, erased):
        forms[task_id] = _form((await page.get(f"/tasks/{task_id}")).text, subject="S", message="M")
    async with api.maker() as session, session.begin():
        await suppressions.suppress(session, "acme", "Gone@kunde.example", "unsubscribed")
        await erasure.erase(session, "acme", Subject(respondent_id="c-3"), keyring)
    cases = [
        (no_address, "Vi har ingen e-mailadresse på kunden."),
        (unsubscribed, "Kunden har afmeldt mails fra os."),
        (erased, "Kundens data er slettet."),
    ]
    for task_id, why in cases:
        html = (await page.get(f"/tasks/{task_id}")).text
        assert why in html, why  # in place of the form
        assert 'name="key"' not in html
        form = forms.get(task_id) or {"csrf": form_token(html), "key": str(uuid.uuid4()),
                                      "subject": "S", "message": "M"}  # fmt: skip
        refused = await page.post(f"/tasks/{task_id}/reply", data=form)
        assert refused.status_code == 422, why
        assert why in refused.text
    assert (await _replies(api))[0] == []


async def test_only_those_who_contact_respondents_reply(api: Any) -> None:
    task_id = uuid.UUID(await _task(api, "ole@kunde.example"))
    viewer = Principal(tenant="acme", role=Role.VIEWER, sub="view@acme.example")
    form = reply.ReplyIn(key=uuid.uuid4(), subject="S", message="M")
    async with api.maker() as session, session.begin():
        with pytest.raises(Forbidden):
            await reply.send(session, task_id, viewer, form, api.app.state.runtime.settings)


async def test_erasure_clears_a_sent_reply(api: Any, page: httpx.AsyncClient) -> None:
    task_id = await _task(api, "ole@kunde.example", key="c-9")
    html = (await page.get(f"/tasks/{task_id}")).text
    form = _form(html, subject="Om dit svar", message="Hej Ole, tak for snakken.")
    assert (await page.post(f"/tasks/{task_id}/reply", data=form)).status_code == 303
    async with api.maker() as session, session.begin():
        subject = Subject(respondent_id="c-9")
        await erasure.erase(session, "acme", subject, Keyring.parse(key_spec("k1", b"k" * 32)))
    mail = (await _replies(api))[0][0]
    assert (mail.recipient, mail.subject, mail.body) == (None, "[erased]", "[erased]")
    assert mail.status == "cancelled"  # not sent yet: it never will be


async def test_a_reply_form_without_the_sessions_token_sends_nothing(
    api: Any, page: httpx.AsyncClient
) -> None:
    task_id = await _task(api, "ole@kunde.example")
    html = (await page.get(f"/tasks/{task_id}")).text
    forged = {**_form(html, subject="S", message="M"), "csrf": "guessed"}
    refused = await page.post(f"/tasks/{task_id}/reply", data=forged)
    assert refused.status_code == 403
    elsewhere = await page.post(
        f"/tasks/{task_id}/reply",
        data=_form(html, subject="S", message="M"),
        headers={"Origin": "http://evil.example"},
    )
    assert elsewhere.status_code == 403
    assert (await _replies(api))[0] == []
