"""`python -m auth`: the service on HOST:PORT (uvicorn + uvloop)."""

from __future__ import annotations

import logging
import sys

import uvicorn
from chat_common.logs import configure_logging
from pydantic import ValidationError

from auth.keys import KeyConfigError
from auth.main import create_app
from auth.settings import get_settings


def _explain(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]).upper()
        lines.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
    return "; ".join(lines)


def main() -> None:
    try:
        settings = get_settings()
    except ValidationError as exc:
        sys.exit(f"auth: invalid settings: {_explain(exc)}")
    configure_logging("auth", settings.log_level)
    try:
        app = create_app(settings)
    except KeyConfigError as exc:
        logging.getLogger("auth").error("cannot load signing keys: %s", exc)
        sys.exit(f"auth: cannot load signing keys: {exc}")
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        log_config=None,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
