"""How every Kafka client of a process connects: the bootstrap servers and, in a deployment,
SASL/SCRAM over TLS. The local runtime and the tests use plaintext (the default).

Settings (`ANBEFAL_` prefix): `KAFKA_BOOTSTRAP`, `KAFKA_SECURITY_PROTOCOL` (`PLAINTEXT`,
`SSL`, `SASL_PLAINTEXT`, `SASL_SSL`), `KAFKA_SASL_MECHANISM` (`SCRAM-SHA-512` by default),
`KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`, `KAFKA_SSL_CAFILE` (the CA that signed the
brokers' certificates; the system's trust store when unset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context
from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


@dataclass(frozen=True)
class KafkaConnection:
    bootstrap: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None

    def client_kwargs(self) -> dict[str, Any]:
        """The keyword arguments every aiokafka client (producer, consumer, admin) takes."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            kwargs["ssl_context"] = create_ssl_context(cafile=self.ssl_cafile)
        if self.security_protocol.startswith("SASL_"):
            kwargs.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        return kwargs


def as_connection(kafka: KafkaConnection | str) -> KafkaConnection:
    """A bare bootstrap string is a plaintext connection (local runtime, tests, benches)."""
    return kafka if isinstance(kafka, KafkaConnection) else KafkaConnection(kafka)


class KafkaClientSettings(BaseSettings):
    """The Kafka part of every service's settings; the CLI reads it on its own."""

    model_config = SettingsConfigDict(env_prefix="ANBEFAL_", extra="ignore", frozen=True)

    kafka_bootstrap: str = "127.0.0.1:19092"
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaClientSettings:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"ANBEFAL_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "ANBEFAL_KAFKA_SASL_USERNAME and ANBEFAL_KAFKA_SASL_PASSWORD"
            )
        return self

    def kafka(self) -> KafkaConnection:
        password = self.kafka_sasl_password
        return KafkaConnection(
            bootstrap=self.kafka_bootstrap,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=password.get_secret_value() if password else None,
            ssl_cafile=self.kafka_ssl_cafile,
        )
