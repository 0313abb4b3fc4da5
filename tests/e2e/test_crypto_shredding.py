"""Crypto-shredding: no record on any topic an answer travels (responses, actions, task events,
a dead letter) carries the respondent's name, email or phone in plaintext; once the respondent's
data key is shredded, no retained copy opens again, and a replay yields no contact data."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys, shred
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import Action, SurveyResponse
from anbefal.common.kafka import Publisher, Subscriptions
from anbefal.common.kafka.messages import decode_records
from anbefal.common.kafka.subscriptions import HandlerContext
from anbefal.devstack.mailsink import MailSink, read_messages
from anbefal.devstack.testing import (
    TEST_DATA_KEYS,
    TEST_JWT_SECRET,
    ServiceProcess,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SERVICES = ("ingest", "scoring", "closed-loop", "notify")
TRAVELLED = (topics.RESPONSES, topics.ACTIONS, topics.TASK_EVENTS, topics.dlq(topics.RESPONSES))


@pytest.fixture
async def system(stack: Any, tmp_path: Path) -> AsyncIterator[tuple[dict[str, str], Path]]:
    mail_dir = tmp_path / "mail"
    sink = MailSink(mail_dir)
    sink.start()
    env = stack.service_env(stack.new_database(), ANBEFAL_SMTP_PORT=str(sink.port))
    processes = {s: ServiceProcess(s, env, stack.root / "logs").start() for s in SERVICES}
    try:
        for process in processes.values():
            await process.wait_ready()
        env["ingest"] = processes["ingest"].url
        env["notify"] = processes["notify"].url
        yield env, mail_dir
    finally:
        for process in processes.values():
            process.stop()
        sink.stop()


class Topics:
    """Every raw record of one tenant on the topics an answer travels, read from their start."""

    def __init__(self, bootstrap: str, tenant: str) -> None:
        self.records: dict[str, list[ConsumerRecord[bytes, bytes]]] = {t: [] for t in TRAVELLED}
        self._prefix = f"{tenant}:".encode()
        self._consumer = AIOKafkaConsumer(
            *TRAVELLED,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    async def __aenter__(self) -> Topics:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def read(self) -> dict[str, list[ConsumerRecord[bytes, bytes]]]:
        for records in (await self._consumer.getmany(timeout_ms=500)).values():
            for record in records:
                if record.key is not None and record.key.startswith(self._prefix):
                    self.records[record.topic].append(record)
        return self.records


def raw_text(record: ConsumerRecord[bytes, bytes]) -> bytes:
    """The value and every header, as the bytes a reader of the topic sees."""
    return (record.value or b"") + b"".join(v for _, v in record.headers or ())


async def test_no_topic_carries_plaintext_contact_and_shredding_makes_copies_unreadable(
    stack: Any, system: tuple[dict[str, str], Path]
) -> None:
    env, mail_dir = system
    tenant = f"shred-{uuid.uuid4().hex[:8]}"
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="test")
    answered_at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    detractor = {
        "name": "Ida Shredholm",
        "email": f"ida.{tenant}@example.com",
        "phone": f"+45 {uuid.uuid4().int % 10**8:08d}",
    }
    promoter_email = f"bo.{tenant}@example.com"
    answers = [
        {
            "response_id": "r-1",
            "score": 3,
            "comment": "Slow support",
            "answered_at": answered_at.isoformat(),
            "respondent": {"id": "c-ida", **detractor},
            "owners": {"director": "director@acme.example"},
        },
        {
            "response_id": "r-2",
            "score": 10,
            "answered_at": answered_at.isoformat(),
            "respondent": {"id": "c-bo", "name": "Bo Promotorsen", "email": promoter_email},
            "owners": {"director": "director@acme.example"},
        },
    ]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=10) as client:
        for body in answers:
            r = await client.post(f"{env['ingest']}/v1/tenants/{tenant}/responses", json=body)
            assert r.status_code == 202, r.text

        # The pipeline still has the contact data where it is needed: the task shows the phone,
        # the thank-you mail reaches the promoter.
        async def task_with_phone() -> bool:
            r = await client.get(f"{env['notify']}/v1/tenants/{tenant}/tasks")
            tasks = r.json()["tasks"]
            return len(tasks) == 1 and tasks[0]["respondent"].get("phone") == detractor["phone"]

        await wait_until(task_with_phone, 60, "the call task, with the respondent's phone")

        async def thanked() -> bool:
            return any(m["To"] == promoter_email for m in read_messages(mail_dir))

        await wait_until(thanked, 60, "the thank-you mail")
        r = await client.get(f"{env['notify']}/v1/tenants/{tenant}/tasks")
        (task,) = r.json()["tasks"]
        claimed = await client.post(f"{env['notify']}/v1/tenants/{tenant}/tasks/{task['id']}/claim")
        assert claimed.status_code == 200, claimed.text

    async with Topics(stack.kafka.bootstrap, tenant) as seen:

        async def answer_action_and_task_event() -> bool:
            got = await seen.read()
            return all(got[t] for t in TRAVELLED[:3])

        await wait_until(answer_action_and_task_event, 30, "the answer, action and task events")

        # A dead letter: the detractor's answer record again, with a score no consumer accepts.
        original = next(
            r for r in seen.records[topics.RESPONSES] if r.key == f"{tenant}:c-ida".encode()
        )
        doc = json.loads(original.value)
        doc["score"] = 11
        publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="shred-test")
        await publisher.start()
        try:
            await publisher.wait_ready(30)
            await publisher.send(topics.RESPONSES, json.dumps(doc).encode(), key=original.key)
        finally:
            await publisher.stop()

        async def dead_letter() -> bool:
            return bool((await seen.read())[topics.dlq(topics.RESPONSES)])

        await wait_until(dead_letter, 60, "the poisoned answer dead-lettered")

    for topic, records in seen.records.items():
        for record in records:
            for field, value in {**detractor, "promoter": promoter_email}.items():
                assert value.encode() not in raw_text(record), (
                    f"{topic} offset {record.offset} carries the {field} in plaintext"
                )

    # Replaying the retained records through a consumer opens them while the key exists...
    keys = DataKeys(Keyring.parse(TEST_DATA_KEYS))
    engine = create_engine(env["ANBEFAL_DATABASE_URL"])
    sessions = create_sessionmaker(engine)
    replayed: list[SurveyResponse | Action] = []

    async def keep(_ctx: HandlerContext[Any], events: Any) -> None:
        replayed.extend(events)

    consumer = Subscriptions[Any]({SurveyResponse: keep, Action: keep}, keys=keys)
    retained = {t: [r for r in seen.records[t] if b'"c-ida"' in r.value] for t in TRAVELLED[:2]}
    assert retained[topics.RESPONSES]
    assert retained[topics.ACTIONS]

    async def replay() -> list[SurveyResponse | Action]:
        replayed.clear()
        async with sessions() as session, session.begin():
            for topic, records in retained.items():
                # The poisoned copy stays poison; every other record is replayed.
                messages, _ = decode_records(topic, records)
                await consumer.dispatch(session, messages)
        return list(replayed)

    try:
        before = await replay()
        assert {e.respondent.phone for e in before} == {detractor["phone"]}

        # ...and after the key is shredded, no copy opens: the contact data reads as erased.
        async with sessions() as session, session.begin():
            assert await shred(session, tenant, "c-ida") == 1
        after = await replay()
        assert len(after) == len(before)
        for event in after:
            respondent = event.respondent
            assert (respondent.name, respondent.email, respondent.phone) == (None, None, None)
            assert respondent.key == "c-ida"
    finally:
        await engine.dispose()
