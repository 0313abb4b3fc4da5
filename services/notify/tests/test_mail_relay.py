"""Mail cannot be turned into a phishing relay: Reply-To only for the tenant's own staff, and no
link from a respondent's comment reaches a mail (issue 14, finding 7)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from anbefal.common.events import Action, Respondent
from anbefal.devstack.testing import TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS
from anbefal.notify.email.compose import respondent_mail, task_mail
from anbefal.notify.email.render import defang
from anbefal.notify.models import Task, Tenant
from anbefal.notify.settings import NotifySettings

SETTINGS = NotifySettings(
    jwt_secret=TEST_JWT_SECRET,
    unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,
    public_url="https://notify.example/",
)
ACME = Tenant(
    tenant="acme", display_name="Acme", locale="da", sender_name="Ida",
    sender_email="ida@acme.dk", default_director="boss@acme.dk",
)  # fmt: skip
PHISHING = (
    "Great! Log in at https://acme-login.evil.example/reset?x=1 or www.evil.example, "
    "see evil.example/login, mail support@evil.example, or <a href='http://x.evil'>here</a>"
)


def action(**values: object) -> Action:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "action_id": uuid.uuid4(), "tenant": "acme", "type": "email", "rule_id": "promoter",
        "response_event_id": uuid.uuid4(), "response_version": 1, "kind": "nps", "score": 10,
        "answered_at": now, "decided_at": now, "assignee": "director@acme.dk",
        "assignee_role": "director",
        "respondent": Respondent(key="c-1", name="Ole", email="ole@example.com", locale="en"),
    }  # fmt: skip
    return Action.model_validate({**base, **values})


def test_reply_to_an_address_the_answer_named_outside_the_tenant_is_the_tenants_default() -> None:
    row = respondent_mail(action(assignee="ceo@evil.example"), ACME, SETTINGS, None)
    assert row["reply_to"] == "boss@acme.dk"


def test_reply_to_is_kept_for_the_tenants_staff_and_its_own_mail_domain() -> None:
    outside = action(assignee="Director@Partner.example")
    staff = respondent_mail(outside, ACME, SETTINGS, None, staff={"director@partner.example"})
    assert staff["reply_to"] == "Director@Partner.example"
    same_domain = respondent_mail(action(assignee="sales@ACME.dk"), ACME, SETTINGS, None)
    assert same_domain["reply_to"] == "sales@ACME.dk"


def test_no_reply_to_without_a_default_when_the_address_is_not_the_tenants() -> None:
    bare = Tenant(tenant="acme", display_name="Acme", locale="en")
    assert (
        respondent_mail(action(assignee="x@evil.example"), bare, SETTINGS, None)["reply_to"] is None
    )
    assert (
        respondent_mail(action(assignee="x@evil.example"), None, SETTINGS, None)["reply_to"] is None
    )


@pytest.mark.parametrize("locale", ["en", "da"])
def test_no_link_from_a_comment_reaches_the_respondent(locale: str) -> None:
    respondent = Respondent(key="c-1", name="Ole", email="ole@example.com", locale=locale)
    row = respondent_mail(action(comment=PHISHING, respondent=respondent), ACME, SETTINGS, None)
    body = row["body"].replace(row["unsubscribe_url"], "")
    for piece in ("http", "www.", "evil.example", "x.evil"):
        assert piece not in body, body
    assert "Great!" in body


def test_no_link_from_a_comment_reaches_staff_mail() -> None:
    now = datetime.now(UTC)
    task = Task(
        id=uuid.uuid4(), tenant="acme", type="call_task", kind="nps", score=3,
        respondent={"key": "c-1", "name": "Ole"}, answered_at=now,
        due_at=now + timedelta(hours=48), assignee="agent@acme.dk", comment=PHISHING,
    )  # fmt: skip
    body = task_mail(task, ACME, SETTINGS, "assignment", task.assignee, link="x")["body"]
    assert "evil.example" not in body
    assert "https://acme-login" not in body


def test_defang_keeps_plain_words_and_numbers() -> None:
    assert defang("Slow support. Waited 2.5 hours, e.g. on day 3.") == (
        "Slow support. Waited 2.5 hours, e.g. on day 3."
    )
    assert defang(None) is None
