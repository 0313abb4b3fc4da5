"""The leadership digest over real processes: scoring's figures, two notify copies, a real SMTP
conversation. Each recipient gets it once per period, whichever copy (or the scheduled worker)
writes it; a team lead's digest is read within their scope; the charts arrive inline."""

from __future__ import annotations

import asyncio
import base64
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright

from anbefal.cli.users import add as add_staff
from anbefal.common import topics
from anbefal.common.auth import issue_token, parse_scope
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import Respondent, Source, SurveyResponse, TenantSettings
from anbefal.common.events import response_event_id as event_id
from anbefal.common.kafka import Publisher
from anbefal.devstack.mailsink import MailSink, read_messages
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, wait_until
from anbefal.notify.dashboard.words import dashboard_words, number
from anbefal.notify.digest.schedule import period
from anbefal.notify.digest.service import send_due
from anbefal.notify.settings import NotifySettings

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def answers(tenant: str, first_day: datetime) -> list[SurveyResponse]:
    """Sixty NPS answers over the covered fortnight: Support mostly unhappy, Salg happy."""
    out = []
    for n in range(60):
        department = "Support" if n % 2 else "Salg"
        score = (3 if n % 4 == 1 else 8) if department == "Support" else 10
        at = first_day + timedelta(days=n % 14, hours=10)
        comment = "Ventetiden på support var alt for lang" if score == 3 else None
        rid = f"digest-{n}"
        out.append(
            SurveyResponse(
                event_id=event_id(tenant, "api", rid),
                version=1,
                tenant=tenant,
                kind="nps",
                score=score,
                answered_at=at,
                received_at=at,
                source=Source(tool="api", response_id=rid),
                respondent=Respondent(key=f"c-{n}", name=f"Kunde {n}"),
                segments={"department": department, "country": "DK"},
                comment=comment,
            )  # fmt: skip
        )
    return out


async def screenshot(message: Any, path: Path) -> None:
    """The received HTML part as a mail client shows it (its cid: images inlined), for a look."""
    html = message.get_body(("html",)).get_content()
    for part in message.walk():
        if part.get_content_type() == "image/png":
            cid = str(part["Content-ID"]).strip("<>")
            data = base64.b64encode(part.get_payload(decode=True)).decode()
            html = html.replace(f"cid:{cid}", f"data:image/png;base64,{data}")
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: `make test` installs it"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 700, "height": 900})
        await page.set_content(html)
        await page.screenshot(path=str(path), full_page=True)
        await browser.close()


async def test_the_digest_goes_to_each_recipient_once_with_its_charts(
    stack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts_dir: Path
) -> None:
    tenant = f"dg-{uuid.uuid4().hex[:8]}"
    leader, lead = f"leder@{tenant}.example", f"teamleder@{tenant}.example"
    url = stack.new_database()
    await add_staff(
        url, tenant=tenant, email=lead, name="Tina", role="director",
        password="correct horse battery", locale="da", scope=parse_scope("department=Support"),
    )  # fmt: skip
    sink = MailSink(tmp_path / "mail")
    sink.start()
    scoring = ServiceProcess("scoring", stack.service_env(url), stack.root / "logs").start()
    # Two notify copies: one consumer group, one database, one outbox.
    env = stack.service_env(url, ANBEFAL_SMTP_PORT=str(sink.port), ANBEFAL_EMAIL_POLL_S="0.2")
    env["ANBEFAL_SCORING_URL"] = scoring.url
    copies = [ServiceProcess("notify", env, stack.root / "logs") for _ in range(2)]
    for copy in copies:
        copy.start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="digest-test")
    await publisher.start()
    now = datetime.now(UTC)
    when = period(now, time_zone="Europe/Copenhagen", every_days=14, hour=8)
    first_day = datetime.combine(when.covers_from, datetime.min.time(), tzinfo=UTC)
    try:
        await asyncio.gather(scoring.wait_ready(), *(c.wait_ready() for c in copies))
        await publisher.wait_ready(30)
        settings = TenantSettings(
            tenant=tenant, display_name="Acme A/S", locale="da", updated_at=now,
            digest_recipients=[leader, lead],
        )  # fmt: skip
        await publisher.send(topics.TENANTS, settings.to_bytes(), key=settings.key)
        await publisher.send_many(
            topics.RESPONSES, [(a.key, a.to_bytes(), None) for a in answers(tenant, first_day)]
        )
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="director", sub="t")
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(headers=headers, timeout=120) as api:
            covered = {"kind": "nps", "from": str(when.covers_from), "to": str(when.covers_to)}

            async def scored() -> bool:
                r = await api.get(f"{scoring.url}/v1/tenants/{tenant}/scores", params=covered)
                return r.status_code == 200 and sum(s["n"] or 0 for s in r.json()["segments"]) == 60

            await wait_until(scored, 90, "scoring has the fortnight's answers")

            async def dry_run_sees_recipients() -> bool:
                r = await api.post(f"{copies[0].url}/v1/tenants/{tenant}/digest",
                                   json={"dry_run": True})  # fmt: skip
                return r.status_code == 200

            await wait_until(dry_run_sees_recipients, 60, "notify has the digest recipients")

            # Both copies are asked at once; each recipient's mail is written once.
            sent = await asyncio.gather(
                *(api.post(f"{c.url}/v1/tenants/{tenant}/digest", json={}) for c in copies)
            )
            assert [r.status_code for r in sent] == [200, 200], [r.text for r in sent]
            assert sorted(r.json()["queued"] for r in sent) in ([0, 2], [1, 1])

            # The figures the digest must show: the scores API's for the same days and scope.
            whole = (await api.get(f"{scoring.url}/v1/tenants/{tenant}/scores",
                                   params={**covered, "dimension": "all"})).json()  # fmt: skip
            support = (await api.get(
                f"{scoring.url}/v1/tenants/{tenant}/scores",
                params={**covered, "dimension": "all", "filter": "department:Support"},
            )).json()  # fmt: skip

        def mails() -> list[Any]:
            return [m for m in read_messages(sink.directory) if tenant in str(m["To"])]

        async def both_arrived() -> bool:
            return len(mails()) == 2

        await wait_until(both_arrived, 60, "two digest mails")

        # The scheduled worker, in two "copies" at once, at the period's send time: nothing more.
        for name, value in env.items():
            if name.startswith("ANBEFAL_"):
                monkeypatch.setenv(name, value)
        notify_settings = NotifySettings()
        engine = create_engine(url, pool_size=2)
        sessions = create_sessionmaker(engine)

        async def step() -> int:
            async with sessions() as session, session.begin():
                return await send_due(session, notify_settings, when.send_at + timedelta(hours=1))

        assert await asyncio.gather(step(), step()) == [0, 0]
        await engine.dispose()

        received = {str(m["To"]): m for m in mails()}
        assert set(received) == {leader, lead}
        for message in received.values():
            assert message["Subject"].startswith("Acme A/S: NPS og eNPS")
            html = message.get_body(("html",))
            assert html is not None
            assert 'src="cid:nps-trend"' in html.get_content()
            images = [p for p in message.walk() if p.get_content_type() == "image/png"]
            assert [p["Content-ID"] for p in images] == ["<nps-trend>"]
            payload = images[0].get_payload(decode=True)
            assert isinstance(payload, bytes)
            assert payload.startswith(b"\x89PNG")
        leader_text = received[leader].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        lead_text = received[lead].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"NPS (kunder): {number(whole['segments'][0]['nps'], 'da')} (60 svar" in leader_text
        assert "Afgrænset til" not in leader_text
        # No answers the fortnight before: the change says there is nothing to compare with.
        assert dashboard_words("da")["no_previous"] in leader_text
        assert "Hvorfor kunderne anbefaler os, eller ikke" in leader_text
        assert "Ventetiden på support var alt for lang" in leader_text
        assert "Ingen opringningsopgaver til kritikere i perioden." in leader_text
        # The team lead's digest: Support only, and it says so.
        assert "Afgrænset til department = Support." in lead_text
        assert f"NPS (kunder): {number(support['segments'][0]['nps'], 'da')} (30 svar" in lead_text
        await screenshot(received[leader], artifacts_dir / "digest-da.png")
    finally:
        await publisher.stop()
        for process in (scoring, *copies):
            process.stop()
        sink.stop()
