from __future__ import annotations

from anbefal.common.settings import BaseServiceSettings


class IngestSettings(BaseServiceSettings):
    max_body_bytes: int = 1024 * 1024
    max_batch_items: int = 500
    # Seconds a survey tool should wait before retrying when the broker is unavailable.
    retry_after_s: int = 5
