from __future__ import annotations

from anbefal.common.settings import BaseServiceSettings


class ScoringSettings(BaseServiceSettings):
    # eNPS segments with fewer respondents than this are never shown (DESIGN §6).
    default_anonymity_k: int = 5
