"""create_app(): routes, lifespan (database engine, password hasher), error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from chat_common.api_docs import docs_urls
from chat_common.errors import install_error_handlers
from chat_common.health import health_router
from chat_common.logs import RequestIdMiddleware
from chat_common.tokens import CachingVerifier, TokenVerifier
from fastapi import FastAPI

from auth.accounts import Accounts, LoginThrottle
from auth.api.internal import router as internal_router
from auth.api.routes import router
from auth.api.verify import VerifyRoute
from auth.clients import ServiceClients, ServiceTokenIssuer
from auth.db import make_engine, make_sessions, ping
from auth.deps import STATE, AuthState
from auth.keys import KeyRing, load_key_ring
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


async def _purge_forever(state: AuthState) -> None:
    while True:
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
        try:
            async with state.db.begin() as s:
                await purge_expired(
                    s, failure_window_seconds=state.settings.login_failure_window_seconds
                )
        except Exception:
            log.exception("purging expired rows failed; will retry")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Loads the signing keys now (a bad key configuration fails before serving)."""
    settings = settings or get_settings()
    keys = load_key_ring(settings)
    verifier = own_token_verifier(settings, keys)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        db = make_sessions(engine)
        # Computing the dummy hash costs one full hash: keep it off the event loop.
        passwords = await asyncio.to_thread(Passwords.from_settings, settings)
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
            service_tokens=ServiceTokenIssuer.from_settings(settings, keys),
            proxies=settings.proxies,
        )
        STATE.put(app, state)
        purger = asyncio.create_task(_purge_forever(state))
        log.info("auth ready; signing with kid %s (%s)", keys.signing_key.kid, len(keys.keys))
        try:
            yield
        finally:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            await engine.dispose()

    app = FastAPI(
        title="auth", version="0.1.0", lifespan=lifespan, **docs_urls(settings.environment)
    )
    app.add_middleware(RequestIdMiddleware)
    # Added last, so outermost: `/verify` is answered before the request id, routing and
    # dependency layers (it echoes the request id itself). Tokens that verified once are
    # reused until their exp (at most 60 s): one turn's requests repeat the same token.
    app.add_middleware(VerifyRoute, verifier=CachingVerifier(verifier, ttl=60.0))
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(internal_router)

    async def ready() -> None:
        await ping(STATE.of(app).engine)

    app.include_router(health_router(ready))
    return app
