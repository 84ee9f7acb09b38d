"""The service as a real process (`python -m auth`, `python -m auth.migrate`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import jwt
import psycopg
import pytest
from alembic import command
from auth.keys import KeyRing, SigningKey, new_ed25519_pem
from auth.migrate import MIGRATIONS, alembic_config, upgrade
from chat_common.errors import Unauthenticated
from chat_common.settings import async_database_url
from chat_common.tokens import TokenVerifier
from chat_testkit.plugin import starts_processes
from chat_testkit.processes import ServiceProcess, free_port
from sqlalchemy.engine import make_url

CHEAP_HASHING_ENV = {
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "1024",
    "PASSWORD_HASH_PARALLELISM": "1",
}


def auth_env(database_url: str, **extra: str) -> dict[str, str]:
    """PORT=0: the process binds any free port (and reports it, see ServiceProcess)."""
    return {
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": "0",
        "JWT_PRIVATE_KEYS": "",
        "JWT_KEYS_DIR": "",
        "LOG_LEVEL": "WARNING",
        **CHEAP_HASHING_ENV,
        **extra,
    }


def auth_process(database_url: str, **extra: str) -> ServiceProcess:
    return ServiceProcess.python_module(
        "auth-process-tests", "auth", env=auth_env(database_url, **extra), ready_path="/readyz"
    )


def pem() -> str:
    return new_ed25519_pem().decode()


def verifier_for(
    port: int, *, cache_ttl: float = 300.0, refetch_interval: float = 5.0
) -> TokenVerifier:
    """Configured as the conversations and agent services configure theirs."""
    return TokenVerifier(
        issuer="chatkit-backend",
        audience="chatkit-backend",
        algorithms=["EdDSA", "RS256"],
        jwks_url=f"http://127.0.0.1:{port}/.well-known/jwks.json",
        cache_ttl=cache_ttl,
        refetch_interval=refetch_interval,
    )


async def sign_in(base_url: str) -> dict[str, str]:
    email = f"proc-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=base_url) as client:
        registered = await client.post(
            "/api/auth/register", json={"email": email, "password": "long enough"}
        )
        assert registered.status_code == 201, registered.text
        logged_in = await client.post(
            "/api/auth/login", json={"email": email, "password": "long enough"}
        )
        assert logged_in.status_code == 200, logged_in.text
    return {"id": registered.json()["id"], **logged_in.json()}


@pytest.fixture(scope="module")
@starts_processes
def dev_process(auth_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    keys_dir = tmp_path_factory.mktemp("keys")
    with auth_process(auth_database_url, JWT_KEYS_DIR=str(keys_dir)) as process:
        yield process.url()


async def test_a_real_process_serves_the_whole_flow(dev_process: str) -> None:
    pair = await sign_in(dev_process)
    async with httpx.AsyncClient(base_url=dev_process) as client:
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        assert (await client.get("/api/auth/me", headers=bearer)).json()["id"] == pair["id"]
        verified = await client.get("/verify", headers=bearer)
        assert verified.headers["x-user-id"] == pair["id"]
        refreshed = await client.post(
            "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refreshed.status_code == 200
        logout = await client.post(
            "/api/auth/logout", json={"refresh_token": refreshed.json()["refresh_token"]}
        )
        assert logout.status_code == 204
        assert (await client.get("/openapi.json")).status_code == 200


async def test_other_services_verify_its_tokens_through_the_jwks_url(dev_process: str) -> None:
    pair = await sign_in(dev_process)
    port = int(dev_process.rsplit(":", 1)[1])
    verified = await verifier_for(port).verify(pair["access_token"])
    assert str(verified.user_id) == pair["id"]


@pytest.mark.process
async def test_a_key_removed_from_the_jwks_stops_verifying_at_other_services(
    tmp_path: Path,
) -> None:
    """The shared verifier's fetched keys expire: once rotated out of the JWKS, a key
    stops verifying without restarting the services (a static server plays the JWKS)."""
    old = SigningKey.from_pem(pem().encode(), source="old")
    new = SigningKey.from_pem(pem().encode(), source="new")
    jwks_file = tmp_path / ".well-known" / "jwks.json"
    jwks_file.parent.mkdir()
    jwks_file.write_text(KeyRing((old, new)).jwks_json())
    token = forge(old)
    with static_server(tmp_path) as port:
        verifier = verifier_for(port, cache_ttl=0.2, refetch_interval=0.05)
        assert (await verifier.verify(token)).user_id  # rotated, not yet removed
        jwks_file.write_text(KeyRing((new,)).jwks_json())
        await asyncio.sleep(0.25)
        # The first check past the cache TTL is served stale and starts a refresh in the
        # background (verification never waits on the JWKS for a known key)...
        with contextlib.suppress(Unauthenticated):
            await verifier.verify(token)
        await asyncio.sleep(0.3)
        with pytest.raises(Unauthenticated):  # ...after which the removed key is gone
            await verifier.verify(token)
        assert (await verifier.verify(forge(new))).user_id


@contextlib.contextmanager
def static_server(root: Path) -> Iterator[int]:
    """Serves `root` over HTTP from a thread of this process, on the port it bound."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()


def forge(key: SigningKey) -> str:
    now = int(time.time())
    claims = {
        "iss": "chatkit-backend",
        "aud": "chatkit-backend",
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
    }
    headers = {"kid": key.kid, "typ": "at+jwt"}
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers=headers)


def run_module(module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.process
def test_production_without_keys_fails_fast_with_a_clear_message(auth_database_url: str) -> None:
    env = auth_env(auth_database_url, ENVIRONMENT="production")
    env.update(PASSWORD_HASH_TIME_COST="2", PASSWORD_HASH_MEMORY_KIB="19456")
    result = run_module("auth", env)
    assert result.returncode != 0
    assert "JWT_PRIVATE_KEYS" in result.stderr, result.stderr


@pytest.mark.process
def test_migrations_may_run_concurrently(make_database: Callable[..., str]) -> None:
    url = make_database("auth_migrate")
    cli = subprocess.Popen(
        [sys.executable, "-m", "auth.migrate"],
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        stderr=subprocess.PIPE,
        text=True,
    )
    upgrade(url)  # meanwhile, in this process too: the advisory lock serialises the two
    _, err = cli.communicate(timeout=60)
    assert cli.returncode == 0, err
    with psycopg.connect(url) as db:
        versions = db.execute("SELECT version_num FROM alembic_version_auth").fetchall()
        tables = db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
    assert versions == [(MIGRATIONS.head(),)]
    assert [t[0] for t in tables] == [
        "alembic_version_auth",
        "auth_account_deletions",
        "auth_login_address_failures",
        "auth_login_throttle",
        "auth_refresh_families",
        "auth_refresh_tokens",
        "auth_users",
    ]


def test_the_models_match_the_migrations(auth_database_url: str) -> None:
    command.check(alembic_config(auth_database_url))  # raises on any autogenerate diff


# --- start-up errors print no secret; a "%" in the database password works ---------

DB_PASSWORD = "s3cr%t-pa%25ss"  # as the role's password: a raw "%" and a literal "%25"


@pytest.fixture
def percent_role(make_database: Callable[..., str]) -> Iterator[str]:
    """A database owned by a fresh role whose password holds "%"; its URL (percent-encoded
    as RFC 3986 asks) reaches the server as that role."""
    url = make_database("auth_pct")
    role = f"auth_pct_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{DB_PASSWORD}'")
        db.execute(f"ALTER SCHEMA public OWNER TO {role}")
    parsed = urlsplit(url)
    netloc = f"{role}:{quote(DB_PASSWORD, safe='')}@{parsed.hostname}:{parsed.port}"
    try:
        yield urlunsplit(parsed._replace(netloc=netloc))
    finally:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(f"REASSIGN OWNED BY {role} TO CURRENT_USER")
            db.execute(f"DROP OWNED BY {role}")
            db.execute(f"DROP ROLE {role}")


@pytest.mark.process
def test_a_percent_in_the_database_password_migrates(percent_role: str) -> None:
    assert alembic_config(percent_role).get_main_option("sqlalchemy.url") == (
        "postgresql+psycopg://" + percent_role.removeprefix("postgresql://")
    )
    assert make_url(async_database_url(percent_role)).password == DB_PASSWORD
    result = run_module("auth.migrate", {"DATABASE_URL": percent_role})
    assert result.returncode == 0, result.stderr
    with psycopg.connect(percent_role) as db:
        owner = db.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'auth_users'"
        ).fetchone()
    assert owner is not None and owner[0] == urlsplit(percent_role).username


@pytest.mark.process
def test_a_failed_migration_prints_no_password() -> None:
    # A port nothing listens on (free_port: nothing binds it, it only refuses).
    url = f"postgresql://someone:{quote(DB_PASSWORD, safe='')}@127.0.0.1:{free_port()}/none"
    result = run_module("auth.migrate", {"DATABASE_URL": url})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "auth.migrate: failed" in output and "Traceback" not in output, output
    for spelling in ("s3cr", "pa%25ss", "pa%2525ss", quote(DB_PASSWORD, safe="")):
        assert spelling not in output, output


@pytest.mark.process
def test_invalid_production_settings_print_no_secret(auth_database_url: str) -> None:
    short_secret = "tooshort-but-secret"
    env = auth_env(auth_database_url, ENVIRONMENT="production")
    env.update(
        PASSWORD_HASH_TIME_COST="2",
        PASSWORD_HASH_MEMORY_KIB="19456",
        JWT_PRIVATE_KEYS=pem(),
        AGENT_CLIENT_SECRET=short_secret,
    )
    result = run_module("auth", env)
    assert result.returncode != 0
    assert "AGENT_CLIENT_SECRET" in result.stderr, result.stderr
    assert short_secret not in result.stderr + result.stdout
    assert "PRIVATE KEY" not in result.stderr + result.stdout


@pytest.mark.process
def test_a_bad_signing_key_prints_none_of_it(auth_database_url: str) -> None:
    garbage = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----"
    env = auth_env(auth_database_url, JWT_PRIVATE_KEYS=garbage)
    result = run_module("auth", env)
    assert result.returncode != 0
    assert "JWT_PRIVATE_KEYS" in result.stderr, result.stderr
    assert "c2VjcmV0" not in result.stderr + result.stdout
