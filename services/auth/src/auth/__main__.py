"""`python -m auth`: the service on HOST:PORT."""

from __future__ import annotations

from chat_common.serve import StartupError, serve
from fastapi import FastAPI

from auth.keys import KeyConfigError
from auth.main import create_app
from auth.settings import Settings, get_settings


def _app(settings: Settings) -> FastAPI:
    try:
        return create_app(settings)
    except KeyConfigError as exc:
        raise StartupError(f"cannot load signing keys: {exc}") from None


def main() -> None:
    serve("auth", get_settings, _app)


if __name__ == "__main__":
    main()
