"""`python -m anbefal.devstack`: the local stack's parts, one command each (used by `make run`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from anbefal.common import topics
from anbefal.devstack import kafka, kafkacluster, mailsink, postgres, system
from anbefal.devstack.paths import state_dir
from anbefal.devstack.system import say


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def cmd_prepare(args: argparse.Namespace) -> None:
    say("preparing the local stack (downloads and installs only what is missing) ...")
    if args.test_tools:
        system.ensure_test_tools()
    kafka.ensure_kafka_jars()
    bin_dir = postgres.ensure_postgres_installed()
    postgres.PostgresServer(
        state_dir() / "run" / "postgres" / "data", _port("ANBEFAL_PG_PORT", 15432), bin_dir
    ).init()
    say("local stack prepared")


def cmd_kafka(_: argparse.Namespace) -> None:
    kafka.run_kafka_foreground(
        state_dir() / "run" / "kafka",
        _port("ANBEFAL_KAFKA_PORT", 19092),
        _port("ANBEFAL_KAFKA_CONTROLLER_PORT", 19093),
    )


def cmd_kafka_cluster(_: argparse.Namespace) -> None:
    """Three combined nodes on ports base, base+1, base+2 (controllers at base+100...), every
    topic created with three replicas; Ctrl-C stops them."""
    base = _port("ANBEFAL_KAFKA_CLUSTER_PORT", 29092)
    ports = [(base + i, base + 100 + i) for i in range(kafkacluster.NODES)]
    with kafkacluster.running_cluster(state_dir() / "run" / "kafka-cluster", ports) as cluster:
        asyncio.run(
            kafka.create_topics(
                cluster.bootstrap, topics.ALL_TOPICS, replicas=kafkacluster.REPLICAS
            )
        )
        say(f"three-node Kafka cluster up: ANBEFAL_KAFKA_BOOTSTRAP={cluster.bootstrap}")
        say("Ctrl-C stops it")
        # Blocked only now: the nodes, already started, must not inherit the mask.
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        signal.sigwait(stop_signals)
        say("stopping the cluster ...")


def cmd_postgres(_: argparse.Namespace) -> None:
    postgres.run_postgres_foreground(
        state_dir() / "run" / "postgres" / "data", _port("ANBEFAL_PG_PORT", 15432)
    )


def cmd_mail(_: argparse.Namespace) -> None:
    mailsink.main(
        [
            "--dir", str(state_dir() / "run" / "mail"),
            "--smtp-port", str(_port("ANBEFAL_SMTP_PORT", 1025)),
            "--http-port", str(_port("ANBEFAL_MAIL_HTTP_PORT", 8025)),
        ]
    )  # fmt: skip


def cmd_wait(args: argparse.Namespace) -> None:
    try:
        asyncio.run(kafka.wait_for_kafka(args.kafka, args.timeout))
    except TimeoutError as exc:
        sys.exit(str(exc))


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m anbefal.devstack",
        description="Run the parts of Anbefal's local stack: Kafka, PostgreSQL, a mail sink.",
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    prepare = sub.add_parser(
        "prepare", help="fetch Kafka's jars, install and initialise PostgreSQL"
    )
    prepare.add_argument(
        "--test-tools",
        action="store_true",
        help="also install Chromium, promtool and libfaketime (for make test)",
    )
    prepare.set_defaults(func=cmd_prepare)
    sub.add_parser(
        "kafka", help="run the Kafka broker in the foreground (port $ANBEFAL_KAFKA_PORT, 19092)"
    ).set_defaults(func=cmd_kafka)
    sub.add_parser(
        "kafka-cluster",
        help="run a three-node Kafka cluster (replication 3, min ISR 2) on ports "
        "$ANBEFAL_KAFKA_CLUSTER_PORT (29092) to +2 until Ctrl-C",
    ).set_defaults(func=cmd_kafka_cluster)
    sub.add_parser(
        "postgres", help="run PostgreSQL in the foreground (port $ANBEFAL_PG_PORT, 15432)"
    ).set_defaults(func=cmd_postgres)
    sub.add_parser(
        "mail", help="run the SMTP sink ($ANBEFAL_SMTP_PORT, 1025) and its page (8025)"
    ).set_defaults(func=cmd_mail)
    wait = sub.add_parser("wait", help="wait until a Kafka broker answers")
    wait.add_argument("--kafka", required=True, help="bootstrap address, e.g. 127.0.0.1:19092")
    wait.add_argument("--timeout", type=float, default=120)
    wait.set_defaults(func=cmd_wait)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
