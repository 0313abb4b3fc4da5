"""Single answers in flight share one send to the broker; each learns in time if it failed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from anbefal.common.kafka import BrokerUnavailable, OutRecord
from anbefal.ingest.intake.produce import SharedPublisher


class FakePublisher:
    def __init__(self) -> None:
        self.sends: list[list[bytes]] = []
        self.hang = False

    async def send_many(self, topic: str, records: Sequence[OutRecord]) -> None:
        self.sends.append([value for _, value, _ in records])
        await asyncio.sleep(3600 if self.hang else 0.01)


def record(n: int) -> OutRecord:
    return (b"k", str(n).encode(), None)


async def test_singles_in_flight_share_a_send_and_a_batch_goes_alone() -> None:
    fake = FakePublisher()
    shared = SharedPublisher(fake, timeout_s=5)  # type: ignore[arg-type]
    first = asyncio.create_task(shared.send_many("t", [record(0)]))
    await asyncio.sleep(0)  # its send is on the wire, alone
    await asyncio.gather(first, *(shared.send_many("t", [record(n)]) for n in range(1, 6)))
    assert fake.sends == [[b"0"], [b"1", b"2", b"3", b"4", b"5"]]
    await shared.send_many("t", [record(n) for n in range(10)])
    assert fake.sends[-1] == [str(n).encode() for n in range(10)]


async def test_a_single_is_told_within_its_timeout_that_the_broker_did_not_confirm() -> None:
    fake = FakePublisher()
    fake.hang = True
    shared = SharedPublisher(fake, timeout_s=0.2)  # type: ignore[arg-type]
    started = asyncio.get_running_loop().time()
    with pytest.raises(BrokerUnavailable):
        await asyncio.gather(shared.send_many("t", [record(1)]), shared.send_many("t", [record(2)]))
    assert asyncio.get_running_loop().time() - started < 1


async def test_a_send_the_broker_does_not_confirm_does_not_hold_back_the_next() -> None:
    fake = FakePublisher()
    fake.hang = True
    shared = SharedPublisher(fake, timeout_s=0.2)  # type: ignore[arg-type]
    with pytest.raises(BrokerUnavailable):
        await shared.send_many("t", [record(1)])
    fake.hang = False
    started = asyncio.get_running_loop().time()
    await shared.send_many("t", [record(2)])
    assert asyncio.get_running_loop().time() - started < 0.5
