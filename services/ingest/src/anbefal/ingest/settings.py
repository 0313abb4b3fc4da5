from __future__ import annotations

from pydantic import Field

from anbefal.common.settings import BaseServiceSettings


class IngestSettings(BaseServiceSettings):
    # Ingest's own settings are ANBEFAL_INGEST_* in the environment.
    max_body_bytes: int = 1024 * 1024
    max_batch_items: int = 500
    # Seconds a survey tool should wait before retrying when the broker is unavailable.
    retry_after_s: int = 5
    # Requests per second per tenant (each ingest copy), and the burst allowed above it.
    ingest_tenant_rate_per_s: float = 1000.0
    ingest_tenant_burst: float = 5000.0
    # Dedupe keys outlive every tool's retry horizon (Stripe-like senders: about 3 days).
    ingest_dedupe_retention_days: int = 7
    ingest_rejected_retention_days: int = 30
    # Refused eNPS bodies (generic-API items keep no name or contact; a tool's raw body may).
    ingest_enps_rejected_retention_days: int = 7
    # Thin webhooks: how often and how long the answer is fetched before it is given up on.
    ingest_fetch_poll_s: float = 1.0
    ingest_fetch_max_attempts: int = 8
    ingest_fetch_backoff_s: float = 2.0
    # Qualtrics announces a completed response a little before its API serves it: a 404 this
    # soon after the delivery is retried (with the backoff, within the attempts), not given up.
    ingest_fetch_not_found_grace_s: float = Field(default=300.0, ge=0)
    # Each request's connect/read/write timeout, and the whole fetch's (every request it makes,
    # however slowly the tool trickles its answer).
    ingest_fetch_timeout_s: float = 10.0
    ingest_fetch_total_s: float = Field(default=30.0, gt=0)
    # A tool's answer larger than this is refused rather than buffered.
    ingest_fetch_max_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    # Fetches in flight in this copy, and of those at most this many for one tenant, so one
    # tenant's slow tool never holds up the others.
    ingest_fetch_concurrency: int = Field(default=8, ge=1)
    ingest_fetch_per_tenant: int = Field(default=2, ge=1)
    # Operator only (never settable through the API): send every vendor API call to this origin
    # instead, e.g. `http://127.0.0.1:9100` for the local fake of the tools' APIs in tests. It
    # is exempt from the https and public-address rules, and only it.
    ingest_vendor_api_override: str | None = None
    # A source's configuration is cached this long (an update in this copy applies at once).
    ingest_source_cache_s: float = 5.0
    # Entries of each in-memory table keyed by what arrives (rate buckets, cached sources,
    # samples): the least recently used go first.
    ingest_memory_max_keys: int = Field(default=50_000, ge=1)
    # Deliveries that fail verification: their own rate per client address and per source, one
    # sampled line per (tenant, source, client, reason) per interval, and a cap on lines in all.
    ingest_unverified_rate_per_s: float = Field(default=5.0, gt=0)
    ingest_unverified_burst: float = Field(default=50.0, ge=1)
    ingest_unverified_sample_s: float = Field(default=60.0, ge=0)
    ingest_unverified_records_per_s: float = Field(default=0.5, gt=0)
    ingest_unverified_records_burst: float = Field(default=60.0, ge=1)
    ingest_unverified_retention_days: int = 7
    # Each source's deliveries, counted per minute and outcome (`intake/deliveries.py`): written
    # this often, kept this long.
    ingest_delivery_log_flush_s: float = Field(default=1.0, gt=0)
    ingest_delivery_log_retention_days: int = Field(default=7, ge=1)
    # Where survey tools reach ingest, for the webhook URL the sources API shows (behind a proxy
    # or load balancer: its public address). Unset: the address the API was called at.
    ingest_public_url: str | None = None
    # `bench/ingest.py` only: a route that reads the body and answers 202, the raw baseline.
    ingest_bench_baseline: bool = False
