"""`build_app()`: the part of every service's FastAPI app that is the same everywhere.

API docs off in production, the request id and metrics middleware, the error handlers
and `/healthz` + `/readyz`, added in one order for every service. Each service then
adds its own routes (and auth its own outermost `/verify` layer).

The order, outermost first: request id, then unhandled errors, then metrics, then the app.
The request id is set before anything else runs, so the metrics layer, every handler and
every log line of the request see it, and every response it wraps (a 4xx from routing or
validation, a 500 from an unexpected exception too) carries `X-Request-ID`. Metrics sit
inside and time only the app itself (an exception counts as a 500 there).
Starlette makes the middleware added last the outermost, hence the reverse order below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial

from fastapi import FastAPI

from chat_common.api_docs import docs_urls
from chat_common.errors import UnhandledErrorMiddleware, install_error_handlers
from chat_common.health import health_router
from chat_common.logs import RequestIdMiddleware
from chat_common.metrics import install_metrics
from chat_common.settings import ServiceSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
AppReadyCheck = Callable[[FastAPI], Awaitable[None]]


def build_app(
    title: str,
    settings: ServiceSettings,
    *,
    lifespan: Lifespan,
    ready: AppReadyCheck,
    summary: str | None = None,
) -> FastAPI:
    """A FastAPI app with the shared layers; `ready(app)` backs `/readyz`."""
    app = FastAPI(
        title=title,
        summary=summary,
        version="0.1.0",
        lifespan=lifespan,
        **docs_urls(settings.environment),  # no /docs or /redoc in production
    )
    install_metrics(app, enabled=settings.metrics_enabled)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(RequestIdMiddleware)  # added last: outermost (see the module doc)
    install_error_handlers(app)
    app.include_router(health_router(partial(ready, app)))
    return app
