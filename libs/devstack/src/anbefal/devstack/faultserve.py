"""A test-only entry point: `python -m anbefal.devstack.faultserve serve <service> ...` runs
`anbefal serve ...` with the fault flags below read from the environment. A service started any
other way reads none of them.

ANBEFAL_FAULT_HANDLER_DELAY_S: every consumer handler of the process waits this long before it
runs (the batch "takes" that long; its handler has taken no lock yet), logging
"fault flag: delaying a batch (test only)" with the matched record's topic, partition and that
partition's offsets in the batch first,
so a test can act while the batch is in flight.
ANBEFAL_FAULT_HANDLER_DELAY_MATCH: only batches with a record whose event contains this text
are delayed (all batches when empty).
"""

from __future__ import annotations

import asyncio
import runpy
from collections.abc import Sequence

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.kafka import BatchHandler, HandlerWrapper, Message, wrap_handlers
from anbefal.common.logging import get_logger

log = get_logger(__name__)

HOLDING = "fault flag: delaying a batch (test only)"


class FaultFlags(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANBEFAL_FAULT_", extra="ignore", frozen=True)

    handler_delay_s: float = Field(default=0.0, ge=0)
    handler_delay_match: str = ""


def delaying(delay_s: float, match: str) -> HandlerWrapper:
    """A handler wrapper that sleeps `delay_s` before a batch holding `match` is handled."""
    needle = match.encode()

    def wrap(handler: BatchHandler) -> BatchHandler:
        async def delayed(session: AsyncSession, messages: Sequence[Message]) -> None:
            matched = next((m for m in messages if needle in m.event.to_bytes()), None)
            if matched is not None:
                # A poll's batch may hold several partitions: name the matched record's own
                # partition and that partition's offsets in the batch.
                same = [
                    m for m in messages
                    if (m.topic, m.partition) == (matched.topic, matched.partition)
                ]  # fmt: skip
                log.warning(
                    HOLDING,
                    topic=matched.topic,
                    partition=matched.partition,
                    first_offset=same[0].offset,
                    last_offset=same[-1].offset,
                    delay_s=delay_s,
                )
                await asyncio.sleep(delay_s)
            await handler(session, messages)

        return delayed

    return wrap


def main() -> None:
    flags = FaultFlags()
    if flags.handler_delay_s:
        wrap_handlers(delaying(flags.handler_delay_s, flags.handler_delay_match))
    runpy.run_module("anbefal.cli.main", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
