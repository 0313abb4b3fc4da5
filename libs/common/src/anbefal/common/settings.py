"""Typed settings shared by every service; each service subclasses `BaseServiceSettings`.

Everything comes from the environment with the `ANBEFAL_` prefix (`ANBEFAL_KAFKA_BOOTSTRAP`,
`ANBEFAL_DATABASE_URL`, ...). Secrets have no default, and a placeholder secret stops start-up.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from anbefal.common.auth import single_key
from anbefal.common.crypto import Keyring
from anbefal.common.kafka.connection import KafkaClientSettings

# Keyrings are asked for on every authenticated request and every sealed value: parse each
# configured spec once (settings are frozen, so a spec never changes under its string).
_parsed_keyring = lru_cache(maxsize=16)(Keyring.parse)
_single_key = lru_cache(maxsize=4)(single_key)


class BaseServiceSettings(KafkaClientSettings):
    """Kafka's connection settings (`kafka_bootstrap`, `kafka_security_protocol`,
    `kafka_sasl_*`, `kafka_ssl_cafile`) come from `KafkaClientSettings`; `kafka()` builds the
    connection every producer, consumer and admin client of the process uses."""

    model_config = SettingsConfigDict(env_prefix="ANBEFAL_", extra="ignore", frozen=True)

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:15432/anbefal"
    # Deployment keys for data sealed at rest and in events: `kid:base64url-32-bytes[,kid:...]`,
    # the first seals, all open (rotation). `anbefal keys new` prints one entry.
    data_keys: SecretStr | None = None
    # The bearer tokens' keys: `ANBEFAL_JWT_KEYS`, a keyring like `ANBEFAL_DATA_KEYS` (the first
    # signs, all verify), or for one key `ANBEFAL_JWT_SECRET` (32+ characters, key id
    # `default`). One of them is needed; `ANBEFAL_JWT_KEYS` wins when both are set.
    jwt_keys: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    log_level: str = "INFO"
    log_json: bool = True
    # How long a produce may wait for the broker's acknowledgement before the caller gives up:
    # a single record (a webhook's answer: its sender is told 503 quickly and retries one
    # answer), and a send of many (a batch of answers, an outbox relay's step), whose
    # acknowledgement takes longer on a loaded machine and whose retry would resend them all.
    produce_timeout_s: float = 1.5
    produce_batch_timeout_s: float = 10.0
    # A consumer that has not finished a poll in this long while lag > 0 reports not ready.
    consumer_stall_s: float = 60.0
    default_time_zone: str = "Europe/Copenhagen"
    # How often the retention worker anonymises what has expired (common/retention.py).
    retention_interval_s: float = Field(default=86_400.0, gt=0)
    # Allocations between young garbage collections (see common/gctune.py); 0 keeps CPython's
    # default of 700, which cost ingest half its CPU under load.
    gc_young_threshold: int = Field(default=50_000, ge=0)
    # Consumer groups are `<prefix>-<service>`; tests give each run its own prefix.
    group_prefix: str = "anbefal"
    consumer_session_timeout_ms: int = 10_000
    # A consumer that spends longer than this on one batch leaves the group (aiokafka's
    # max_poll_interval_ms); its batch still commits once, thanks to the offset compare-and-set.
    consumer_max_poll_interval_ms: int = 300_000
    # The watchdog replaces a Kafka consumer whose poll has fetched nothing for this long while
    # it has lag, or has not returned for this long (out of its group: aiokafka#1154). 0: off.
    consumer_watchdog_s: float = Field(default=20.0, ge=0)
    # The largest request body a service reads (413 above it, naming this setting): owner and
    # people uploads, rules, forms. ingest refuses (and keeps) answer bodies over its own
    # ANBEFAL_MAX_BODY_BYTES (1 MiB) first; keep this above that.
    http_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # /metrics is served here, never on the API port: a deployment lets only Prometheus reach
    # it. None: the service's dev metrics port (9001-9004); in a container, 0.0.0.0:9090.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)

    @field_validator("data_keys")
    @classmethod
    def _parse_data_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            Keyring.parse(
                value.get_secret_value()
            )  # a malformed spec stops start-up, not a request
        return value

    def keyring(self) -> Keyring:
        if self.data_keys is None:
            raise RuntimeError(
                "ANBEFAL_DATA_KEYS is not set; generate a key with `anbefal keys new` and set it"
            )
        return _parsed_keyring(self.data_keys.get_secret_value())

    @model_validator(mode="after")
    def _need_keys(self) -> BaseServiceSettings:
        try:
            self.signing_keys()
        except ValueError as exc:
            raise ValueError(f"ANBEFAL_JWT_KEYS / ANBEFAL_JWT_SECRET: {exc}") from None
        return self

    def signing_keys(self) -> Keyring:
        """The bearer tokens' keys (`common/auth.py`)."""
        if self.jwt_keys is not None:
            return _parsed_keyring(self.jwt_keys.get_secret_value())
        if self.jwt_secret is not None:
            return _single_key(self.jwt_secret.get_secret_value())
        raise ValueError("set ANBEFAL_JWT_KEYS or ANBEFAL_JWT_SECRET")
