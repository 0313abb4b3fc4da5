from __future__ import annotations

import asyncio

import pytest

from anbefal.notify.staff.passwords import Busy, PasswordChecker, hash_password
from anbefal.notify.staff.service import Logins, authenticate
from anbefal.notify.staff.throttle import FORGET_S, LoginThrottle, Throttle
from anbefal.notify.ui.i18n import TEXTS, wait_words


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_attempts_past_the_free_ones_double_the_wait_up_to_the_cap() -> None:
    clock = Clock()
    throttle = Throttle(free=3, max_s=10, clock=clock)
    key = ("acme", "ida@acme.example")
    waits = []
    for _ in range(8):
        waits.append(throttle.wait_s(key))
        throttle.attempt(key)
        clock.now += 0.1
    assert waits[:3] == [0, 0, 0]
    # The fourth waits 1 s after the third (0.1 s of it passed), then 2, 4, 8, capped at 10.
    assert waits[3] == pytest.approx(0.9)
    clock.now += 100
    assert throttle.wait_s(key) == 0
    throttle.attempt(key)
    assert throttle.wait_s(key) == pytest.approx(10)  # the cap, not 2 ** 6
    clock.now += FORGET_S + 1
    assert throttle.wait_s(key) == 0  # forgotten after an idle hour
    throttle.attempt(key)
    assert throttle.wait_s(key) == 0


def test_a_success_clears_the_account_but_not_the_address() -> None:
    logins = LoginThrottle(free_per_address=3, free_per_account=2, max_s=900)
    for _ in range(2):
        logins.attempt("10.0.0.1", "acme", "ida@acme.example")
    assert logins.retry_after_s("10.0.0.1", "acme", "ida@acme.example") == 1
    # Another account from the same address: its own count, but the address's third attempt.
    assert logins.retry_after_s("10.0.0.1", "acme", "ole@acme.example") == 0
    logins.attempt("10.0.0.1", "acme", "ole@acme.example")
    logins.succeeded("10.0.0.1", "acme", "ole@acme.example")  # takes its attempt back
    logins.attempt("10.0.0.1", "acme", "ole@acme.example")
    assert logins.retry_after_s("10.0.0.2", "acme", "ole@acme.example") == 0
    assert logins.retry_after_s("10.0.0.1", "other", "x@other.example") == 1  # the address


def test_the_wait_counts_from_the_end_of_a_failed_attempt() -> None:
    clock = Clock()
    throttle = Throttle(free=1, max_s=60, clock=clock)
    throttle.attempt(("a",))
    clock.now += 5  # a slow password check
    throttle.touch(("a",))
    assert throttle.wait_s(("a",)) == pytest.approx(1)


def test_invented_keys_do_not_grow_memory() -> None:
    throttle = Throttle(free=1, max_s=60, max_keys=100)
    for n in range(1000):
        throttle.attempt((f"10.0.{n // 256}.{n % 256}",))
    assert len(throttle) == 100


def test_the_wait_in_words() -> None:
    assert wait_words(TEXTS["en"], 30) == "30 seconds"
    assert wait_words(TEXTS["da"], 30) == "30 sekunder"
    assert wait_words(TEXTS["da"], 601) == "11 minutter"


async def test_password_checks_run_off_the_event_loop() -> None:
    checker = PasswordChecker(concurrency=1, queue_s=0.01)
    stored = hash_password("correct horse battery")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    first = asyncio.create_task(checker.matches(stored, "wrong password"))
    await asyncio.sleep(0)
    # The one slot is taken: the next check waits at most queue_s, then is told to come back.
    with pytest.raises(Busy):
        await checker.matches(stored, "wrong password")
    assert ticks > 1  # the loop ran while argon2 was working
    assert await first is False
    assert await checker.matches(stored, "correct horse battery") is True
    ticker.cancel()


class NoUsers:
    """A database session in which nobody has an account."""

    async def scalar(self, statement: object) -> None:
        return None


async def test_a_login_that_found_no_free_slot_does_not_count() -> None:
    logins = Logins(
        LoginThrottle(free_per_address=1, free_per_account=1, max_s=60),
        PasswordChecker(concurrency=1, queue_s=0.01),
    )
    slow = asyncio.create_task(logins.checker.matches(hash_password("x" * 12), "wrong"))
    await asyncio.sleep(0)  # let it take the only slot
    with pytest.raises(Busy):
        await authenticate(NoUsers(), logins, "10.0.0.1", "acme", "ida@acme.example", "pw")  # type: ignore[arg-type]
    # Nothing was checked, so nothing counts against the address or the account.
    assert logins.throttle.retry_after_s("10.0.0.1", "acme", "ida@acme.example") == 0
    assert await slow is False
