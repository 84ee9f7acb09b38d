"""The built-in tools: small, harmless, and with no side effects. Registered like any
integrator's tools (see docs/tools.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent.tools.registry import ToolContext, ToolRegistry


async def get_current_time(_: dict[str, Any], __: ToolContext) -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def register_tools(tools: ToolRegistry) -> None:
    tools.tool(description="The current date and time (UTC, ISO 8601).")(get_current_time)
