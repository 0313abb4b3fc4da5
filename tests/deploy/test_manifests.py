"""The compose file and the Kubernetes manifests validate against their schemas.

Compose: the Compose Specification schema vendored in check-jsonschema. Kubernetes built-in
kinds: the strict JSON schemas shipped in kubernetes-validate (no network). Operator resources
(Strimzi, CloudNativePG) have no schema in those packages, so pydantic models of the fields we
use check them, rejecting unknown fields. No Docker engine runs in CI: images are not built.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import kubernetes_validate
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from anbefal.common.kafka.producer import Publisher
from anbefal.common.services import SERVICES
from anbefal.common.topics import ALL_TOPICS
from anbefal.devstack.kafkacluster import MIN_INSYNC_REPLICAS, NODES, REPLICAS, REPLICATION

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
K8S = DEPLOY / "k8s"
K8S_VERSION = "1.33.0"
OPERATOR_KINDS = {"KafkaTopic", "Kafka", "KafkaNodePool", "KafkaUser", "Cluster"}


def _check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
        + [str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def _k8s_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_compose_validates_against_the_compose_spec() -> None:
    result = _check_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_check_catches_a_broken_file(tmp_path: Path) -> None:
    doc = yaml.safe_load(COMPOSE.read_text())
    doc["services"]["ingest"]["healthcheck"]["retries"] = "many"
    doc["services"]["ingest"]["restart_policy"] = "always"
    broken = tmp_path / "compose.yaml"
    broken.write_text(yaml.safe_dump(doc))
    assert _check_compose(broken).returncode != 0


def test_compose_runs_kraft_kafka_postgres_a_mail_catcher_and_the_four_services() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    properties = (DEPLOY / "compose" / "kafka" / "server.properties").read_text()
    assert "process.roles=broker,controller" in properties
    assert services["postgres"]["image"].startswith("postgres:")
    assert "mailpit" in services["mail"]["image"]
    for name in (s.name for s in SERVICES):
        service = services[name]
        assert service["build"]["args"]["SERVICE"] == name
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        # After the topics and ACLs are in place (which waits for a healthy broker).
        assert service["depends_on"]["kafka-acls"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    for infra in ("kafka", "postgres", "mail"):
        assert "healthcheck" in services[infra], infra
    assert services["notify"]["environment"]["ANBEFAL_SMTP_HOST"] == "mail"


def test_dockerfile_is_multi_stage_with_uv_and_one_service_argument() -> None:
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert text.count("\nFROM ") >= 2
    assert "uv sync --frozen --no-dev" in text
    assert "ARG SERVICE" in text
    assert "USER anbefal" in text


@pytest.mark.parametrize(
    "doc",
    [d for d in _k8s_documents() if d["kind"] not in OPERATOR_KINDS],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_builtin_kinds_validate_against_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_kubernetes_schema_check_catches_a_typo() -> None:
    doc = next(d for d in _k8s_documents() if d["kind"] == "Deployment")
    doc["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_every_service_has_probes_and_an_autoscaler() -> None:
    docs = _k8s_documents()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    autoscalers = {
        d["spec"]["scaleTargetRef"]["name"]: d
        for d in docs
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    for service in SERVICES:
        name = f"anbefal-{service.name}"
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        hpa = autoscalers[name]
        # Copies beyond the partition count would sit idle.
        assert hpa["spec"]["maxReplicas"] <= max(t.partitions for t in ALL_TOPICS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Metadata(_Strict):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class _KafkaTopicSpec(_Strict):
    topicName: str  # noqa: N815  (the CRD's field name)
    partitions: int = Field(ge=1)
    replicas: int = Field(ge=1, le=32767)
    config: dict[str, str | int | bool] = Field(default_factory=dict)


class _KafkaTopic(_Strict):
    apiVersion: Literal["kafka.strimzi.io/v1beta2", "kafka.strimzi.io/v1"]  # noqa: N815
    kind: Literal["KafkaTopic"]
    metadata: _Metadata
    spec: _KafkaTopicSpec


class _Storage(_Strict):
    size: str = Field(pattern=r"^\d+(Mi|Gi|Ti)$")


class _CnpgSpec(BaseModel):
    instances: int = Field(ge=1)
    storage: _Storage
    bootstrap: dict[str, Any]


class _CnpgCluster(_Strict):
    apiVersion: Literal["postgresql.cnpg.io/v1"]  # noqa: N815
    kind: Literal["Cluster"]
    metadata: _Metadata
    spec: _CnpgSpec


class _StrimziResource(_Strict):
    apiVersion: Literal["kafka.strimzi.io/v1beta2"]  # noqa: N815
    kind: Literal["Kafka", "KafkaNodePool", "KafkaUser"]
    metadata: _Metadata
    spec: dict[str, Any]


def test_operator_resources_have_the_expected_shape() -> None:
    docs = [d for d in _k8s_documents() if d["kind"] in OPERATOR_KINDS]
    kinds = {d["kind"] for d in docs}
    assert kinds == OPERATOR_KINDS
    for doc in docs:
        if doc["kind"] == "KafkaTopic":
            topic = _KafkaTopic.model_validate(doc)
            assert topic.metadata.labels["strimzi.io/cluster"] == "anbefal"
        elif doc["kind"] == "Cluster":
            cluster = _CnpgCluster.model_validate(doc)
            assert cluster.metadata.name == "anbefal-db"
            assert cluster.spec.bootstrap["initdb"]["database"] == "anbefal"
        else:
            _StrimziResource.model_validate(doc)


def test_kafka_topics_match_all_topics_exactly() -> None:
    declared = {
        (
            t.spec.topicName,
            t.spec.partitions,
            frozenset(t.spec.config.items()) - {("min.insync.replicas", "2")},
        )
        for t in (
            _KafkaTopic.model_validate(d) for d in _k8s_documents() if d["kind"] == "KafkaTopic"
        )
    }
    expected = {(t.name, t.partitions, frozenset(t.config.items())) for t in ALL_TOPICS}
    assert declared == expected


def test_the_procfile_serves_every_service_on_its_registered_port() -> None:
    procfile = DEPLOY / "local" / "Procfile"
    commands = dict(line.split(": ", 1) for line in procfile.read_text().splitlines() if line)
    served = {name: cmd for name, cmd in commands.items() if cmd.startswith("anbefal serve ")}
    # No --port: `anbefal serve` takes each service's dev port from the registry.
    assert served == {s.name: f"anbefal serve {s.name}" for s in SERVICES}


def test_metrics_are_scraped_from_the_internal_port_never_the_api_port() -> None:
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = [
        t for job in scrape["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    ]
    assert targets
    assert all(t.endswith(":9090") for t in targets), targets
    docs = _k8s_documents()
    for name in (s.name for s in SERVICES):
        (deployment,) = [
            d
            for d in docs
            if d["kind"] == "Deployment" and d["metadata"]["name"] == f"anbefal-{name}"
        ]
        pod = deployment["spec"]["template"]
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9090"
        ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
        assert ports == {"http": 8000, "metrics": 9090}
        (service,) = [
            d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == f"anbefal-{name}"
        ]
        assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert "ANBEFAL_METRICS_PORT=9090" in dockerfile


def _by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in _k8s_documents() if d["kind"] == kind]


def test_kafka_wants_scram_over_tls_and_each_service_has_its_own_user_and_acls() -> None:
    (kafka,) = _by_kind("Kafka")
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert listeners
    assert all(lst["tls"] for lst in listeners), "no plaintext listener"
    assert all(lst["authentication"]["type"] == "scram-sha-512" for lst in listeners)
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    (config,) = _by_kind("ConfigMap")
    assert config["data"]["ANBEFAL_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    users = {u["metadata"]["name"]: u for u in _by_kind("KafkaUser")}
    topics = {t.name for t in ALL_TOPICS}
    for user in users.values():
        for acl in user["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            if resource["type"] == "topic" and resource["patternType"] == "literal":
                assert resource["name"] in topics, resource
    for service in SERVICES:
        name = f"anbefal-{service.name}"
        assert users[name]["spec"]["authentication"]["type"] == "scram-sha-512"
        (deployment,) = [d for d in _by_kind("Deployment") if d["metadata"]["name"] == name]
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["ANBEFAL_KAFKA_SASL_USERNAME"]["value"] == name
        secret = env["ANBEFAL_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": name, "key": "password"}
        if service.group is not None:
            groups = [
                a["resource"]["name"]
                for a in users[name]["spec"]["authorization"]["acls"]
                if a["resource"]["type"] == "group"
            ]
            assert groups == [service.group_id("anbefal")]


def test_network_policies_deny_by_default_and_keep_metrics_internal() -> None:
    policies = {p["metadata"]["name"]: p for p in _by_kind("NetworkPolicy")}
    deny = policies["anbefal-default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert "ingress" not in deny
    rules = policies["anbefal-services"]["spec"]["ingress"]
    metrics = [r for r in rules if any(p["port"] == 9090 for p in r["ports"])]
    assert all("from" in r for r in metrics), "the metrics port is open to everyone"


def test_every_image_is_pinned_by_digest_and_no_database_password_has_a_default() -> None:
    images = [
        c["image"]
        for d in _by_kind("Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
    ] + [c["spec"]["imageName"] for c in _by_kind("Cluster")]
    compose = yaml.safe_load(COMPOSE.read_text())
    images += [s["image"] for s in compose["services"].values() if "image" in s]
    unpinned = [i for i in images if "@sha256:" not in i]
    assert not unpinned, unpinned
    text = COMPOSE.read_text()
    assert "POSTGRES_PASSWORD: anbefal" not in text
    assert ":anbefal@postgres" not in text


def test_compose_creates_every_topic_and_kafka_wants_sasl_ssl() -> None:
    script = (DEPLOY / "compose" / "kafka" / "acls.sh").read_text()
    main = [t for t in ALL_TOPICS if not t.name.endswith(".dlq")]
    for spec in main:
        assert f"topic {spec.name} {spec.partitions}" in script, spec.name
    properties = (DEPLOY / "compose" / "kafka" / "server.properties").read_text()
    assert "listeners=SASL_SSL://:9092,CONTROLLER://:9093" in properties
    assert "allow.everyone.if.no.acl.found=false" in properties
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in (s.name for s in SERVICES):
        env = compose[name]["environment"]
        assert env["ANBEFAL_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["ANBEFAL_KAFKA_SASL_USERNAME"] == name


def test_notify_may_publish_tenant_settings() -> None:
    """notify's settings API publishes the tenants' settings (`PATCH .../settings`)."""
    (notify,) = [u for u in _by_kind("KafkaUser") if u["metadata"]["name"] == "anbefal-notify"]
    writes = {
        a["resource"]["name"]
        for a in notify["spec"]["authorization"]["acls"]
        if a["resource"]["type"] == "topic" and "Write" in a["operations"]
    }
    assert "anbefal.tenants.v1" in writes


async def test_production_kafka_keeps_every_acknowledged_record_on_two_brokers() -> None:
    """Three nodes; every topic on three of them, two in sync before `acks=all` answers; no
    unclean election; and every service's producer idempotent with acks=all: the settings
    under which tests/faults/test_leader_failover.py loses no answer when a leader dies."""
    (pool,) = _by_kind("KafkaNodePool")
    assert pool["spec"]["replicas"] == NODES
    assert set(pool["spec"]["roles"]) == {"broker", "controller"}
    config = {k: str(v).lower() for k, v in _by_kind("Kafka")[0]["spec"]["kafka"]["config"].items()}
    # Strimzi runs no share groups (a preview in Kafka 4.1): their topic settings are local only.
    expected = {k: v for k, v in REPLICATION.items() if not k.startswith("share.")}
    assert {k: config.get(k) for k in expected} == expected
    for topic in _by_kind("KafkaTopic"):
        assert topic["spec"]["replicas"] == REPLICAS, topic["metadata"]["name"]
        assert topic["spec"]["config"]["min.insync.replicas"] == str(MIN_INSYNC_REPLICAS)
    producer = Publisher("127.0.0.1:1", timeout=1, client_id="check")._new_producer()
    try:
        assert producer._sender._acks == -1  # "all"
        assert producer._txn_manager is not None  # idempotent: a producer id and sequences
    finally:
        await producer.stop()


def _env(deployment: str) -> dict[str, str]:
    """A Deployment's plain settings: the shared ConfigMap's, then its own `env` values."""
    (config,) = [c for c in _by_kind("ConfigMap") if c["metadata"]["name"] == "anbefal-config"]
    (found,) = [d for d in _by_kind("Deployment") if d["metadata"]["name"] == deployment]
    (container,) = found["spec"]["template"]["spec"]["containers"]
    own = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return {**config["data"], **own}


def test_the_addresses_mails_and_pages_hand_out_are_public_https_ones() -> None:
    """Mails carry notify's links (a task's signed link, unsubscribe, the digest) and the
    sources page ingest's webhook URL: left unset, they would name the pod's own address."""
    for deployment, setting in (
        ("anbefal-notify", "ANBEFAL_PUBLIC_URL"),
        ("anbefal-ingest", "ANBEFAL_INGEST_PUBLIC_URL"),
    ):
        value = _env(deployment).get(setting, "")
        assert value.startswith("https://"), (deployment, setting, value)
