from __future__ import annotations

from anbefal.common.settings import BaseServiceSettings


class ScoringSettings(BaseServiceSettings):
    # eNPS segments with fewer respondents than this are never shown (anonymity.py).
    default_anonymity_k: int = 5
    # A segment's `anbefal.scores.v1` events are at least this far apart; the changes of those
    # seconds coalesce into one event.
    scores_event_interval_s: float = 30.0
    # How often the score event scheduler and the outbox relay look for work another copy committed.
    scores_poll_s: float = 1.0
    relay_poll_s: float = 1.0
    # Records per poll, over all partitions (see main.py).
    consumer_max_records: int = 3000
