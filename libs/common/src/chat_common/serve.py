"""One way to run a service: `python -m <service>` calls `serve()`.

Every service starts the same way: settings read once (an invalid one is a clear
message naming the setting, never echoing its value: it may be a secret), logging set
up once before the server starts (so uvicorn's own setup cannot undo it), the access
log on only when asked for, and a graceful stop bounded by one setting. On SIGTERM
`/readyz` answers 503 at once, while requests in flight (a streaming reply) finish; every
later drain step shares the same deadline (chat_common.shutdown).

The service binds its own listening socket (PORT=0: any free port) and, with PORT_FILE
set, writes the ports it listens on there once it serves (chat_common.bound_ports).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

import uvicorn
from pydantic import ValidationError
from starlette.types import ASGIApp

from chat_common import bound_ports, health, shutdown
from chat_common.logs import configure_logging
from chat_common.settings import ServiceSettings
from chat_common.tracing import setup_tracing

S = TypeVar("S", bound=ServiceSettings)


class StartupError(Exception):
    """A problem the operator must fix (a missing key, an unreadable file): printed as is,
    so its message must name what is wrong without quoting a secret."""


def explain(exc: ValidationError) -> str:
    """`SETTING: what is wrong` for each error, without the offending values."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]).upper()
        lines.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
    return "; ".join(lines)


class _DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, grace_seconds: float) -> None:
        super().__init__(config)
        self.grace_seconds = grace_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        shutdown.begin(self.grace_seconds)
        health.start_draining()  # readiness fails first, then uvicorn stops accepting
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)  # the lifespan ran (gRPC bound) and HTTP listens
        bound_ports.write_port_file()


def serve(service: str, load_settings: Callable[[], S], make_app: Callable[[S], ASGIApp]) -> None:
    try:
        settings = load_settings()
    except ValidationError as exc:
        sys.exit(f"{service}: invalid settings: {explain(exc)}")
    configure_logging(
        service,
        settings.log_level,
        access_log=settings.access_log,
        log_format=settings.log_format,
    )
    try:
        app = make_app(settings)
    except StartupError as exc:
        sys.exit(f"{service}: {exc}")
    # Before the server starts: the app's lifespan then opens traced pools and channels.
    setup_tracing(
        service,
        app,
        endpoint=settings.otel_exporter_otlp_endpoint,
        service_name=settings.otel_service_name,
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=settings.access_log,
        # Measured from the signal, like the lifespan's drains (chat_common.shutdown).
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
    )
    listening = config.bind_socket()  # here, not later: PORT=0 gets its port now
    bound_ports.report("http", listening.getsockname()[1])
    _DrainingServer(config, settings.shutdown_grace_seconds).run(sockets=[listening])
