"""Password checks off the event loop.

An argon2 check costs a fraction of a second of CPU (190 ms on a quiet core, over a second on a
busy one). Run on the event loop, a few wrong logins a second would stall notify's API, pages,
consumer and workers. Checks run in their own threads instead, at most `concurrency` at once; a
login that cannot get a slot within `queue_s` is told to come back (`Busy`) rather than piling up.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Checked when the user does not exist, so the answer takes as long and does not tell which
# addresses have accounts.
DUMMY_HASH = _hasher.hash("not a password anyone has")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Busy(Exception):
    """Every slot stayed taken for `queue_s`: too many logins at once."""


class PasswordChecker:
    def __init__(self, *, concurrency: int, queue_s: float) -> None:
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2")
        self._slots = asyncio.Semaphore(concurrency)
        self._queue_s = queue_s

    async def matches(self, password_hash: str, password: str) -> bool:
        try:
            async with asyncio.timeout(self._queue_s):
                await self._slots.acquire()
        except TimeoutError:
            raise Busy from None
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, _matches, password_hash, password)
        finally:
            self._slots.release()
