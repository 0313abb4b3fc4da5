"""The four services, named once: what the CLI, the Procfile, the migrations, the deployment
checks and the fault harness read instead of writing the list again.

A service's name (`closed-loop`) is the one the command line, `deploy/` and the status table use;
a Python package and a PostgreSQL schema cannot hold a hyphen, so `module` (`closed_loop`) names
those. `group` is stored data: consumer group ids (`<prefix>-<group>`) key the `consumer_offsets`
rows and the broker's committed groups, so it must not change with a rename.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str
    module: str  # the package `anbefal.<module>` and its PostgreSQL schema
    dev_port: int  # where `make run` serves it
    group: str | None = None  # consumer group suffix; None: consumes nothing

    @property
    def package(self) -> str:
        return f"anbefal.{self.module}"

    @property
    def schema(self) -> str:
        return self.module

    @property
    def dev_url(self) -> str:
        return f"http://127.0.0.1:{self.dev_port}"

    @property
    def dev_metrics_port(self) -> int:
        """Where `make run` serves its /metrics (internal; the API port has none): 9001-9004."""
        return self.dev_port + 1000

    @property
    def dev_metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.dev_metrics_port}"

    def group_id(self, prefix: str) -> str:
        """The consumer group id under the deployment's group prefix."""
        if self.group is None:
            raise ValueError(f"{self.name} has no consumer group")
        return f"{prefix}-{self.group}"


INGEST = Service("ingest", "ingest", 8001, group="ingest")
SCORING = Service("scoring", "scoring", 8002, group="scoring")
CLOSED_LOOP = Service("closed-loop", "closed_loop", 8003, group="closed-loop")
NOTIFY = Service("notify", "notify", 8004, group="notify")

# In pipeline order: each service after those that feed it.
SERVICES: tuple[Service, ...] = (INGEST, SCORING, CLOSED_LOOP, NOTIFY)
CONSUMERS: tuple[Service, ...] = tuple(s for s in SERVICES if s.group is not None)


def service_named(name: str) -> Service:
    """The service called `name`; the module spelling (`closed_loop`) is accepted too."""
    for service in SERVICES:
        if name in (service.name, service.module):
            return service
    raise KeyError(f"no service {name!r}: one of {', '.join(s.name for s in SERVICES)}")
