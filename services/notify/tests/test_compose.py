"""Composing mail is pure: the rows the consumer handler and the SLA clock write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from anbefal.common.events import Action, Respondent
from anbefal.devstack.testing import TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS
from anbefal.notify.email.compose import respondent_mail, task_mail
from anbefal.notify.models import Task, Tenant
from anbefal.notify.settings import NotifySettings
from anbefal.notify.unsubscribe import tokens

SETTINGS = NotifySettings(
    jwt_secret=TEST_JWT_SECRET,
    unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,
    public_url="https://notify.example/",
)
ACME = Tenant(
    tenant="acme", display_name="Acme", locale="da", sender_name="Ida", sender_email="ida@acme.dk"
)


def action(**values: object) -> Action:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "action_id": uuid.uuid4(), "tenant": "acme", "type": "email", "rule_id": "promoter",
        "response_event_id": uuid.uuid4(), "response_version": 1, "kind": "nps", "score": 10,
        "answered_at": now, "decided_at": now, "assignee": "director@acme.dk",
        "assignee_role": "director",
        "respondent": Respondent(key="c-1", name="Ole", email="Ole@Example.com", locale="en"),
    }  # fmt: skip
    return Action.model_validate({**base, **values})


def test_a_respondent_mail_is_keyed_by_its_action_and_carries_an_unsubscribe_link() -> None:
    a = action()
    row = respondent_mail(a, ACME, SETTINGS, "trace-1")
    assert row["action_id"] == a.action_id
    assert row["message_id"] == f"<{a.action_id}@acme.dk>"
    assert row["sender"] == "Ida <ida@acme.dk>"
    assert row["recipient"] == "Ole@Example.com"
    assert row["reply_to"] == "director@acme.dk"
    assert row["template"] == "thank_you"
    assert row["trace_id"] == "trace-1"
    assert "status" not in row  # pending: the table's default
    link = row["unsubscribe_url"]
    assert link.startswith("https://notify.example/unsubscribe/")
    assert link in row["body"]
    subscriber = tokens.read(SETTINGS.unsubscribe_link_keys(), link.rpartition("/")[2])
    assert subscriber == tokens.Subscriber(tenant="acme", email="ole@example.com", locale="en")


def test_a_cancelled_action_is_kept_but_never_sent() -> None:
    row = respondent_mail(action(cancelled=True), ACME, SETTINGS, None)
    assert row["status"] == "cancelled"


def test_without_an_address_there_is_no_unsubscribe_link() -> None:
    row = respondent_mail(action(respondent=Respondent(key="c-2")), None, SETTINGS, None)
    assert row["recipient"] is None
    assert row["unsubscribe_url"] is None
    # No tenant known yet: the deployment's sender, named after the tenant slug.
    assert row["sender"] == "acme <noreply@anbefal.localhost>"


def test_without_an_address_the_mail_is_kept_as_failed_and_never_waits_for_the_sender() -> None:
    # The log shows it; the mail worker never has to claim it only to find nobody to send to.
    row = respondent_mail(action(respondent=Respondent(key="c-2")), ACME, SETTINGS, None)
    assert (row["status"], row["last_error"]) == ("failed", "the respondent has no email address")
    cancelled = respondent_mail(
        action(respondent=Respondent(key="c-2"), cancelled=True), ACME, SETTINGS, None
    )
    assert cancelled["status"] == "cancelled"


def test_staff_mail_about_a_task_exists_once_per_task_and_template() -> None:
    now = datetime.now(UTC)
    task = Task(
        id=uuid.uuid4(), tenant="acme", type="call_task", kind="nps", score=3,
        respondent={"key": "c-1", "name": "Ole"}, answered_at=now,
        due_at=now + timedelta(hours=48), assignee="agent@acme.dk", comment="Slow",
    )  # fmt: skip
    link = f"https://notify.example/tasks/{task.id}"
    warning = task_mail(task, ACME, SETTINGS, "sla_warning", task.assignee, link=link)
    again = task_mail(task, ACME, SETTINGS, "sla_warning", task.assignee, link=link)
    assignment = task_mail(task, ACME, SETTINGS, "assignment", task.assignee, link=link)
    assert warning["action_id"] == again["action_id"] == uuid.uuid5(task.id, "sla_warning")
    assert assignment["action_id"] != warning["action_id"]
    assert f"https://notify.example/tasks/{task.id}" in warning["body"]
    assert warning["unsubscribe_url"] is None  # staff mail: no unsubscribe link


def test_a_task_mail_before_notify_knows_the_tenant_shows_the_deployments_zone() -> None:
    # 12:00 UTC in December is 13:00 in Copenhagen, the deployment's default zone.
    due = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    task = Task(
        id=uuid.uuid4(), tenant="new", type="call_task", kind="nps", score=3,
        respondent={"key": "c-1"}, answered_at=due - timedelta(hours=48), due_at=due,
        assignee="agent@new.dk",
    )  # fmt: skip
    row = task_mail(task, None, SETTINGS, "assignment", task.assignee, link="https://x/t")
    assert "13:00 CET" in row["body"]
    assert "UTC" not in row["body"]
