"""`python -m conversations`: REST on HOST:PORT and gRPC on HOST:GRPC_PORT, one process.

On SIGINT/SIGTERM readiness fails, the server stops accepting, finishes in-flight
requests (SHUTDOWN_GRACE_SECONDS), then runs the lifespan's shutdown (gRPC graceful
stop, pool closed).
"""

from __future__ import annotations

from chat_common.serve import serve

from conversations.main import create_app
from conversations.settings import get_settings


def main() -> None:
    serve("conversations", get_settings, create_app)


if __name__ == "__main__":
    main()
