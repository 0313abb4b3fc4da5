"""Throttling failed logins, pure and in memory: per client address and per (tenant, email).

Every attempt counts when it starts (so a burst in parallel is throttled as well as one in a
row); a successful login takes its attempt back and clears the account's count. After `free`
attempts each further one doubles the wait, from one second up to `max_s`, counted from the end
of the last failed attempt. A key idle for an
hour starts over, and at most `max_keys` keys are kept (the least recently used go first), so
invented addresses and accounts cannot grow memory.

Each notify copy keeps its own counts: with N copies behind a load balancer an attacker gets at
most N times the attempts, still under the same doubling waits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from anbefal.common.lru import Lru

FORGET_S = 3600.0


@dataclass
class _Count:
    attempts: int
    last: float


class Throttle:
    def __init__(
        self,
        *,
        free: int,
        max_s: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = free
        self._max_s = max_s
        self._clock = clock
        self._counts: Lru[tuple[str, ...], _Count] = Lru(max_keys)

    def __len__(self) -> int:
        return len(self._counts)

    def _live(self, key: tuple[str, ...], now: float) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and now - count.last > FORGET_S:
            self._counts.pop(key)
            return None
        return count

    def wait_s(self, key: tuple[str, ...]) -> float:
        """Seconds before `key` may try again; 0 when it may now."""
        now = self._clock()
        count = self._live(key, now)
        if count is None or count.attempts < self._free:
            return 0.0
        backoff = min(self._max_s, 2.0 ** (count.attempts - self._free))
        return max(0.0, count.last + backoff - now)

    def attempt(self, key: tuple[str, ...]) -> None:
        now = self._clock()
        count = self._live(key, now)
        if count is None:
            count = _Count(0, now)
            self._counts.put(key, count)
        count.attempts += 1
        count.last = now

    def touch(self, key: tuple[str, ...]) -> None:
        """The attempt failed just now: its wait counts from here, not from its start."""
        count = self._counts.get(key)
        if count is not None:
            count.last = self._clock()

    def forgive(self, key: tuple[str, ...]) -> None:
        """Take one attempt back (it succeeded)."""
        count = self._counts.get(key)
        if count is not None:
            count.attempts = max(0, count.attempts - 1)

    def clear(self, key: tuple[str, ...]) -> None:
        self._counts.pop(key)


class LoginThrottle:
    """The two throttles a login passes: its client address and its account."""

    def __init__(self, *, free_per_address: int, free_per_account: int, max_s: float) -> None:
        self.addresses = Throttle(free=free_per_address, max_s=max_s)
        self.accounts = Throttle(free=free_per_account, max_s=max_s)

    def retry_after_s(self, address: str, tenant: str, email: str) -> int:
        """Whole seconds to wait before this login may be tried; 0: try it now."""
        wait = max(self.addresses.wait_s((address,)), self.accounts.wait_s((tenant, email)))
        return math.ceil(wait)

    def attempt(self, address: str, tenant: str, email: str) -> None:
        self.addresses.attempt((address,))
        self.accounts.attempt((tenant, email))

    def failed(self, address: str, tenant: str, email: str) -> None:
        self.addresses.touch((address,))
        self.accounts.touch((tenant, email))

    def withdraw(self, address: str, tenant: str, email: str) -> None:
        """The attempt was never checked (no free slot): it does not count."""
        self.addresses.forgive((address,))
        self.accounts.forgive((tenant, email))

    def succeeded(self, address: str, tenant: str, email: str) -> None:
        self.addresses.forgive((address,))
        self.accounts.clear((tenant, email))
