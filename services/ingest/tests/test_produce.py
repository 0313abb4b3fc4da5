"""Batches of answers in flight share one send to the broker; single answers go alone; each
caller learns in time when the broker did not confirm."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from anbefal.common.kafka import BATCH_FROM, BrokerUnavailable, OutRecord
from anbefal.ingest.intake.produce import SharedBatches


class FakePublisher:
    """Each send waits until the test releases it (or forever, when it hangs)."""

    def __init__(self) -> None:
        self.sends: list[list[bytes]] = []
        self.release = asyncio.Event()
        self.failure: BrokerUnavailable | None = None

    async def send_many(self, topic: str, records: Sequence[OutRecord]) -> None:
        self.sends.append([value for _, value, _ in records])
        await self.release.wait()
        if self.failure is not None:
            raise self.failure


def batch(name: str, size: int = BATCH_FROM) -> list[OutRecord]:
    return [(b"k", f"{name}{n}".encode(), None) for n in range(size)]


def shared(fake: FakePublisher, timeout_s: float = 5) -> SharedBatches:
    return SharedBatches(fake, timeout_s)  # type: ignore[arg-type]


async def test_batches_that_arrive_while_a_send_waits_share_the_next_one() -> None:
    fake = FakePublisher()
    sends = shared(fake)
    first = asyncio.create_task(sends.send_many("t", batch("a")))
    await asyncio.sleep(0.01)  # its send is on the wire, alone
    later = [asyncio.create_task(sends.send_many("t", batch(name))) for name in "bcd"]
    await asyncio.sleep(0.01)
    fake.release.set()
    await asyncio.gather(first, *later)
    assert fake.sends == [
        [v for _, v, _ in batch("a")],
        [v for name in "bcd" for _, v, _ in batch(name)],
    ]


async def test_single_answers_are_sent_alone() -> None:
    fake = FakePublisher()
    fake.release.set()
    sends = shared(fake)
    few = batch("s", BATCH_FROM - 1)
    await asyncio.gather(sends.send_many("t", few), sends.send_many("t", few))
    assert fake.sends == [[v for _, v, _ in few]] * 2


async def test_every_batch_of_a_failed_send_is_told_the_broker_did_not_confirm() -> None:
    fake = FakePublisher()
    fake.failure = BrokerUnavailable("no ack")
    sends = shared(fake)
    first = asyncio.create_task(sends.send_many("t", batch("a")))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(sends.send_many("t", batch("b")))
    await asyncio.sleep(0.01)
    fake.release.set()
    for task in (first, second):
        with pytest.raises(BrokerUnavailable):
            await task


async def test_a_batch_behind_a_send_that_hangs_is_told_within_its_timeout() -> None:
    fake = FakePublisher()  # never released
    sends = shared(fake, timeout_s=0.2)
    first = asyncio.create_task(sends.send_many("t", batch("a")))
    await asyncio.sleep(0.01)
    with pytest.raises(BrokerUnavailable):
        await sends.send_many("t", batch("b"))
    first.cancel()
