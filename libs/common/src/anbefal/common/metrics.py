"""Prometheus metrics every service exposes on `/metrics`."""

from __future__ import annotations

import hashlib

from prometheus_client import Counter, Gauge, Histogram


def tenant_label(tenant: str) -> str:
    """A tenant as a metric label: a stable hash, not its name (the figures say nothing about
    which customers a deployment has). `anbefal tenant label SLUG` prints it for one tenant."""
    return hashlib.sha256(f"anbefal-tenant:{tenant}".encode()).hexdigest()[:12]


HTTP_REQUESTS = Counter(
    "anbefal_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "anbefal_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)
PRODUCE_LATENCY = Histogram(
    "anbefal_produce_seconds",
    "Time from send to broker acknowledgement",
    ["topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0),
)
PRODUCE_FAILURES = Counter("anbefal_produce_failures_total", "Sends not acknowledged", ["topic"])
RECORDS_PROCESSED = Counter(
    "anbefal_records_processed_total", "Records consumed and committed", ["group", "topic"]
)
DEAD_LETTERS = Counter(
    "anbefal_dead_letters_total", "Records sent to the dead-letter topic", ["group", "topic"]
)
CONSUMER_LAG = Gauge(
    "anbefal_consumer_lag", "High watermark minus position", ["group", "topic", "partition"]
)
BATCH_RETRIES = Counter(
    "anbefal_consumer_batch_retries_total", "Batches rolled back to retry", ["group", "reason"]
)
CONSUMER_RESTARTS = Counter(
    "anbefal_consumer_restarts_total",
    "Kafka consumers the loop replaced: by its watchdog (stalled, not_in_group, stale) or "
    "after an error",
    ["group", "reason"],
)
CONSUMER_STOPS_ABANDONED = Counter(
    "anbefal_consumer_stops_abandoned_total",
    "Kafka consumers whose stop() did not end within a session timeout (mostly: stopped while "
    "the broker was unreachable); the loop went on with a new one",
    ["group"],
)
DEAD_LETTERS_PENDING = Gauge(
    "anbefal_dead_letters_pending",
    "Rows in the service's dead_letters table not yet replayed (refreshed on each scrape)",
    ["group"],
)

# Business metrics of the closed loop (a `tenant` label holds `tenant_label(tenant)`). Defined
# here so dashboards and alerts have one name for each; the services update them where the fact
# happens (see deploy/README.md).
TASKS_OPEN = Gauge("anbefal_tasks_open", "Call-back tasks not yet closed", ["tenant"])
TASKS_OVERDUE = Gauge(
    "anbefal_tasks_overdue", "Open call-back tasks past their due time", ["tenant"]
)
TASKS_UNREACHABLE = Gauge(
    "anbefal_tasks_unreachable",
    "Open call-back tasks whose owner neither has a staff login nor may get a task link: "
    "they wait in the fallback queue",
    ["tenant"],
)
SLA_BREACHES = Counter(
    "anbefal_sla_breaches_total", "Tasks that passed their SLA without being handled", ["tenant"]
)
EMAILS_SENT = Counter("anbefal_emails_sent_total", "Emails the SMTP relay accepted", ["kind"])
EMAILS_FAILED = Counter("anbefal_emails_failed_total", "Email sends that failed", ["kind"])
EMAILS_CAPPED = Counter(
    "anbefal_emails_capped_total",
    "Respondent mails not sent: the address had its daily cap already",
    ["kind"],
)
DETRACTOR_TO_TASK = Histogram(
    "anbefal_detractor_to_task_seconds",
    "Time from a detractor's answer being received to its call-back task being created",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
