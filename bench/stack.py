"""The stack under test: its own database, the whole stack on free ports, what to watch.

Postgres: the server named by TEST_DATABASE_URL (a fresh database of our own, dropped at
the end), else an embedded `pgserver` cluster in a temporary directory. Services run with
the shipped defaults except what a benchmark must change: no rate limits, cheap password
hashing (we sign up hundreds of users), hour-long access tokens (a run takes minutes).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
from chat_testkit.postgres import create_database, drop_database
from devstack import Ports, RateLimit, Stack, StackConfig
from devstack.gateway import NO_LIMITS

from bench.procstats import PidSource, descendants

UNLIMITED = RateLimit("100000r/s", burst=100000)
SERVICE_ENV = {
    "auth": {
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_PARALLELISM": "1",
        "ACCESS_TOKEN_TTL_SECONDS": "3600",
    },
    # Load from a few users: the per-user turn limits would refuse most of it.
    "conversations": {"TURN_RATE_PER_MINUTE": "0", "MAX_CONCURRENT_TURNS": "0"},
}
# The processes of the stack whose CPU counts toward a turn, in report order.
STACK_GROUPS = ("gateway", "auth", "conversations", "agent", "postgres")
MODEL_GROUP = "offline-model"
CLIENT_GROUP = "bench client"


class BenchStack:
    """Use as a context manager; `stack` is the running devstack `Stack`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.stack: Stack
        self.database_url = ""
        self._exits = contextlib.ExitStack()
        self._monitor: psycopg.Connection[tuple[int]] | None = None

    def __enter__(self) -> BenchStack:
        try:
            self._start()
        except BaseException:
            self._exits.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self._exits.close()

    def _start(self) -> None:
        data_dir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
        self._exits.callback(shutil.rmtree, data_dir, ignore_errors=True)
        config = StackConfig(
            database_url=self._own_database(),
            ports=Ports.free(),
            data_dir=data_dir,
            log_dir=self.log_dir,
            gateway_env=NO_LIMITS,
            auth_rate=UNLIMITED,
            send_rate=UNLIMITED,
            chatkit_rate=UNLIMITED,
            offline_model=True,
            service_env=SERVICE_ENV,
        )
        self.stack = Stack(config)
        self._exits.callback(self.stack.stop)
        self.stack.start()
        self.database_url = self.stack.database_url
        self._monitor = psycopg.connect(self.database_url, autocommit=True)
        self._exits.callback(self._monitor.close)

    def _own_database(self) -> str | None:
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            return None  # devstack starts an embedded server in the temporary data dir
        url = create_database(server, "chat_bench")
        self._exits.callback(drop_database, server, url)
        return url

    # ---- what to watch in /proc
    def postgres_backends(self) -> list[int]:
        """The server processes serving our database (the services' pooled connections)."""
        assert self._monitor is not None
        rows = self._monitor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return [row[0] for row in rows]

    def pid(self, name: str) -> int:
        pid = self.stack.processes[name].pid
        assert pid is not None, f"{name} is not running"
        return pid

    def tree(self, name: str) -> PidSource:
        """The process and its children as they are now (looked up once: a scan of /proc
        is too slow to repeat while sampling; nginx workers and services do not change)."""
        pids = descendants(self.pid(name))
        return lambda: pids

    def groups(self) -> dict[str, PidSource]:
        """Every process group we account for, the offline model and ourselves included."""
        groups = {name: self.tree(name) for name in STACK_GROUPS if name != "postgres"}
        groups["postgres"] = self.postgres_backends
        groups[MODEL_GROUP] = self.tree(MODEL_GROUP)
        groups[CLIENT_GROUP] = lambda: [os.getpid()]
        return groups

    @contextlib.contextmanager
    def sql(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            yield conn
