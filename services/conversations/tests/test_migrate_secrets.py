"""`python -m conversations.migrate`: a "%" in the database password works, and no
error it prints quotes the password."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import quote

import pytest
from chat_testkit.processes import free_port
from conversations.migrate import alembic_config

pytestmark = pytest.mark.process  # every test runs `python -m conversations.migrate`
PASSWORD = "s3cr%t-pa%25ss"
ENCODED = quote(PASSWORD, safe="")


def run_migrate(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conversations.migrate"],
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_url_reaches_alembic_unmangled() -> None:
    url = f"postgresql://u:{ENCODED}@db:5432/x"
    assert alembic_config(url).get_main_option("sqlalchemy.url") == (
        f"postgresql+psycopg://u:{ENCODED}@db:5432/x"
    )


def test_a_failed_migration_prints_no_password() -> None:
    # A port nothing listens on (free_port: nothing binds it, it only refuses).
    result = run_migrate(f"postgresql://someone:{ENCODED}@127.0.0.1:{free_port()}/none")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "conversations.migrate: failed" in output and "Traceback" not in output, output
    assert "s3cr" not in output, output


def test_invalid_settings_print_no_password() -> None:
    result = run_migrate(f"mysql://someone:{ENCODED}@127.0.0.1/none")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "DATABASE_URL" in output and "s3cr" not in output, output
