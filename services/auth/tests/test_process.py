"""The service as a real process (`python -m auth`, `python -m auth.migrate`)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest
from alembic import command
from auth.keys import KeyRing, SigningKey, new_ed25519_pem
from auth.migrate import alembic_config, upgrade
from chat_common.errors import Unauthenticated
from chat_common.tokens import TokenVerifier
from chat_testkit.processes import ServiceProcess, free_port

CHEAP_HASHING_ENV = {
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "1024",
    "PASSWORD_HASH_PARALLELISM": "1",
}


def auth_env(database_url: str, port: int, **extra: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "JWT_PRIVATE_KEYS": "",
        "JWT_KEYS_DIR": "",
        "LOG_LEVEL": "WARNING",
        **CHEAP_HASHING_ENV,
        **extra,
    }


def auth_process(database_url: str, port: int, **extra: str) -> ServiceProcess:
    return ServiceProcess.python_module(
        f"auth-{port}",
        "auth",
        env=auth_env(database_url, port, **extra),
        ready_url=f"http://127.0.0.1:{port}/readyz",
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
def dev_process(auth_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    keys_dir = tmp_path_factory.mktemp("keys")
    with auth_process(auth_database_url, port, JWT_KEYS_DIR=str(keys_dir)):
        yield f"http://127.0.0.1:{port}"


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
    port = free_port()
    server = ServiceProcess(
        f"jwks-{port}",
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=str(tmp_path),
        ready_port=port,
    )
    token = forge(old)
    with server:
        verifier = verifier_for(port, cache_ttl=0.2, refetch_interval=0.05)
        assert (await verifier.verify(token)).user_id  # rotated, not yet removed
        jwks_file.write_text(KeyRing((new,)).jwks_json())
        await asyncio.sleep(0.25)
        with pytest.raises(Unauthenticated):
            await verifier.verify(token)
        assert (await verifier.verify(forge(new))).user_id


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


def test_production_without_keys_fails_fast_with_a_clear_message(auth_database_url: str) -> None:
    env = auth_env(auth_database_url, free_port(), ENVIRONMENT="production")
    env.update(PASSWORD_HASH_TIME_COST="2", PASSWORD_HASH_MEMORY_KIB="19456")
    result = run_module("auth", env)
    assert result.returncode != 0
    assert "JWT_PRIVATE_KEYS" in result.stderr, result.stderr


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
    assert versions == [("0001",)]
    assert [t[0] for t in tables] == [
        "alembic_version_auth",
        "auth_login_failures",
        "auth_refresh_families",
        "auth_refresh_tokens",
        "auth_users",
    ]


def test_the_models_match_the_migrations(auth_database_url: str) -> None:
    command.check(alembic_config(auth_database_url))  # raises on any autogenerate diff
