"""A TCP proxy that misbehaves on demand, for fault tests: put it between two real
processes (the agent and the conversations gRPC server) and switch its mode while they
talk. It runs its own asyncio loop in a thread, so a test's loop is never blocked by it.

    with FaultProxy(target_port) as proxy:      # proxy.port forwards to target_port
        proxy.set_latency(0.2)                    # every chunk, both ways, 200 ms later
        proxy.reset_connections()                 # RST every open connection now
        proxy.black_hole()                        # accept, never forward, never answer
        proxy.heal()                              # back to a plain pipe
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

LOCALHOST = "127.0.0.1"
_CHUNK = 64 * 1024
T = TypeVar("T")


class FaultProxy:
    def __init__(self, target_port: int | Callable[[], int], port: int = 0) -> None:
        # A callable: the target's port is asked per connection (known once it started).
        self.target_port = target_port
        self.port = port  # 0: any free one, known once entered
        self.latency = 0.0
        self.holes = False  # black hole: bytes go nowhere, connections stay open
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    # ---- lifecycle
    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._serve, LOCALHOST, self.port))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.reset_connections()
        if self._server is not None:
            self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    @property
    def target(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    # ---- modes (thread-safe: plain attributes read per chunk, resets run on the loop)
    def set_latency(self, seconds: float) -> None:
        self.latency = seconds

    def black_hole(self) -> None:
        self.holes = True

    def heal(self) -> None:
        self.latency, self.holes = 0.0, False

    def reset_connections(self) -> int:
        """Aborts every open connection with a TCP RST (SO_LINGER 0); returns how many."""
        return self._call(self._reset_all())

    # ---- the pipe
    def _target(self) -> int:
        return self.target_port() if callable(self.target_port) else self.target_port

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _reset_all(self) -> int:
        writers, self._writers = list(self._writers), set()
        for writer in writers:
            _abort(writer)
        return len(writers)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(LOCALHOST, self._target())
        except OSError:
            _abort(client_w)
            return
        self._writers |= {client_w, server_w}
        await asyncio.gather(
            self._pipe(client_r, server_w), self._pipe(server_r, client_w), return_exceptions=True
        )
        for writer in (client_w, server_w):
            self._writers.discard(writer)
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(_CHUNK):
            if self.latency:
                await asyncio.sleep(self.latency)
            if self.holes:
                continue  # swallowed: the peer waits until its deadline
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN: the peer sees 'connection reset by peer'."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
