"""`python -m offline_model`: serve on HOST:PORT (127.0.0.1:8090), started like every
service (chat_common.serve: settings errors, logging, graceful stop)."""

from __future__ import annotations

import logging

from chat_common.serve import serve

from offline_model.main import create_app
from offline_model.settings import get_settings

# uvicorn's complaint when a response is left unfinished: [[cut-after:K]] does exactly that on
# purpose, so it is noise here.
_CUT_NOTICE = "ASGI callable returned without completing response."


def _not_a_requested_cut(record: logging.LogRecord) -> bool:
    return record.msg != _CUT_NOTICE


def main() -> None:
    logging.getLogger("uvicorn.error").addFilter(_not_a_requested_cut)
    serve("offline-model", get_settings, create_app)


if __name__ == "__main__":
    main()
