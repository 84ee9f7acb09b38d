"""The attack matrix: forged, altered or misused tokens that must be refused, each checked
against the shared verifier (as other services configure it), `/verify` and `/api/auth/me`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import jwt
import pytest
from auth.keys import KeyRing, SigningKey
from chat_common.errors import Unauthenticated
from chat_common.settings import TokenSettings
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

if TYPE_CHECKING:
    from services.auth.tests.conftest import Account, AuthApi

Accepts = Callable[[str], Awaitable[bool]]


def _b64(data: bytes | Mapping[str, object]) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(user_id: uuid.UUID, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "chatkit-backend",
        "aud": "chatkit-backend",
        "sub": str(user_id),
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _attacker_key(kid: str) -> SigningKey:
    real = SigningKey.from_private_key(Ed25519PrivateKey.generate(), source="attacker")
    return SigningKey(real.private_key, real.algorithm, kid, real.public_jwk)


@pytest.fixture(scope="module")
async def account(api: AuthApi) -> Account:
    """One victim for the whole matrix (the attacks change nothing)."""
    return await api.account()


@pytest.fixture(params=["shared_verifier", "verify_route", "me_route"])
def accepts(request: pytest.FixtureRequest, api: AuthApi, signing_key: SigningKey) -> Accepts:
    """True when the target lets the token in; anything but a clean refusal fails the test."""
    if request.param == "shared_verifier":
        jwks = KeyRing((signing_key,)).jwks_json()
        verifier = TokenSettings(auth_jwks=jwks, auth_jwks_url="").token_verifier()

        async def by_verifier(token: str) -> bool:
            try:
                await verifier.verify(token)
            except Unauthenticated:
                return False
            return True

        return by_verifier
    call = api.verify if request.param == "verify_route" else api.me

    async def by_route(token: str) -> bool:
        response = await call(token)
        assert response.status_code in (200, 401), (response.status_code, response.text)
        return response.status_code == 200

    return by_route


def sign(key: SigningKey, claims: dict[str, object], **header: object) -> str:
    headers = {"kid": key.kid, "typ": "at+jwt", **header}
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers=headers)


async def test_a_genuine_token_is_accepted(accepts: Accepts, account: Account) -> None:
    assert await accepts(account.access_token)  # the control: every target can say yes


async def test_alg_none_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey
) -> None:
    header = {"alg": "none", "typ": "at+jwt", "kid": signing_key.kid}
    token = f"{_b64(header)}.{_b64(_claims(account.id))}."
    assert not await accepts(token)


async def test_hs256_signed_with_the_public_key_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey
) -> None:
    public_pem = signing_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (public_pem, signing_key.public_jwk["x"].encode()):
        header = {"alg": "HS256", "typ": "at+jwt", "kid": signing_key.kid}
        signing_input = f"{_b64(header)}.{_b64(_claims(account.id))}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert not await accepts(f"{signing_input}.{_b64(mac)}")


async def test_another_key_using_a_known_kid_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey
) -> None:
    assert not await accepts(sign(_attacker_key(signing_key.kid), _claims(account.id)))


@pytest.mark.parametrize(
    "kid", ["unknown-kid", "../../../../etc/passwd", "/dev/null", "file:///keys/a.pem", ""]
)
async def test_an_unknown_or_path_like_kid_is_refused(
    accepts: Accepts, account: Account, kid: str
) -> None:
    assert not await accepts(sign(_attacker_key(kid), _claims(account.id)))


async def test_a_token_without_kid_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey
) -> None:
    token = jwt.encode(
        _claims(account.id), signing_key.private_key, "EdDSA", headers={"typ": "at+jwt"}
    )
    assert not await accepts(token)


async def test_a_tampered_payload_is_refused(accepts: Accepts, account: Account) -> None:
    header, _, signature = account.access_token.split(".")
    forged = _claims(uuid.uuid4())
    assert not await accepts(f"{header}.{_b64(forged)}.{signature}")


async def test_an_expired_token_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey
) -> None:
    now = int(time.time())
    claims = _claims(account.id, iat=now - 1000, exp=now - 120)  # beyond the 30 s leeway
    assert not await accepts(sign(signing_key, claims))


async def test_a_token_issued_in_the_future_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey
) -> None:
    now = int(time.time())
    claims = _claims(account.id, iat=now + 600, exp=now + 1200)
    assert not await accepts(sign(signing_key, claims))


async def test_a_token_not_valid_before_a_future_nbf_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey
) -> None:
    claims = _claims(account.id, nbf=int(time.time()) + 600)
    assert not await accepts(sign(signing_key, claims))


async def test_a_wrong_audience_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey
) -> None:
    assert not await accepts(sign(signing_key, _claims(account.id, aud="another-api")))


async def test_a_wrong_issuer_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey
) -> None:
    assert not await accepts(sign(signing_key, _claims(account.id, iss="https://evil.example")))


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "iss", "aud"])
async def test_a_token_missing_a_required_claim_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey, claim: str
) -> None:
    claims = _claims(account.id)
    del claims[claim]
    assert not await accepts(sign(signing_key, claims))


async def test_a_refresh_token_used_as_bearer_is_refused(
    accepts: Accepts, account: Account
) -> None:
    assert not await accepts(account.refresh_token)


@pytest.mark.parametrize("typ", [None, "JWT", "refresh+jwt", 1, ["at+jwt"]])
async def test_a_token_of_another_type_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey, typ: object
) -> None:
    headers: dict[str, object] = {"kid": signing_key.kid}
    if typ is not None:
        headers["typ"] = typ
    token = jwt.encode(_claims(account.id), signing_key.private_key, "EdDSA", headers=headers)
    if typ is None:  # PyJWT adds typ JWT by default: strip it to test a missing typ
        head, body, sig = token.split(".")
        raw = json.loads(base64.urlsafe_b64decode(head + "=="))
        raw.pop("typ", None)
        token = f"{_b64(raw)}.{body}.{sig}"  # (signature now wrong too: refused either way)
    assert not await accepts(token)


@pytest.mark.parametrize("sub", ["not-a-uuid", "", 12345])
async def test_a_subject_that_is_not_a_user_id_is_refused(
    accepts: Accepts, signing_key: SigningKey, sub: object
) -> None:
    claims = _claims(uuid.uuid4())
    claims["sub"] = sub
    assert not await accepts(sign(signing_key, claims))


@pytest.mark.parametrize(
    "garbage",
    [
        "garbage",
        "a.b.c",
        "..",
        "Bearer",
        "eyJhbGciOiJFZERTQSJ9",
        "x" * 5000,
        "ü.ö.ä",
        "e30.e30.e30",
    ],
)
async def test_garbage_is_refused(accepts: Accepts, garbage: str) -> None:
    assert not await accepts(garbage)


async def test_a_critical_header_extension_is_refused(
    accepts: Accepts, account: Account, signing_key: SigningKey
) -> None:
    token = sign(signing_key, _claims(account.id), crit=["exp-ext"], **{"exp-ext": 1})
    assert not await accepts(token)
