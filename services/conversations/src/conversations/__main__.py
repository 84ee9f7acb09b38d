"""`python -m conversations`: REST on HOST:PORT and gRPC on HOST:GRPC_PORT, one process.

uvicorn handles SIGINT/SIGTERM: it stops accepting, finishes in-flight requests, then
runs the lifespan's shutdown (gRPC graceful stop, pool closed).
"""

from __future__ import annotations

import uvicorn
from chat_common.logs import configure_logging

from conversations.main import create_app
from conversations.settings import get_settings


def main() -> None:
    settings = get_settings()
    configure_logging("conversations", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None,
    )


if __name__ == "__main__":
    main()
