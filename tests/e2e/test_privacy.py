"""Erasure and export of one person, through the four services and Kafka.

One person (a detractor with a call task, a promoter thanked by mail who then unsubscribed, a
refused body) and another are answered; the first is erased. Once the receipt is complete no
row of any service's schema yields the first person's name, email or phone, the other person's
data is intact, and the scores are the figures they were.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from anbefal.common.auth import issue_token
from anbefal.common.services import SERVICES
from anbefal.devstack.mailsink import MailSink, read_messages
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, asyncpg_dsn, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


class System:
    def __init__(self, processes: dict[str, ServiceProcess], env: dict[str, str], mail: Path):
        self.processes = processes
        self.env = env
        self.mail_dir = mail

    def url(self, service: str) -> str:
        return self.processes[service].url

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`anbefal privacy ...` against this system's services."""
        urls = [f"{s}={p.url}" for s, p in self.processes.items()]
        with_urls = (
            [*args, *(x for u in urls for x in ("--url", u))]
            if "export" in args
            else [
                *args,
                "--url",
                self.url("ingest"),
            ]
        )
        return subprocess.run(
            [sys.executable, "-m", "anbefal.cli.main", "privacy", *with_urls],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    async def export(self, tenant: str, respondent: str) -> dict[str, Any]:
        done = await asyncio.to_thread(
            self.cli, "export", "--tenant", tenant, "--respondent", respondent
        )
        assert done.returncode == 0, done.stderr
        document: dict[str, Any] = json.loads(done.stdout)
        return document


@pytest.fixture
async def system(stack: Any, tmp_path: Path) -> AsyncIterator[System]:
    mail_dir = tmp_path / "mail"
    sink = MailSink(mail_dir)
    sink.start()
    env = stack.service_env(stack.new_database(), ANBEFAL_SMTP_PORT=str(sink.port))
    processes = {s.name: ServiceProcess(s.name, env, stack.root / "logs").start() for s in SERVICES}
    try:
        for process in processes.values():
            await process.wait_ready()
        yield System(processes, env, mail_dir)
    finally:
        for process in processes.values():
            process.stop()
        sink.stop()


class Person:
    """Unique per test run: the topics hold earlier tests' answers, which every new consumer
    group reads, so only this run's values prove anything."""

    def __init__(self, first: str, tenant: str, *, with_id: bool = True) -> None:
        tag = uuid.uuid4().hex[:8]
        self.with_id = with_id
        self.id = f"{first.lower()}-{tag}"
        self.name = f"{first} Holm{tag}"
        self.email = f"{first.lower()}.{tag}@{tenant}.example.com"
        self.phone = f"+45 {int(tag, 16) % 10**8:08d}"

    @property
    def marks(self) -> tuple[str, ...]:
        return (self.name.lower(), self.email.lower(), self.phone)

    def answer(self, response_id: str, score: int, at: datetime) -> dict[str, Any]:
        return {
            "response_id": response_id,
            "score": score,
            "comment": f"{self.name} here, call me on {self.phone}",
            "answered_at": at.isoformat(),
            "respondent": {
                **({"id": self.id} if self.with_id else {}),
                "name": self.name,
                "email": self.email,
                "phone": self.phone,
            },
            "segments": {"department": "Support"},
            "owners": {"salesperson": "sales@acme.example", "director": "director@acme.example"},
        }


async def rows_naming(database_url: str, marks: tuple[str, ...]) -> list[str]:
    """Every row of every service's schema that holds one of `marks` (bytes read as UTF-8,
    everything lower-cased): `schema.table: row`."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    found = []
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY($1::text[])",
            [s.schema for s in SERVICES],
        )
        for t in tables:
            name = f'"{t["table_schema"]}"."{t["table_name"]}"'
            for row in await conn.fetch(f"SELECT * FROM {name}"):  # noqa: S608 (catalog names)
                text = " ".join(
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                    for v in row.values()
                ).lower()
                if any(mark in text for mark in marks):
                    found.append(f"{name}: {text[:300]}")
    finally:
        await conn.close()
    return found


async def test_an_erased_person_is_gone_from_every_service_and_the_figures_stay(
    system: System,
) -> None:
    tenant = f"e2e-{uuid.uuid4().hex[:8]}"
    ida, bo = Person("Ida", tenant), Person("Bo", tenant)
    cy = Person("Cy", tenant, with_id=False)  # known only by his address
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="dpo@acme.example")
    at = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    db = system.env["ANBEFAL_DATABASE_URL"]
    ingest = f"{system.url('ingest')}/v1/tenants/{tenant}"

    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
        answers = (ida.answer("r-1", 3, at), ida.answer("r-2", 10, at), bo.answer("r-3", 2, at))
        for body in (*answers, cy.answer("r-5", 4, at)):
            r = await c.post(f"{ingest}/responses", json=body)
            assert r.status_code == 202, r.text
        # A refused body naming Ida: ingest keeps it for ops.
        r = await c.post(f"{ingest}/responses", json={**ida.answer("r-4", 11, at)})
        assert r.status_code == 422

        async def tasks() -> list[dict[str, Any]]:
            r = await c.get(f"{system.url('notify')}/v1/tenants/{tenant}/tasks")
            return list(r.json()["tasks"])

        def thanks() -> list[Any]:
            return [m for m in read_messages(system.mail_dir) if m["To"] == ida.email]

        async def followed_up() -> bool:
            return len(await tasks()) == 3 and len(thanks()) == 1

        await wait_until(followed_up, 90, "three call tasks and Ida's thank-you mail")
        # Ida unsubscribes through the link in her mail.
        (mail,) = thanks()
        link = str(mail["List-Unsubscribe"]).strip("<>")
        path = link[link.index("/unsubscribe/") :]  # the link names the public URL, not the port
        async with httpx.AsyncClient(timeout=10) as browser:
            r = await browser.post(
                f"{system.url('notify')}{path}", data={"List-Unsubscribe": "One-Click"}
            )
        assert r.status_code == 200, r.text

        async def scores() -> Any:
            r = await c.get(f"{system.url('scoring')}/v1/tenants/{tenant}/scores?window=7d")
            assert r.status_code == 200, r.text
            return r.json()["segments"]

        # The export: one document, every service's part, her data in each.
        exported = await system.export(tenant, ida.id)
        assert set(exported["services"]) == {s.name for s in SERVICES}
        parts = {name: json.dumps(part) for name, part in exported["services"].items()}
        assert ida.email in parts["ingest"]  # the refused body
        assert len(exported["services"]["scoring"]["answers"]) == 2
        assert len(exported["services"]["closed-loop"]["actions"]) == 2
        assert ida.phone in parts["notify"]  # her call task
        assert bo.email not in json.dumps(exported)

        before = await scores()
        assert (before[0]["n"], before[0]["detractors"]) == (4, 3)
        assert await rows_naming(db, ida.marks), "Ida's data should be there before the erasure"

        async def erase(**subject: str) -> dict[str, Any]:
            r = await c.post(f"{ingest}/erasures", json=subject)
            assert r.status_code == 202, r.text
            assert r.headers["Location"] == f"/v1/tenants/{tenant}/erasures/{r.json()['id']}"
            receipt_url = f"{system.url('ingest')}{r.headers['Location']}"
            receipt: dict[str, Any] = {}

            async def complete() -> bool:
                nonlocal receipt
                receipt = (await c.get(receipt_url)).json()
                return bool(receipt["complete"])

            await wait_until(complete, 90, "every service reported the erasure")
            return receipt

        receipt = await erase(respondent_id=ida.id)
        rows = {name: report["rows"] for name, report in receipt["services"].items()}
        assert set(rows) == {s.name for s in SERVICES}
        assert all(n > 0 for n in rows.values()), rows
        assert receipt["named_by"] == "respondent_id"
        assert receipt["requested_by"] == "dpo@acme.example"

        assert await rows_naming(db, ida.marks) == []
        assert await rows_naming(db, (bo.name.lower(),)), "Bo's data must stay"
        assert await rows_naming(db, (bo.email.lower(),))
        assert await rows_naming(db, (bo.phone,))
        assert await scores() == before
        # Her address stays suppressed, as its keyed hash.
        conn = await asyncpg.connect(asyncpg_dsn(db))
        try:
            suppressed = await conn.fetch(
                "SELECT email FROM notify.suppressions WHERE tenant = $1", tenant
            )
            keys = await conn.fetch(
                "SELECT respondent FROM privacy.data_keys WHERE tenant = $1", tenant
            )
        finally:
            await conn.close()
        (row,) = suppressed
        assert row["email"].startswith("test1.")  # `kid.hex` under the suite's key `test1`
        # Her data key is shredded: every sealed copy of her contact data on Kafka is unreadable.
        assert sorted(k["respondent"] for k in keys) == sorted([bo.id, "response:r-5"])

        # Erasing twice is harmless; someone unknown completes with nothing to erase.
        again = await erase(respondent_id=ida.id, email=ida.email)
        assert {r["rows"] for r in again["services"].values()} == {0}
        assert await scores() == before
        after = await system.export(tenant, ida.id)
        assert not any(
            after["services"][name][table] for name in rows for table in after["services"][name]
        )

        # Cy, by his address only: his answer reached scoring and closed_loop sealed, found by
        # the address's keyed hash beside the seal; his data key goes with it.
        by_email = await erase(email=cy.email.upper())
        assert all(r["rows"] > 0 for n, r in by_email["services"].items() if n != "ingest")
        assert await rows_naming(db, cy.marks) == []
        assert await rows_naming(db, (bo.name.lower(),))
        assert await scores() == before

        # The command line, for someone unknown: completes with nothing to erase.
        done = await asyncio.to_thread(
            system.cli, "erase", "--tenant", tenant, "--email", f"nobody@{tenant}.example.com"
        )
        assert done.returncode == 0, done.stderr
        unknown = json.loads(done.stdout)
        assert unknown["complete"]
        assert {r["rows"] for r in unknown["services"].values()} == {0}
