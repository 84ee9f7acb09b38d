"""`python -m agent`: the agent's HTTP server."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from agent.settings import get_settings


def main() -> None:
    try:
        settings = get_settings()
    except ValidationError as exc:
        sys.exit(f"agent: invalid settings: {exc}")
    uvicorn.run(
        "agent.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=settings.access_log,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
