"""The signing key ring: the newest key signs, every loaded key verifies.

Keys come from `JWT_PRIVATE_KEYS` (PEMs in one value, the last signs) or from
`JWT_KEYS_DIR` (*.pem files, the name that sorts last signs). Each key's `kid`
is its RFC 7638 JWK thumbprint, so it names the key itself and never a path.
In development an Ed25519 key is generated in the directory once.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from auth.settings import Settings

log = logging.getLogger(__name__)

PrivateKey = Ed25519PrivateKey | RSAPrivateKey
MIN_RSA_BITS = 2048
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----\r?\n.+?-----END \1-----", re.DOTALL)
# The members RFC 7638 hashes, per key type.
_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}


class KeyConfigError(Exception):
    """The configured keys cannot be used; the message says what to fix."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without whitespace."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class SigningKey:
    private_key: PrivateKey
    algorithm: str
    kid: str
    public_jwk: dict[str, str] = field(repr=False)

    @classmethod
    def from_private_key(cls, key: object, *, source: str) -> SigningKey:
        if isinstance(key, Ed25519PrivateKey):
            jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
            algorithm = "EdDSA"
        elif isinstance(key, RSAPrivateKey):
            if key.key_size < MIN_RSA_BITS:
                raise KeyConfigError(f"{source}: RSA keys need at least {MIN_RSA_BITS} bits")
            jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            algorithm = "RS256"
        else:
            raise KeyConfigError(f"{source}: only Ed25519 (EdDSA) and RSA (RS256) keys sign")
        kid = jwk_thumbprint(jwk)
        public = {**{k: str(v) for k, v in jwk.items()}, "kid": kid, "alg": algorithm, "use": "sig"}
        return cls(private_key=key, algorithm=algorithm, kid=kid, public_jwk=public)

    @classmethod
    def from_pem(cls, pem: bytes, *, source: str) -> SigningKey:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyConfigError(f"{source}: not an unencrypted PEM private key ({exc})") from None
        return cls.from_private_key(key, source=source)


@dataclass(frozen=True)
class KeyRing:
    """Oldest first; the last key signs."""

    keys: tuple[SigningKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyConfigError("no signing key loaded")

    @property
    def signing_key(self) -> SigningKey:
        return self.keys[-1]

    @property
    def algorithms(self) -> list[str]:
        return sorted({k.algorithm for k in self.keys})

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys only, newest first."""
        return {"keys": [dict(k.public_jwk) for k in reversed(self.keys)]}

    def jwks_json(self) -> str:
        return json.dumps(self.jwks(), separators=(",", ":"))


def split_pems(text: str | bytes) -> list[bytes]:
    data = text.encode() if isinstance(text, str) else text
    data = data.replace(b"\\n", b"\n")  # env files often cannot hold real newlines
    return [m.group(0) for m in _PEM_BLOCK.finditer(data)]


def key_ring_from_pems(text: str | bytes, *, source: str) -> KeyRing:
    blocks = split_pems(text)
    if not blocks:
        raise KeyConfigError(f"{source} holds no PEM private key")
    keys = [SigningKey.from_pem(b, source=f"{source} key #{i + 1}") for i, b in enumerate(blocks)]
    return KeyRing(_dedupe(keys))


def key_ring_from_dir(directory: Path) -> KeyRing:
    files = sorted(p for p in directory.glob("*.pem") if p.is_file())
    if not files:
        raise KeyConfigError(f"JWT_KEYS_DIR {directory} holds no *.pem private key")
    keys: list[SigningKey] = []
    for path in files:
        blocks = split_pems(path.read_bytes())
        if not blocks:
            raise KeyConfigError(f"{path} holds no PEM private key")
        keys.extend(SigningKey.from_pem(b, source=str(path)) for b in blocks)
    return KeyRing(_dedupe(keys))


def _dedupe(keys: list[SigningKey]) -> tuple[SigningKey, ...]:
    # The same key listed twice keeps its latest position (that is the one that may sign).
    last = {k.kid: i for i, k in enumerate(keys)}
    return tuple(k for i, k in enumerate(keys) if last[k.kid] == i)


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    # Two dev processes starting together must not each generate (and sign with) a key.
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_ed25519_pem() -> bytes:
    """A fresh Ed25519 private key as unencrypted PKCS#8 PEM."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_dev_key(directory: Path) -> Path | None:
    """Generates one Ed25519 key in `directory` unless it already holds a *.pem file."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _dir_lock(directory):
        if any(directory.glob("*.pem")):
            return None
        pem = new_ed25519_pem()
        path = directory / f"ed25519-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.pem"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        os.replace(tmp, path)
        log.warning("generated a development signing key at %s", path)
        return path


def load_key_ring(settings: Settings) -> KeyRing:
    """The key ring the settings name; raises KeyConfigError with what to fix."""
    if settings.jwt_private_keys is not None:
        return key_ring_from_pems(
            settings.jwt_private_keys.get_secret_value(), source="JWT_PRIVATE_KEYS"
        )
    directory = settings.keys_dir
    if directory is None:
        raise KeyConfigError("set JWT_PRIVATE_KEYS or JWT_KEYS_DIR to sign access tokens")
    if settings.environment == "development":
        ensure_dev_key(directory)
    elif not directory.is_dir():
        raise KeyConfigError(f"JWT_KEYS_DIR {directory} does not exist")
    return key_ring_from_dir(directory)
