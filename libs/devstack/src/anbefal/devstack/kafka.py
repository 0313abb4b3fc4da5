"""A real single-node Apache Kafka (KRaft) from Maven Central jars: no Docker, no download at
run time beyond the jars `make run` fetches into `.local/kafka`."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from anbefal.common.kafka.connection import KafkaConnection, as_connection
from anbefal.common.topics import TopicSpec
from anbefal.devstack.paths import local_deploy_dir, project_root, state_dir
from anbefal.devstack.system import apt_install, say

T = TypeVar("T")

JVM_FLAGS = [
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]


def kafka_libs_dir() -> Path:
    return state_dir() / "kafka" / "libs"


def _pom() -> Path:
    return local_deploy_dir() / "kafka" / "pom.xml"


def ensure_java_and_maven() -> None:
    missing = [
        pkg
        for cmd, pkg in (("java", "openjdk-17-jre-headless"), ("mvn", "maven"))
        if not shutil.which(cmd)
    ]
    if missing:
        apt_install(*missing)


def ensure_kafka_jars() -> Path:
    """Copy Kafka's jars into `.local/kafka/libs` unless they are there for this very pom.xml."""
    libs = kafka_libs_dir()
    stamp = libs / ".pom-sha256"
    digest = hashlib.sha256(_pom().read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    ensure_java_and_maven()
    say("fetching Apache Kafka's jars from Maven Central (once) ...")
    # Deleting first: copy-dependencies never removes old jars, and two versions of a jar
    # on one classpath fail at start-up in confusing ways.
    shutil.rmtree(libs, ignore_errors=True)
    subprocess.run(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(_pom()),
            "dependency:copy-dependencies",
            f"-Dkafka.libs.dir={libs}",
        ],
        check=True,
        cwd=project_root(),
    )
    stamp.write_text(digest)
    say(f"Kafka jars ready in {libs}")
    return libs


def _run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when an event loop is running here."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def with_properties(text: str, properties: dict[str, str]) -> str:
    """`text` (a server.properties) with each key of `properties` set: replaced where the key is
    set already, appended where it is not."""
    lines = text.splitlines()
    todo = dict(properties)
    for i, line in enumerate(lines):
        key = line.partition("=")[0].strip()
        if not line.lstrip().startswith("#") and key in todo:
            lines[i] = f"{key}={todo.pop(key)}"
    return "\n".join([*lines, *(f"{k}={v}" for k, v in todo.items())]) + "\n"


def new_cluster_id() -> str:
    while True:  # Kafka's format: URL-safe base64 of 16 bytes; a leading '-' reads as an option.
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class KafkaBroker:
    run_dir: Path
    port: int
    controller_port: int
    process: subprocess.Popen[bytes] | None = None
    heap: str = "512m"
    # The port clients are told to connect to, when it is not `port`: a proxy in front of the
    # broker (netfault.FaultProxy). Kafka clients bootstrap, then connect to the advertised
    # address, so without this they would go around the proxy.
    advertised_port: int | None = None
    # Properties that replace or extend the single-node template's (a cluster's node id,
    # quorum and replication settings: kafkacluster.py), and the cluster id its nodes share.
    overrides: dict[str, str] = field(default_factory=dict)
    cluster_id: str | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "logs" / "broker.out"

    def _command(self, main: list[str]) -> list[str]:
        conf = local_deploy_dir() / "kafka" / "log4j2.properties"
        return [
            "java",
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            *JVM_FLAGS,
            f"-Dkafka.logs.dir={self.run_dir / 'logs'}",
            f"-Dlog4j2.configurationFile={conf}",
            "-cp",
            f"{kafka_libs_dir()}/*",
            *main,
        ]

    def prepare(self) -> list[str]:
        """Write the config, format the storage once; returns the broker's command line."""
        ensure_kafka_jars()
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        template = (local_deploy_dir() / "kafka" / "server.properties.template").read_text()
        props = self.run_dir / "server.properties"
        advertised = f"PLAINTEXT://127.0.0.1:{self.advertised_port or self.port}"
        props.write_text(
            with_properties(
                template.format(
                    broker_port=self.port,
                    controller_port=self.controller_port,
                    data_dir=self.run_dir / "data",
                ),
                {"advertised.listeners": advertised, **self.overrides},
            )
        )
        cluster_file = self.run_dir / "cluster-id"
        if not cluster_file.exists():
            cluster_file.write_text(self.cluster_id or new_cluster_id())
        if not (self.run_dir / "data" / "meta.properties").exists():
            subprocess.run(
                self._command(
                    [
                        "kafka.tools.StorageTool",
                        "format",
                        f"--cluster-id={cluster_file.read_text().strip()}",
                        "--ignore-formatted",
                        "-c",
                        str(props),
                    ]
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
        return self._command(["kafka.Kafka", str(props)])

    def start(self, timeout: float = 90) -> None:
        self.launch()
        self.wait_started(timeout)

    def launch(self) -> None:
        """Start the process; returns at once (a cluster's nodes must all be launched before
        any of them can elect a controller and answer)."""
        command = self.prepare()
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_started(self, timeout: float = 90) -> None:
        """Returns once the launched broker answers a metadata request."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Kafka exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if _port_open(self.port):
                try:
                    _run_in_thread(
                        wait_for_kafka(self.bootstrap, max(5.0, deadline - time.monotonic()))
                    )
                    return
                except TimeoutError:
                    pass
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"Kafka did not start in {timeout}s:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no broker log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (Kafka shuts down cleanly), then SIGKILL of the process group."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def restart(self, timeout: float = 90) -> None:
        self.stop()
        self.start(timeout)


def start_kafka(
    run_dir: Path,
    port: int,
    controller_port: int,
    *,
    timeout: float = 90,
    heap: str = "512m",
    advertised_port: int | None = None,
) -> KafkaBroker:
    broker = KafkaBroker(
        run_dir=run_dir,
        port=port,
        controller_port=controller_port,
        heap=heap,
        advertised_port=advertised_port,
    )
    broker.start(timeout)
    return broker


def run_kafka_foreground(run_dir: Path, port: int, controller_port: int) -> NoReturn:
    """Become the broker process (for the Procfile): honcho's signals reach the JVM directly."""
    command = KafkaBroker(run_dir=run_dir, port=port, controller_port=controller_port).prepare()
    say(f"starting Kafka on 127.0.0.1:{port} (data in {run_dir / 'data'})")
    os.execvp(command[0], command)


async def wait_for_kafka(bootstrap: KafkaConnection | str, timeout: float) -> None:
    """Returns once the broker answers a metadata request."""
    connection = as_connection(bootstrap)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(**connection.client_kwargs(), request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as exc:
            last = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.3)
    raise TimeoutError(
        f"Kafka at {connection.bootstrap} did not answer within {timeout:.0f}s: {last!r}"
    )


async def create_topics(
    bootstrap: KafkaConnection | str, specs: Iterable[TopicSpec], *, replicas: int = 1
) -> None:
    """Create the topics that do not exist yet (idempotent, safe to race), each partition on
    `replicas` brokers."""
    admin = AIOKafkaAdminClient(
        **as_connection(bootstrap).client_kwargs(), request_timeout_ms=15000
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        for spec in missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            spec.name, spec.partitions, replicas, topic_configs=dict(spec.config)
                        )
                    ]
                )
            except TopicAlreadyExistsError:
                pass  # another process created it meanwhile
    finally:
        await admin.close()
