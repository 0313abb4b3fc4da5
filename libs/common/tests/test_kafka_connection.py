"""Services can reach a Kafka that wants SASL/SCRAM over TLS; plaintext stays the default."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import SecretStr, ValidationError

from anbefal.common.kafka.connection import KafkaClientSettings
from anbefal.common.kafka.producer import Publisher
from anbefal.common.settings import BaseServiceSettings

SECRET = SecretStr("k" * 40)


def test_the_default_is_plaintext() -> None:
    kwargs = BaseServiceSettings(jwt_secret=SECRET).kafka().client_kwargs()
    assert kwargs == {"bootstrap_servers": "127.0.0.1:19092", "security_protocol": "PLAINTEXT"}


async def test_sasl_scram_over_tls_reaches_every_client(monkeypatch: pytest.MonkeyPatch) -> None:
    ca = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("ANBEFAL_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ANBEFAL_KAFKA_SASL_USERNAME", "notify")
    monkeypatch.setenv("ANBEFAL_KAFKA_SASL_PASSWORD", "s3cret-from-the-kafka-user")
    monkeypatch.setenv("ANBEFAL_KAFKA_SSL_CAFILE", str(ca))
    connection = BaseServiceSettings(jwt_secret=SECRET).kafka()
    producer = Publisher(connection, timeout=1, client_id="t")._new_producer()
    assert isinstance(producer, AIOKafkaProducer)
    client = producer.client
    assert client._security_protocol == "SASL_SSL"
    assert client._sasl_mechanism == "SCRAM-SHA-512"
    assert client._sasl_plain_username == "notify"
    assert isinstance(client._ssl_context, ssl.SSLContext)
    assert client._ssl_context.verify_mode == ssl.CERT_REQUIRED
    # The consumer loop and the admin client take the same arguments.
    consumer = AIOKafkaConsumer(**connection.client_kwargs())
    assert consumer._client._security_protocol == "SASL_SSL"
    assert consumer._client._sasl_plain_password == "s3cret-from-the-kafka-user"
    await producer.stop()
    await consumer.stop()


def test_sasl_without_credentials_is_refused_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANBEFAL_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ValidationError, match="ANBEFAL_KAFKA_SASL_USERNAME"):
        KafkaClientSettings()
