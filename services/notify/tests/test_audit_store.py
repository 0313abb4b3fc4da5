"""The audit store's tenant-settings entries: each setting from and to, the actor from the
event, secrets only as set or not, and one id per event (a re-read stores nothing twice)."""

from __future__ import annotations

from datetime import UTC, datetime

from anbefal.common.events import Actor, TenantSettings
from anbefal.notify.audit.service import UNKNOWN_ACTOR, settings_entry

AT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
OLGA = Actor(sub="olga", role="cli")


def settings(**fields: object) -> TenantSettings:
    return TenantSettings.model_validate(
        {"tenant": "acme", "display_name": "Acme", "updated_at": AT, "changed_by": OLGA, **fields}
    )


def test_a_new_tenant_is_created_with_every_setting() -> None:
    entry = settings_entry(settings(), None)
    assert (entry.action, entry.target, entry.actor, entry.at) == (
        "tenant.created", "settings", OLGA, AT,
    )  # fmt: skip
    assert entry.detail["changed"]["anonymity_k"] == {"from": None, "to": 5}
    assert entry.detail["settings"]["chat_webhook_url"] is False
    assert "updated_at" not in entry.detail["settings"]


def test_a_change_names_only_what_changed_and_never_the_webhook_url() -> None:
    before = settings_entry(settings(), None).detail["settings"]
    url = "https://hooks.example/T0/B0/secret"
    entry = settings_entry(settings(anonymity_k=7, chat_webhook_url=url), before)
    assert entry.action == "tenant.changed"
    assert entry.detail["changed"] == {
        "anonymity_k": {"from": 5, "to": 7},
        "chat_webhook_url": {"from": False, "to": True},
    }
    assert url not in entry.to_bytes().decode()


def test_the_same_event_gets_the_same_id_and_an_unnamed_actor_is_unknown() -> None:
    unnamed = settings(changed_by=None)
    assert settings_entry(unnamed, None).event_id == settings_entry(unnamed, None).event_id
    assert settings_entry(unnamed, None).actor == UNKNOWN_ACTOR
    later = settings(updated_at=datetime(2026, 12, 4, 22, 0, tzinfo=UTC))
    assert settings_entry(later, None).event_id != settings_entry(unnamed, None).event_id
