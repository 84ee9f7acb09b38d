"""An embedded Postgres for `make run` when no `DATABASE_URL` is given.

The server binaries come from the `pgserver` package (no system Postgres needed); we run
`postgres` ourselves as a child in the foreground, listening on 127.0.0.1 so every
service can use an ordinary `postgresql://` URL. Data stays under `.data/pg`.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import signal
import subprocess
import warnings
from pathlib import Path

import psycopg

from devstack.processes import ManagedProcess

DATABASE = "chatkit"
# Postgres refuses to run as root; pgserver's helpers create this user for it.
_ROOT_RUN_AS = "pgserver"


def _binaries() -> Path:
    # Found without importing pgserver (its import warns about XDG_RUNTIME_DIR on servers).
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        raise RuntimeError("the pgserver package is missing: run `uv sync --all-packages`")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _run_as_root_user(pgdata: Path) -> str | None:
    if platform.system() == "Windows" or os.geteuid() != 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver import utils

    entry = utils.ensure_user_exists(_ROOT_RUN_AS)
    assert entry is not None
    utils.ensure_prefix_permissions(pgdata)
    bin_dir = _binaries()
    utils.ensure_prefix_permissions(bin_dir)
    for sub in (bin_dir, bin_dir.parent / "lib", bin_dir.parent / "share"):
        if sub.exists():
            utils.ensure_folder_permissions(sub, 0o055)
    for path in [pgdata, *pgdata.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return _ROOT_RUN_AS


def _initdb(pgdata: Path, user: str | None) -> None:
    if (pgdata / "PG_VERSION").exists():
        return
    print(f"devstack: creating a Postgres cluster in {pgdata}", flush=True)
    subprocess.run(
        [
            str(_binaries() / "initdb"),
            "-D",
            str(pgdata),
            "--auth=trust",
            "--encoding=utf8",
            "-U",
            "postgres",
        ],
        check=True,
        capture_output=True,
        user=user,
    )


def embedded_postgres(data_dir: Path, port: int, log_path: Path, echo: bool) -> ManagedProcess:
    """A ManagedProcess for an embedded server (created on first use) on 127.0.0.1:`port`."""
    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.chmod(0o700)
    user = _run_as_root_user(pgdata)
    _initdb(pgdata, user)
    # A server left by a runner that could not clean up (power loss) holds this file.
    stale = pgdata / "postmaster.pid"
    if stale.exists() and not _pid_alive(stale):
        stale.unlink()
    socket_dir = pgdata  # unix socket too, for psql users; short path checked by postgres
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    return ManagedProcess(
        "postgres",
        [
            str(_binaries() / "postgres"),
            "-D",
            str(pgdata),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            str(socket_dir),
        ],
        ready=lambda: _accepts(url),
        log_path=log_path,
        echo=echo,
        stop_signal=signal.SIGINT,  # "fast" shutdown: ends sessions, checkpoints, exits
        user=user,
    )


def _pid_alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, OSError):
        return False
    return True


def _accepts(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def ensure_database(server_url: str, name: str = DATABASE) -> str:
    """Creates database `name` if missing; returns its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
