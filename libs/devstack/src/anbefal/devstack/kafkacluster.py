"""A local three-node Apache Kafka cluster (KRaft), for the leader-failover fault and for trying
the replicated settings by hand (`python -m anbefal.devstack kafka-cluster`).

Each node is broker and controller at once, as the Strimzi node pool in `deploy/k8s` runs them:
a quorum of three combined nodes is what a small production cluster looks like, and killing
a partition leader there may kill the active controller too, so the measured failover includes
a controller election when it happens. (One separate controller in front of three brokers would
be a fourth JVM on a small machine and a single point of failure no deployment has.)

Every topic gets three replicas and `min.insync.replicas=2`: a record acknowledged with
`acks=all` is on at least two brokers, so it survives the loss of any one of them.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from anbefal.devstack.kafka import KafkaBroker, new_cluster_id

NODES = 3
# The production settings (deploy/k8s/kafka-cluster.yaml, kafka-topics.yaml): tests/deploy
# checks that both keep them.
REPLICAS = 3
MIN_INSYNC_REPLICAS = 2
REPLICATION: dict[str, str] = {
    "default.replication.factor": str(REPLICAS),
    "min.insync.replicas": str(MIN_INSYNC_REPLICAS),
    "offsets.topic.replication.factor": str(REPLICAS),
    "transaction.state.log.replication.factor": str(REPLICAS),
    "transaction.state.log.min.isr": str(MIN_INSYNC_REPLICAS),
    "share.coordinator.state.topic.replication.factor": str(REPLICAS),
    "share.coordinator.state.topic.min.isr": str(MIN_INSYNC_REPLICAS),
    # A replica that missed acknowledged records must never become leader: that would drop them.
    "unclean.leader.election.enable": "false",
}


@dataclass
class KafkaCluster:
    nodes: dict[int, KafkaBroker]  # by node id

    @property
    def bootstrap(self) -> str:
        """Every node's address: a client bootstraps from whichever answers."""
        return ",".join(node.bootstrap for node in self.nodes.values())

    def alive(self) -> list[int]:
        return [i for i, n in self.nodes.items() if n.process and n.process.poll() is None]

    def start(self, timeout: float = 120) -> None:
        """Launch every node, then wait for each: none answers before a quorum is up."""
        for node in self.nodes.values():
            node.launch()
        deadline = time.monotonic() + timeout
        try:
            for node in self.nodes.values():
                node.wait_started(max(5.0, deadline - time.monotonic()))
        except BaseException:
            self.stop()
            raise

    def kill(self, node_id: int) -> None:
        """SIGKILL one node (no controlled shutdown: its leaderships move only once the
        controller notices the missed heartbeats)."""
        self.nodes[node_id].kill()

    def restart(self, node_id: int, timeout: float = 90) -> None:
        self.nodes[node_id].start(timeout)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to every node at once (one by one, the last would wait for a quorum that has
        gone), then SIGKILL what is left."""
        running = [n for n in self.nodes.values() if n.process and n.process.poll() is None]
        for node in running:
            assert node.process is not None
            node.process.terminate()
        deadline = time.monotonic() + timeout
        for node in running:
            assert node.process is not None
            try:
                node.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.kill()

    async def partitions(self, topic: str) -> dict[int, dict[str, object]]:
        """Each partition of `topic` as the cluster's metadata has it: `leader`, `replicas`,
        `isr` (node ids; leader -1 while none is elected)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return {p["partition"]: p for p in described["partitions"]}

    async def leader(self, topic: str, partition: int) -> int:
        leader = (await self.partitions(topic))[partition]["leader"]
        assert isinstance(leader, int)
        return leader


def kafka_cluster(run_dir: Path, ports: list[tuple[int, int]], heap: str = "512m") -> KafkaCluster:
    """A cluster of `len(ports)` combined nodes (not started); `ports`: each node's (client,
    controller) port. State lives in `run_dir/node-<id>`. `heap`: each node's, as the single
    broker's: at 256 MB a node under load ran its heap 70 % full and paused up to 0.24 s
    in young collections, time an `acks=all` produce waits for."""
    voters = ",".join(f"{i}@127.0.0.1:{c}" for i, (_, c) in enumerate(ports, start=1))
    cluster_id = new_cluster_id()
    return KafkaCluster(
        {
            i: KafkaBroker(
                run_dir=run_dir / f"node-{i}",
                port=port,
                controller_port=controller,
                heap=heap,
                cluster_id=cluster_id,
                overrides={
                    "node.id": str(i),
                    "controller.quorum.voters": voters,
                    **REPLICATION,
                },
            )
            for i, (port, controller) in enumerate(ports, start=1)
        }
    )


@contextmanager
def running_cluster(
    run_dir: Path, ports: list[tuple[int, int]], heap: str = "512m", *, graceful: bool = True
) -> Iterator[KafkaCluster]:
    """A started cluster, stopped on the way out; `graceful=False` SIGKILLs the nodes instead
    (a throwaway cluster: a controlled shutdown of all three takes seconds and keeps nothing)."""
    cluster = kafka_cluster(run_dir, ports, heap)
    cluster.start()
    try:
        yield cluster
    finally:
        if graceful:
            cluster.stop()
        else:
            for node_id in cluster.alive():
                cluster.kill(node_id)
