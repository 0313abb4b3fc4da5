"""Signed task links: they name one task for one person and open nothing else."""

from __future__ import annotations

import uuid

import pytest

from anbefal.common.auth import InvalidToken, verify_token
from anbefal.common.crypto import Keyring, key_spec
from anbefal.devstack.testing import TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS
from anbefal.notify.models import Task, Tenant
from anbefal.notify.reach import page_for, trusted_owner
from anbefal.notify.settings import NotifySettings
from anbefal.notify.tasks import links
from anbefal.notify.tasks.links import TaskLink
from anbefal.notify.unsubscribe import tokens as unsubscribe

KEYRING = Keyring.parse(key_spec("l1"))
SECRET = "s" * 40


def task(**fields: object) -> Task:
    values: dict[str, object] = {
        "id": uuid.uuid4(), "tenant": "acme", "status": "open",
        "assignee": "Sales@Acme.example", "assignee_trusted": True,
    }  # fmt: skip
    values.update(fields)
    return Task(**values)


def test_a_link_names_one_task_for_one_person_and_cannot_be_altered() -> None:
    link = TaskLink("acme", uuid.uuid4(), "sales@acme.example", "assignee")
    token = links.sign(KEYRING, link)
    assert links.read(KEYRING, token) == link
    assert "sales" not in token.lower()
    kid, _, sealed = token.partition(".")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    assert links.read(KEYRING, f"{kid}.{flipped}") is None
    assert links.read(Keyring.parse(key_spec("l1")), token) is None  # another deployment


def test_task_links_unsubscribe_links_and_bearer_tokens_do_not_stand_in_for_each_other() -> None:
    link = links.sign(KEYRING, TaskLink("acme", uuid.uuid4(), "s@acme.example", "lead"))
    keys = unsubscribe.LinkKeys(KEYRING)
    assert unsubscribe.read(keys, link) is None
    unsub = unsubscribe.sign(keys, tenant="acme", email="s@acme.example", locale="da")
    assert links.read(KEYRING, unsub) is None
    with pytest.raises(InvalidToken):
        verify_token(SECRET, link)


def test_a_link_opens_only_its_own_open_task_while_it_is_the_owners() -> None:
    mine = task()
    owner = TaskLink("acme", mine.id, "sales@acme.example", "assignee")
    lead = TaskLink("acme", mine.id, "boss@acme.example", "lead")
    assert links.opens(owner, mine)
    assert links.opens(lead, mine)
    assert links.opens(owner, task(id=mine.id, status="claimed"))
    assert not links.opens(owner, task())  # another task
    assert not links.opens(owner, task(id=mine.id, tenant="other"))
    for closed in ("done", "cancelled"):
        assert not links.opens(owner, task(id=mine.id, status=closed))
        assert not links.opens(lead, task(id=mine.id, status=closed))
    given_away = task(id=mine.id, assignee="ida@acme.example")
    assert not links.opens(owner, given_away)
    assert links.opens(lead, given_away)


def test_owners_the_tenant_named_are_trusted_and_hints_only_at_its_domain() -> None:
    acme = Tenant(tenant="acme", sender_email="cx@acme.example")
    assert trusted_owner("s@else.example", "account", acme)
    assert trusted_owner("s@else.example", "default", None)
    assert not trusted_owner("s@else.example", "hint", acme)
    assert trusted_owner("s@ACME.example", "hint", acme)
    assert not trusted_owner("s@acme.example", "hint", None)
    assert not trusted_owner(None, "account", acme)


def test_the_page_a_mail_links_to_opens_for_its_recipient() -> None:
    settings = NotifySettings(
        jwt_secret=TEST_JWT_SECRET,
        unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,
        public_url="https://cx.example/",
    )
    keyring = settings.unsubscribe_link_keys().keyring
    owned = task()
    staff = {"ida@acme.example"}
    assert page_for(owned, "Ida@acme.example", staff=staff, settings=settings) == (
        f"https://cx.example/tasks/{owned.id}"
    )
    signed = page_for(owned, "sales@acme.example", staff=staff, settings=settings)
    assert signed is not None
    assert signed.startswith("https://cx.example/t/")
    read = links.read(keyring, signed.rpartition("/")[2])
    assert read == TaskLink("acme", owned.id, "sales@acme.example", "assignee")
    # An owner from the answer's hint, outside the tenant: no page opens for them, no mail.
    hinted = task(assignee_trusted=False)
    assert page_for(hinted, "sales@acme.example", staff=staff, settings=settings) is None
    # The tenant's own director is reached by a lead link, whoever owns the task.
    boss = page_for(hinted, "boss@acme.example", staff=staff, settings=settings, lead=True)
    assert boss is not None
    assert links.read(keyring, boss.rpartition("/")[2]) == TaskLink(
        "acme", hinted.id, "boss@acme.example", "lead"
    )
    assert page_for(owned, None, staff=staff, settings=settings) is None
