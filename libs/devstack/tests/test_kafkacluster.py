"""A cluster node's server.properties: the single-node template with the cluster's settings."""

from __future__ import annotations

from pathlib import Path

from anbefal.devstack.kafka import with_properties
from anbefal.devstack.kafkacluster import REPLICATION, kafka_cluster


def test_properties_replace_set_keys_and_append_new_ones() -> None:
    text = "# node.id=9 stays a comment\nnode.id=1\nmin.insync.replicas=1\n"
    out = with_properties(text, {"node.id": "2", "unclean.leader.election.enable": "false"})
    assert out.splitlines() == [
        "# node.id=9 stays a comment",
        "node.id=2",
        "min.insync.replicas=1",
        "unclean.leader.election.enable=false",
    ]


def test_each_node_votes_in_one_quorum_with_three_replicas_and_two_in_sync(
    tmp_path: Path,
) -> None:
    cluster = kafka_cluster(tmp_path, [(9101, 9201), (9102, 9202), (9103, 9203)])
    assert cluster.bootstrap == "127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103"
    assert {node.cluster_id for node in cluster.nodes.values()} != {None}
    assert len({node.cluster_id for node in cluster.nodes.values()}) == 1
    for node_id, node in cluster.nodes.items():
        assert node.overrides["node.id"] == str(node_id)
        assert node.overrides["controller.quorum.voters"] == (
            "1@127.0.0.1:9201,2@127.0.0.1:9202,3@127.0.0.1:9203"
        )
        assert node.overrides.items() >= REPLICATION.items()
        assert node.run_dir == tmp_path / f"node-{node_id}"
    assert REPLICATION["default.replication.factor"] == "3"
    assert REPLICATION["min.insync.replicas"] == "2"
