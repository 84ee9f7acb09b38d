"""`python -m offline_model`: serve on HOST:PORT (127.0.0.1:8090) with uvloop, no access log."""

from __future__ import annotations

import logging

import uvicorn

from offline_model.main import create_app
from offline_model.settings import get_settings

# uvicorn's complaint when a response is left unfinished: [[cut-after:K]] does exactly that on
# purpose, so it is noise here.
_CUT_NOTICE = "ASGI callable returned without completing response."


def _not_a_requested_cut(record: logging.LogRecord) -> bool:
    return record.msg != _CUT_NOTICE


def main() -> None:
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("uvicorn.error").addFilter(_not_a_requested_cut)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        server_header=False,
        log_config=None,
        log_level=settings.log_level,
    )


if __name__ == "__main__":
    main()
