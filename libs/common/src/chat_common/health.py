"""`/healthz` (the process answers) and `/readyz` (its dependencies answer)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], Awaitable[None]]

_draining = False


def start_draining() -> None:
    """The process is stopping: readiness fails from now on (no new work is sent here)."""
    global _draining
    _draining = True


def health_router(ready_check: ReadyCheck) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", response_model=None)
    async def readyz() -> JSONResponse | dict[str, str]:
        if _draining:
            return JSONResponse({"detail": "shutting down"}, status_code=503)
        try:
            await ready_check()
        except Exception as exc:
            log.warning("not ready: %s", exc)
            return JSONResponse({"detail": "not ready"}, status_code=503)
        return {"status": "ready"}

    return router
