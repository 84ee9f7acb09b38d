"""The ports a service listens on, told to whoever started it.

A service started with PORT=0 (and GRPC_PORT=0) lets the kernel choose free ports at
bind time, so no port is picked by one process and bound later by another (a race with
anything else starting meanwhile). Each server reports the port it got (`report`) and
`serve()` writes them all to `$PORT_FILE` as JSON ({"http": 43121, "grpc": 40411}) once
the service listens: the file appearing means "listening, here".
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Final

PORT_FILE_ENV: Final = "PORT_FILE"

_bound: dict[str, int] = {}


def report(name: str, port: int) -> None:
    """Records that the server `name` ("http", "grpc") listens on `port`."""
    _bound[name] = port


def write_port_file() -> None:
    """Writes the reported ports to $PORT_FILE, if set: whole or not at all (a reader
    polling for the file never sees half of it)."""
    if not (path := os.environ.get(PORT_FILE_ENV)):
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(json.dumps(_bound))
    partial.replace(target)
