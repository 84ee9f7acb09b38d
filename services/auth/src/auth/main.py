"""create_app(): routes, lifespan (database engine, password hasher), error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import partial

from chat_common.app import build_app
from chat_common.metrics import collecting
from chat_common.periodic import in_background, run_every
from chat_common.tokens import CachingVerifier, TokenVerifier
from fastapi import FastAPI

from auth.account_deletion import DeletedUsers, purge_delivered
from auth.accounts import Accounts, LoginThrottle
from auth.api.account import router as account_router
from auth.api.internal import router as internal_router
from auth.api.routes import router
from auth.api.verify import VerifyRoute
from auth.clients import ServiceClients, ServiceTokenIssuer
from auth.db import Sessions, make_engine, make_sessions, ping
from auth.deletion_courier import CLIENT_ID, PURGE_ACCOUNTS_SCOPE, DeletionCourier
from auth.deps import STATE, AuthState
from auth.keys import KeyRing, load_key_ring
from auth.metrics import VerifyCacheCollector
from auth.passwords import Passwords
from auth.settings import Settings, get_settings
from auth.store import purge_expired
from auth.tokens import AccessTokenIssuer, Tokens

log = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 3600.0


def own_token_verifier(settings: Settings, keys: KeyRing) -> TokenVerifier:
    """The shared verifier over this service's own public keys (inline, never fetched)."""
    return TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        service_audience=settings.service_token_audience,
        algorithms=keys.algorithms,
        jwks=keys.jwks_json(),
        leeway=settings.jwt_leeway_seconds,
    )


def login_throttle(settings: Settings) -> LoginThrottle:
    return LoginThrottle(
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_failure_window_seconds,
        delay_seconds=settings.login_delay_seconds,
        address_max_failures=settings.login_address_max_failures,
    )


def deleted_users(settings: Settings) -> DeletedUsers:
    # A token of a deleted user can be unexpired for its lifetime plus the verifiers' leeway.
    return DeletedUsers(
        horizon_seconds=settings.access_token_ttl_seconds + settings.jwt_leeway_seconds,
        refresh_seconds=settings.deleted_users_refresh_seconds,
    )


def deletion_courier(
    settings: Settings, db: Sessions, issuer: ServiceTokenIssuer
) -> DeletionCourier:
    return DeletionCourier(
        db,
        target=settings.conversations_grpc_target,
        service_token=lambda: issuer.token(client_id=CLIENT_ID, scope=PURGE_ACCOUNTS_SCOPE),
        retry_seconds=settings.account_deletion_retry_seconds,
        retry_max_seconds=settings.account_deletion_retry_max_seconds,
    )


async def _purge_expired(state: AuthState) -> None:
    async with state.db.begin() as s:
        await purge_expired(s, failure_window_seconds=state.settings.login_failure_window_seconds)
        await purge_delivered(s, older_than_seconds=state.deleted_users.horizon_seconds)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Loads the signing keys now (a bad key configuration fails before serving)."""
    settings = settings or get_settings()
    keys = load_key_ring(settings)
    verifier = own_token_verifier(settings, keys)
    deleted = deleted_users(settings)
    # `/verify`'s: tokens that verified once are reused until their exp (at most 60 s):
    # one turn's requests repeat the same token.
    verify_cache = CachingVerifier(verifier, ttl=60.0)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        db = make_sessions(engine)
        # Computing the dummy hash costs one full hash: keep it off the event loop.
        passwords = await asyncio.to_thread(Passwords.from_settings, settings)
        service_tokens = ServiceTokenIssuer.from_settings(settings, keys)
        state = AuthState(
            settings=settings,
            keys=keys,
            verifier=verifier,
            engine=engine,
            db=db,
            accounts=Accounts(db=db, passwords=passwords, throttle=login_throttle(settings)),
            tokens=Tokens(
                db=db,
                access=AccessTokenIssuer.from_settings(settings, keys),
                refresh_ttl_days=settings.refresh_token_ttl_days,
                reuse_grace_seconds=settings.refresh_reuse_grace_seconds,
            ),
            clients=ServiceClients.from_settings(settings),
            service_tokens=service_tokens,
            proxies=settings.proxies,
            deleted_users=deleted,
            courier=deletion_courier(settings, db, service_tokens),
        )
        STATE.put(app, state)
        background = in_background(
            {
                "purge-expired": run_every(
                    PURGE_INTERVAL_SECONDS,
                    partial(_purge_expired, state),
                    what="purging expired rows",
                ),
                "deleted-users-refresh": deleted.refresh_forever(db),
                "deletion-courier": state.courier.run_forever(),
            }
        )
        log.info("auth ready; signing with kid %s (%s)", keys.signing_key.kid, len(keys.keys))
        try:
            async with background:
                with collecting(VerifyCacheCollector(verify_cache)):
                    yield
        finally:
            await engine.dispose()

    app = build_app("auth", settings, lifespan=lifespan, ready=_ready)
    # Added last, so outermost: `/verify` is answered before the request id, metrics,
    # routing and dependency layers (it echoes the request id itself).
    # Tokens of deleted accounts are refused at once, from memory (auth.account_deletion).
    app.add_middleware(VerifyRoute, verifier=verify_cache, deleted_users=deleted)
    app.include_router(router)
    app.include_router(account_router)
    app.include_router(internal_router)
    return app


async def _ready(app: FastAPI) -> None:
    await ping(STATE.of(app).engine)
