"""A tenant's Slack/Teams webhook URL is a credential: set through notify's admin API (never on
Kafka), sealed at rest, and only ever a Slack or Teams host (issue 14, finding 8)."""

from __future__ import annotations

import pytest

from anbefal.common.crypto import Keyring, Undecryptable, new_key
from anbefal.common.errors import ServiceError
from anbefal.notify.chat.service import check_webhook_url, open_url, seal_url

KEYS = Keyring.parse(f"k1:{__import__('base64').urlsafe_b64encode(new_key()).decode().rstrip('=')}")
SLACK = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"


@pytest.mark.parametrize(
    "url",
    [
        SLACK,
        "https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456",
        "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/run",
    ],
)
def test_slack_and_teams_webhooks_are_taken(url: str) -> None:
    assert check_webhook_url(url, any_host=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/T/B/X",  # not https
        "https://169.254.169.254/latest/meta-data",  # the cloud's metadata service
        "https://notify.anbefal.svc.cluster.local/x",
        "https://hooks.slack.com.evil.example/x",
        "https://user:pw@hooks.slack.com/services/T/B/X",
        "https://hooks.slack.com:8443/services/T/B/X",
        "not a url",
    ],
)
def test_any_other_url_is_refused(url: str) -> None:
    with pytest.raises(ServiceError) as refused:
        check_webhook_url(url, any_host=False)
    assert refused.value.status == 422


def test_the_operator_may_allow_any_host_for_a_local_fake() -> None:
    assert check_webhook_url("http://127.0.0.1:9999/hook", any_host=True)


def test_a_sealed_url_holds_no_plaintext_and_opens_only_for_its_tenant() -> None:
    sealed = seal_url(KEYS, "acme", SLACK)
    assert "hooks.slack.com" not in sealed
    assert "XXXXXXXX" not in sealed
    assert open_url(KEYS, "acme", sealed) == SLACK
    with pytest.raises(Undecryptable):
        open_url(KEYS, "other-tenant", sealed)
