"""`make run`'s welcome: where the dashboard is, how to log in to it and how to fill it."""

from __future__ import annotations

from anbefal.cli.main import DEMO_PASSWORD, welcome_banner
from anbefal.common.services import NOTIFY


def test_the_banner_names_the_dashboard_its_login_and_the_demo_data() -> None:
    banner = welcome_banner(mail_port="8025")
    assert f"dashboard    {NOTIFY.dev_url}/dashboard" in banner
    assert f"director@demo.example, {DEMO_PASSWORD}" in banner
    assert "uv run anbefal demo load --tenant demo" in banner
