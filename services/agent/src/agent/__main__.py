"""`python -m agent`: the agent's HTTP server."""

from __future__ import annotations

from chat_common.serve import serve

from agent.main import create_app
from agent.settings import get_settings


def main() -> None:
    serve("agent", get_settings, create_app)


if __name__ == "__main__":
    main()
