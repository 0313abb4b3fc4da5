"""The system under fault: the four services as processes against a broker and a database, and
the walk that tells when it has drained."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from anbefal.common import services, topics
from anbefal.common.migrations import upgrade_all
from anbefal.common.services import Service
from anbefal.devstack.kafka import KafkaBroker, create_topics, start_kafka
from anbefal.devstack.kafkacluster import NODES, REPLICAS, KafkaCluster, running_cluster
from anbefal.devstack.mailsink import MailSink
from anbefal.devstack.postgres import PostgresServer, start_postgres
from anbefal.devstack.testing import (
    ServiceProcess,
    asyncpg_dsn,
    consumer_lag,
    end_offsets,
    free_port,
    wait_until,
)

SERVICES = tuple(s.name for s in services.SERVICES)
# The event streams each consumer reads (not the compacted tenants topic).
_EVENT_STREAMS: dict[Service, list[str]] = {
    services.SCORING: [topics.RESPONSES],
    services.CLOSED_LOOP: [topics.RESPONSES, topics.TASK_EVENTS],
    services.NOTIFY: [topics.ACTIONS],
}


class ChaosSystem:
    """The four services as processes against a broker and a database (the suite's, or the
    test's own when the fault is to kill them)."""

    def __init__(
        self,
        root: Path,
        env: dict[str, str],
        *,
        broker: KafkaBroker | None = None,
        postgres: PostgresServer | None = None,
        cluster: KafkaCluster | None = None,
        overrides: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.root = root
        # Per-service environment on top of `env`, e.g. a database URL through a fault proxy
        # for the consumers only, while the harness's own checks go direct.
        self.overrides = overrides or {}
        self.mail_dir = root / f"mail-{uuid.uuid4().hex[:6]}"
        self.sink = MailSink(self.mail_dir)
        self.env = {**env, "ANBEFAL_SMTP_PORT": str(self.sink.port)}
        self.broker = broker
        self.cluster = cluster
        self.postgres = postgres
        self.processes: dict[str, ServiceProcess] = {}
        self.last_behind: str | None = None  # what `quiescent` last found undone

    @property
    def bootstrap(self) -> str:
        return self.env["ANBEFAL_KAFKA_BOOTSTRAP"]

    @property
    def database_url(self) -> str:
        return self.env["ANBEFAL_DATABASE_URL"]

    def group(self, service: str) -> str:
        return services.service_named(service).group_id(self.env["ANBEFAL_GROUP_PREFIX"])

    def url(self, service: str) -> str:
        return self.processes[service].url

    async def start(self) -> None:
        self.sink.start()
        for service in SERVICES:
            self.restart_service(service)
        await self.wait_ready(120)

    async def wait_ready(self, timeout: float = 180) -> None:
        """Every process ready (after a fault: healed)."""
        for process in self.processes.values():
            await process.wait_ready(timeout)

    def restart_service(self, service: str) -> ServiceProcess:
        """A new process in place of a killed one (new port: the old may be in TIME_WAIT)."""
        env = {**self.env, **self.overrides.get(service, {})}
        self.processes[service] = ServiceProcess(service, env, self.root / "logs").start()
        return self.processes[service]

    def start_extra(self, service: str, name: str, **env: str) -> ServiceProcess:
        """Another process of `service`, in the same consumer group; stopped with the system.
        Registered as `name`; pop it from `processes` to remove it yourself."""
        process = ServiceProcess(service, {**self.env, **env}, self.root / "logs").start()
        self.processes[name] = process
        return process

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        self.sink.stop()

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def behind(self) -> str | None:
        """The first stage of the pipeline that still has work, or None when all are done.

        The stages are walked in pipeline order, each after the ones that feed it, so one
        pass that finds nothing is final once the load has stopped: a stage found done cannot
        get work from a stage checked after it. (Checked in another order, the outbox relay
        could publish actions between notify's check and the outbox's, and the checkers then
        ran before notify had made those tasks.)"""
        stages: list[tuple[str, str]] = [
            (
                "closed-loop holds actions for the late-comment debounce",
                "SELECT count(*) AS n FROM closed_loop.actions WHERE release_at IS NOT NULL",
            ),
            (
                "closed-loop's outbox has unpublished actions",
                "SELECT count(*) AS n FROM closed_loop.outbox WHERE published_at IS NULL",
            ),
        ]
        try:
            for service in (services.SCORING, services.CLOSED_LOOP):
                if reason := await self._consumer_behind(service, topics.RESPONSES):
                    return reason
            for reason, sql in stages:
                if (await self.fetch(sql))[0]["n"]:
                    return reason
            if reason := await self._consumer_behind(services.NOTIFY, topics.ACTIONS):
                return reason
            pending = await self.fetch(
                "SELECT (SELECT count(*) FROM notify.emails WHERE status = 'pending') AS emails,"
                " (SELECT count(*) FROM notify.outbox WHERE published_at IS NULL) AS events"
            )
            if pending[0]["emails"]:
                return f"notify has {pending[0]['emails']} emails pending"
            if pending[0]["events"]:
                return f"notify's outbox has {pending[0]['events']} unpublished task events"
            return await self._consumer_behind(services.CLOSED_LOOP, topics.TASK_EVENTS)
        except (OSError, asyncpg.PostgresError, RuntimeError) as exc:
            return f"a fault is still healing ({type(exc).__name__}: {exc})"

    async def _consumer_behind(self, service: Service, topic: str) -> str | None:
        group = self.group(service.name)
        lag = await consumer_lag(self.bootstrap, self.database_url, service.schema, group, [topic])
        if lag:
            return f"{service.name} is behind on {topic}: {lag}"
        return None

    async def lag(self) -> int:
        """Records the consumer groups have not yet applied, over their event streams (from
        the offsets stored in PostgreSQL, whichever copy applied them)."""
        total = 0
        for service, names in _EVENT_STREAMS.items():
            group = self.group(service.name)
            behind = await consumer_lag(
                self.bootstrap, self.database_url, service.schema, group, names
            )
            total += sum(behind.values())
        return total

    async def quiescent(self) -> bool:
        """Every consumer at the end of its topics, nothing held or unpublished, no email
        pending (see `behind`)."""
        self.last_behind = await self.behind()
        return self.last_behind is None

    async def skip_history(self) -> None:
        """Store the consumers' offsets at the current end of their event streams; call it
        before `start`.

        The suite's broker holds the answers and actions of every earlier test; new groups
        would work through all of them (and notify send their emails, about 30 a second)
        before the system is quiescent, which takes longer than the checkers wait.
        The tenants topic (compacted state) is still read from its start."""
        ends = await end_offsets(self.bootstrap, {t for ts in _EVENT_STREAMS.values() for t in ts})
        conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            for service, names in _EVENT_STREAMS.items():
                await conn.executemany(
                    f"INSERT INTO {service.schema}.consumer_offsets "
                    '(group_id, topic, "partition", next_offset) VALUES ($1, $2, $3, $4)',
                    [
                        (self.group(service.name), topic, partition, end)
                        for (topic, partition), end in ends.items()
                        if topic in names
                    ],
                )
        finally:
            await conn.close()

    async def wait_quiescent(self, timeout: float = 180) -> None:
        """Until `quiescent`; if that never comes, the error says which stage is behind and
        what the services say about themselves (`explain`)."""
        try:
            await wait_until(self.quiescent, timeout, "the system drained", interval=0.5)
        except TimeoutError as exc:
            raise TimeoutError(
                f"{exc}; still behind: {self.last_behind}; {await self.explain()}"
            ) from exc

    async def explain(self) -> str:
        """What each running service says about itself, for a test that failed: its consumers'
        own view (/readyz), its last lines about partitions and its last warnings, aiokafka's
        own included (the logs go when the suite ends)."""
        consumers: dict[str, object] = {}
        partitions: dict[str, list[str]] = {}
        warnings: dict[str, list[str]] = {}
        async with httpx.AsyncClient(timeout=5) as client:
            for name, process in self.processes.items():
                try:
                    checks = (await client.get(f"{process.url}/readyz")).json()["checks"]
                    consumers[name] = {k: v for k, v in checks.items() if k.startswith("consumer:")}
                except (httpx.HTTPError, ValueError, KeyError) as error:
                    consumers[name] = f"unreadable: {error!r}"
                lines = process.log_tail(2000).splitlines()
                # "partitions assigned", "partitions revoked", "no partitions assigned"
                partitions[name] = [line[:300] for line in lines if "partitions" in line][-4:]
                warnings[name] = [
                    line[:300] for line in lines if '"warning"' in line or '"error"' in line
                ][-8:]
        return f"consumers: {consumers}; last assignments: {partitions}; last warnings: {warnings}"


@asynccontextmanager
async def own_broker(
    stack: Any,
    *,
    port: int | None = None,
    advertised_port: int | None = None,
    run_dir: Path | None = None,
) -> AsyncIterator[ChaosSystem]:
    """The services, started, against a broker of their own; both stopped afterwards. With
    `advertised_port` (a proxy's, in front of `port`) everyone, the harness too, reaches the
    broker through that proxy, so it must be passing while this starts. `run_dir`: where the
    broker keeps its log (default: a new folder under the stack's)."""
    broker = start_kafka(
        run_dir or stack.root / f"kafka-chaos-{uuid.uuid4().hex[:6]}",
        port or free_port(),
        free_port(),
        advertised_port=advertised_port,
    )
    system: ChaosSystem | None = None
    try:
        bootstrap = broker.bootstrap if advertised_port is None else f"127.0.0.1:{advertised_port}"
        await create_topics(bootstrap, topics.ALL_TOPICS)
        env = stack.service_env(stack.new_database(), ANBEFAL_KAFKA_BOOTSTRAP=bootstrap)
        system = ChaosSystem(stack.root, env, broker=broker)
        await system.start()
        yield system
    finally:
        if system is not None:
            system.stop()
        broker.stop()


@asynccontextmanager
async def own_cluster(stack: Any) -> AsyncIterator[ChaosSystem]:
    """The services, started, against a three-node Kafka cluster of their own (every topic on
    three brokers, two in sync for an acknowledgement); both stopped afterwards."""
    ports = [(free_port(), free_port()) for _ in range(NODES)]
    run_dir = stack.root / f"kafka-cluster-{uuid.uuid4().hex[:6]}"
    with running_cluster(run_dir, ports, graceful=False) as cluster:
        await create_topics(cluster.bootstrap, topics.ALL_TOPICS, replicas=REPLICAS)
        env = stack.service_env(stack.new_database(), ANBEFAL_KAFKA_BOOTSTRAP=cluster.bootstrap)
        system = ChaosSystem(stack.root, env, cluster=cluster)
        try:
            await system.start()
            yield system
        finally:
            system.stop()


@asynccontextmanager
async def own_postgres(stack: Any, *, data_dir: Path | None = None) -> AsyncIterator[ChaosSystem]:
    """The services, started, against a PostgreSQL server of their own; both stopped afterwards.
    `data_dir`: the server's data directory (default: a new folder under the stack's)."""
    postgres = start_postgres(
        data_dir or stack.root / f"pg-chaos-{uuid.uuid4().hex[:6]}", free_port()
    )
    system: ChaosSystem | None = None
    try:
        postgres.create_database("chaos")
        url = postgres.url("chaos")
        await asyncio.to_thread(upgrade_all, url)
        system = ChaosSystem(stack.root, stack.service_env(url), postgres=postgres)
        # The broker is the suite's: without this the new groups would reprocess every earlier
        # test's records, the poison fault's among them (dead letters the disk fault forbids).
        await system.skip_history()
        await system.start()
        yield system
    finally:
        if system is not None:
            system.stop()
        postgres.stop()
