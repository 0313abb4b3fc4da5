from __future__ import annotations

from pydantic import Field

from anbefal.common.settings import BaseServiceSettings


class ClosedLoopSettings(BaseServiceSettings):
    # The relay also polls, so an action committed by another copy is published promptly.
    relay_poll_s: float = 1.0
    # Rows a relay step sends at most: about what one consumer batch writes.
    relay_batch: int = 2000
    # Records per poll, over all partitions: a batch's statements are the same whatever its
    # size, so a backlog drains faster in fewer, larger transactions.
    consumer_max_records: int = 2000
    # ANBEFAL_CLOSED_LOOP_DEBOUNCE_S: how long the action of an answer without a comment waits
    # for a later version carrying the comment (some tools send the score first). 0: no wait.
    closed_loop_debounce_s: float = Field(default=5.0, ge=0, le=600)
    # How often held actions whose wait is over are looked for.
    release_poll_s: float = 0.25
    # The rules dry run: the most answers it tries (the first ones of the period; the answer
    # says `truncated`), and how long it may compute before it is answered 422.
    dry_run_max_answers: int = Field(default=100_000, ge=1)
    dry_run_timeout_s: float = Field(default=30.0, gt=0)
