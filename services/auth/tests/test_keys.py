"""The key ring: JWKS, kid thumbprints, rotation, RSA, dev generation, production rules."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from auth.keys import KeyConfigError, SigningKey, jwk_thumbprint, load_key_ring, new_ed25519_pem
from auth.main import create_app
from auth.settings import Settings
from chat_common.errors import Unauthenticated
from chat_common.settings import TokenSettings
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr, ValidationError

if TYPE_CHECKING:
    from services.auth.tests.conftest import Account, AppFactory, AuthApi

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def pem_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def dev_settings(keys_dir: Path) -> Settings:
    return Settings(environment="development", database_url="postgresql://x", jwt_keys_dir=keys_dir)


async def test_jwks_publishes_public_keys_only(api: AuthApi) -> None:
    response = await api.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    for jwk in keys:
        assert not PRIVATE_MEMBERS & set(jwk), jwk
        assert jwk["use"] == "sig" and jwk["alg"] in ("EdDSA", "RS256")


async def test_jwks_is_cacheable(api: AuthApi) -> None:
    response = await api.client.get("/.well-known/jwks.json")
    assert "public" in response.headers["cache-control"]
    assert "max-age=" in response.headers["cache-control"]


async def test_the_tokens_kid_is_in_the_jwks(api: AuthApi, account: Account) -> None:
    import jwt

    kids = [k["kid"] for k in (await api.client.get("/.well-known/jwks.json")).json()["keys"]]
    assert jwt.get_unverified_header(account.access_token)["kid"] in kids


def test_kid_is_the_rfc7638_thumbprint() -> None:
    # The example of RFC 7638 §3.1.
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
            "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65Y"
            "GjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrd"
            "kt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKn"
            "qDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def ed25519_pem() -> str:
    return new_ed25519_pem().decode()


async def test_after_rotation_a_token_of_the_previous_key_still_verifies(
    app_factory: AppFactory, account: Account, signing_pem: str
) -> None:
    both = SecretStr(signing_pem + ed25519_pem())  # the new key last: it signs
    async with app_factory(jwt_private_keys=both) as rotated:
        assert (await rotated.verify(account.access_token)).status_code == 200
        assert (await rotated.me(account.access_token)).status_code == 200


async def test_after_rotation_the_new_key_signs(
    app_factory: AppFactory, signing_key: SigningKey, signing_pem: str
) -> None:
    import jwt

    new = ed25519_pem()
    new_kid = SigningKey.from_pem(new.encode(), source="test").kid
    async with app_factory(jwt_private_keys=SecretStr(signing_pem + new)) as rotated:
        fresh = await rotated.account()
        jwks = (await rotated.client.get("/.well-known/jwks.json")).json()
    assert jwt.get_unverified_header(fresh.access_token)["kid"] == new_kid
    assert [k["kid"] for k in jwks["keys"]] == [new_kid, signing_key.kid]


async def test_a_token_of_a_removed_key_no_longer_verifies(
    app_factory: AppFactory, account: Account
) -> None:
    async with app_factory(jwt_private_keys=SecretStr(ed25519_pem())) as rotated:
        assert (await rotated.verify(account.access_token)).status_code == 401
        assert (await rotated.me(account.access_token)).status_code == 401


async def test_rs256_keys_sign_tokens_every_verifier_accepts(app_factory: AppFactory) -> None:
    import jwt

    rsa_pem = pem_of(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    async with app_factory(jwt_private_keys=SecretStr(rsa_pem)) as rsa_api:
        account = await rsa_api.account()
        assert (await rsa_api.verify(account.access_token)).status_code == 200
        jwks = (await rsa_api.client.get("/.well-known/jwks.json")).text
    assert jwt.get_unverified_header(account.access_token)["alg"] == "RS256"
    verifier = TokenSettings(auth_jwks=jwks, auth_jwks_url="").token_verifier()
    assert (await verifier.verify(account.access_token)).user_id == account.id


def test_pems_may_come_with_escaped_newlines(signing_pem: str, signing_key: SigningKey) -> None:
    # Env files often cannot hold newlines: a literal "\n" is read as one.
    escaped = SecretStr(signing_pem.replace("\n", "\\n"))
    settings = Settings(database_url="postgresql://x", jwt_private_keys=escaped)
    assert "\n" not in escaped.get_secret_value()
    assert load_key_ring(settings).signing_key.kid == signing_key.kid


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("not a pem", "no PEM private key"),
        (pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "2048"),
        (pem_of(ec.generate_private_key(ec.SECP256R1())), "Ed25519"),
    ],
    ids=["garbage", "short-rsa", "ec"],
)
def test_unusable_keys_are_refused_with_a_clear_message(pem: str, message: str) -> None:
    settings = Settings(database_url="postgresql://x", jwt_private_keys=SecretStr(pem))
    with pytest.raises(KeyConfigError, match=message):
        load_key_ring(settings)


def test_development_generates_a_key_once_and_keeps_it(tmp_path: Path) -> None:
    first = load_key_ring(dev_settings(tmp_path / "keys"))
    second = load_key_ring(dev_settings(tmp_path / "keys"))
    assert first.signing_key.kid == second.signing_key.kid
    (pem,) = (tmp_path / "keys").glob("*.pem")
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600


def test_in_a_keys_dir_the_file_named_last_signs(tmp_path: Path) -> None:
    (tmp_path / "2024-01.pem").write_text(ed25519_pem())
    (tmp_path / "2025-06.pem").write_text(ed25519_pem())
    ring = load_key_ring(dev_settings(tmp_path))
    newest = SigningKey.from_pem((tmp_path / "2025-06.pem").read_bytes(), source="test")
    assert len(ring.keys) == 2
    assert ring.signing_key.kid == newest.kid


def test_production_without_keys_is_refused() -> None:
    with pytest.raises(ValidationError, match="JWT_PRIVATE_KEYS"):
        Settings(environment="production", database_url="postgresql://x")


def test_production_never_generates_keys(tmp_path: Path) -> None:
    settings = Settings(
        environment="production",
        database_url="postgresql://x",
        jwt_keys_dir=tmp_path,
        agent_client_secret="s" * 32,
    )
    with pytest.raises(KeyConfigError, match=r"no \*\.pem"):
        load_key_ring(settings)
    assert not list(tmp_path.glob("*.pem"))


def test_access_tokens_may_not_live_over_an_hour() -> None:
    with pytest.raises(ValidationError, match="access_token_ttl_seconds"):
        Settings(database_url="postgresql://x", access_token_ttl_seconds=3601)


async def test_the_verify_route_never_touches_the_database(
    app_factory: AppFactory, account: Account
) -> None:
    dead = "postgresql://nobody@127.0.0.1:1/none"
    async with app_factory(database_url=dead) as offline:
        assert (await offline.client.get("/readyz")).status_code == 503
        assert (await offline.verify(account.access_token)).status_code == 200


async def test_a_malformed_jwks_loads_no_key_and_never_crashes_the_verifier(
    account: Account,
) -> None:
    verifier = TokenSettings(
        auth_jwks='{"keys": [1, {"kid": 2}]}', auth_jwks_url=""
    ).token_verifier()
    with pytest.raises(Unauthenticated):
        await verifier.verify(account.access_token)


async def test_a_generated_dev_key_survives_a_restart(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    dev_keys = {"jwt_private_keys": None, "jwt_keys_dir": tmp_path}
    async with app_factory(**dev_keys) as first:
        account = await first.account()
    async with app_factory(**dev_keys) as restarted:
        assert (await restarted.verify(account.access_token)).status_code == 200


def test_empty_environment_values_mean_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JWT_PRIVATE_KEYS", "ACCESS_TOKEN_TTL_SECONDS", "PASSWORD_HASH_TIME_COST"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x")
    settings = Settings()
    assert settings.jwt_private_keys is None
    assert settings.access_token_ttl_seconds == 900
    assert settings.password_hash_time_cost == 2


@pytest.mark.parametrize(("environment", "docs"), [("production", 404), ("development", 200)])
async def test_interactive_docs_are_off_in_production(
    settings: Settings, environment: str, docs: int
) -> None:
    app = create_app(
        settings.model_copy(
            update={"environment": environment, "agent_client_secret": SecretStr("s" * 32)}
        )
    )
    transport = httpx.ASGITransport(app=app)  # no lifespan: these routes need no state
    async with httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client:
        assert (await client.get("/docs")).status_code == docs
        assert (await client.get("/redoc")).status_code == docs
        schema = await client.get("/openapi.json")
        assert schema.status_code == 200
        assert "/internal/token" in schema.json()["paths"]
