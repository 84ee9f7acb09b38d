"""What one running app holds: made in `create_app` and its lifespan, reached via deps."""

from __future__ import annotations

from dataclasses import dataclass

from chat_common.client_address import TrustedProxies
from chat_common.tokens import TokenVerifier
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.accounts import Accounts
from auth.clients import ServiceClients, ServiceTokenIssuer
from auth.db import Sessions
from auth.keys import KeyRing
from auth.settings import Settings
from auth.tokens import Tokens


@dataclass(frozen=True)
class AuthState:
    settings: Settings
    keys: KeyRing
    verifier: TokenVerifier
    engine: AsyncEngine
    db: Sessions
    accounts: Accounts
    tokens: Tokens
    clients: ServiceClients
    service_tokens: ServiceTokenIssuer
    proxies: TrustedProxies
