"""`python -m bench.otlp_sink`: the cheapest OTLP/HTTP collector, for case 11.

It answers 200 (an empty ExportTraceServiceResponse, which is zero bytes) to every
`POST /v1/traces` and drops the spans; `GET /` tells how many exports and bytes came in,
so the case can show that tracing was really on. It binds any free port and reports it in
$PORT_FILE (chat_common.bound_ports), as the services do. A process of its own: a collector's CPU
is not the stack's, and the load generator's event loop stays undisturbed.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chat_common import bound_ports

_received = {"exports": 0, "bytes": 0}
_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real collector allows

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", 0))
        self.rfile.read(size)
        if self.path == "/v1/traces":
            with _lock:
                _received["exports"] += 1
                _received["bytes"] += size
        self._answer(200 if self.path == "/v1/traces" else 404, b"", "application/x-protobuf")

    def do_GET(self) -> None:
        with _lock:
            body = json.dumps(_received).encode()
        self._answer(200, body, "application/json")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # listening once constructed
    bound_ports.report("http", server.server_address[1])
    bound_ports.write_port_file()
    server.serve_forever()


if __name__ == "__main__":
    main()
