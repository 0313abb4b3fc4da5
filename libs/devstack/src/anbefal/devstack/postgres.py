"""PostgreSQL from the operating system's packages, in a project-local data folder.

PostgreSQL refuses to run as root, so when we are root every server command runs as the
`postgres` user, and the data folder belongs to it.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from anbefal.devstack.system import apt_install, is_root, say

MIN_VERSION = 15


def _installed_bin_dirs() -> list[tuple[int, Path]]:
    found = []
    for path in Path("/usr/lib/postgresql").glob("*/bin"):
        if path.parent.name.isdigit() and (path / "postgres").exists():
            found.append((int(path.parent.name), path))
    return sorted(found)


def ensure_postgres_installed() -> Path:
    """The bin folder of the newest PostgreSQL (>= 15), installing it with apt-get if needed."""
    found = _installed_bin_dirs()
    if not found or found[-1][0] < MIN_VERSION:
        apt_install("postgresql")
        found = _installed_bin_dirs()
    if not found or found[-1][0] < MIN_VERSION:
        raise RuntimeError(f"PostgreSQL {MIN_VERSION}+ is needed; install the `postgresql` package")
    return found[-1][1]


def _user() -> dict[str, Any]:
    """subprocess arguments that run a command as the postgres user when we are root."""
    if not is_root():
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": [], "cwd": "/"}


def _give_to_postgres(path: Path) -> None:
    """Make `path` belong to the postgres user and its parents traversable by it."""
    if not is_root():
        return
    user = pwd.getpwnam("postgres")
    os.chown(path, user.pw_uid, user.pw_gid)
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    bin_dir: Path

    @property
    def run_dir(self) -> Path:
        return self.data_dir.parent

    @property
    def socket_dir(self) -> Path:
        return self.run_dir / "socket"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "postgres.log"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def options(self) -> list[str]:
        # The memory and WAL settings are production's (deploy/k8s/postgres-cluster.yaml), not
        # PostgreSQL's defaults (128 MB of buffers, a checkpoint every 1 GB of WAL): under the
        # defaults a deadline day's writes outgrew the buffers and each checkpoint started a
        # new round of full-page images, and PostgreSQL's CPU per answer in
        # `bench/burst.py --full` was 359 µs against 157 with these.
        return [
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"port={self.port}",
            "-c", f"unix_socket_directories={self.socket_dir}",
            "-c", "max_connections=200",
            "-c", "shared_buffers=1GB",
            "-c", "max_wal_size=8GB",
        ]  # fmt: skip

    def init(self) -> None:
        """initdb once; later calls keep the data."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        _give_to_postgres(self.run_dir)
        _give_to_postgres(self.socket_dir)
        if (self.data_dir / "PG_VERSION").exists():
            return
        say(f"initialising PostgreSQL in {self.data_dir} ...")
        subprocess.run(
            (
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "-U",
                    "postgres",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            ),  # fmt: skip
            check=True,
            stdout=subprocess.DEVNULL,
            **_user(),
        )

    def running(self) -> bool:
        result = subprocess.run(
            ([self._bin("pg_ctl"), "-D", str(self.data_dir), "status"]),
            capture_output=True,
            **_user(),
        )
        return result.returncode == 0

    def start(self, timeout: float = 60) -> None:
        self.init()
        if self.running():
            return
        if not self.log_path.exists():
            self.log_path.touch()
        _give_to_postgres(self.log_path)
        subprocess.run(
            (
                [
                    self._bin("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_path),
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "-o",
                    " ".join(self.options()),
                    "start",
                ]
            ),  # fmt: skip
            check=True,
            stdout=subprocess.DEVNULL,
            **_user(),
        )

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            subprocess.run(
                ([self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"]),
                check=True,
                stdout=subprocess.DEVNULL,
                **_user(),
            )

    def immediate_stop(self) -> None:
        """Like a crash: no checkpoint; recovery replays the WAL at the next start."""
        self.stop("immediate")

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
                "-v", "ON_ERROR_STOP=1", "-tAc", sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )  # fmt: skip
        return result.stdout.strip()

    def create_database(self, name: str) -> None:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"unsafe database name {name!r}")
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
            self.psql(f'CREATE DATABASE "{name}"')


def start_postgres(data_dir: Path, port: int) -> PostgresServer:
    server = PostgresServer(data_dir=data_dir, port=port, bin_dir=ensure_postgres_installed())
    server.start()
    return server


def run_postgres_foreground(data_dir: Path, port: int) -> None:
    """Run the server in the foreground (for the Procfile) until SIGTERM or SIGINT.

    honcho stops processes with SIGTERM, which PostgreSQL treats as a "smart" shutdown that
    waits for every client to leave; we forward it as SIGINT, the "fast" shutdown.
    """
    server = PostgresServer(data_dir=data_dir, port=port, bin_dir=ensure_postgres_installed())
    server.init()
    say(f"starting PostgreSQL on 127.0.0.1:{port} (data in {data_dir})")
    process = subprocess.Popen(
        [server._bin("postgres"), "-D", str(data_dir), *server.options()], **_user()
    )

    def forward(_signum: int, _frame: FrameType | None) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    sys.exit(process.wait())
