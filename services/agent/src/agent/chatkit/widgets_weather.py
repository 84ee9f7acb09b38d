"""The example widget: a weather card from a deterministic tool (no network).

Name this module in TOOL_MODULES (`agent.chatkit.widgets_weather`) to turn it on. The
model calls `show_weather`; the user sees a card (a `.widget` template) with two buttons:
"Show °F" / "Show °C" is handled here (`weather.units`: the card is replaced and stored,
and a `weather.units` client effect tells the page the unit the user chose), "Open map"
is the client's to run (`weather.map`, the server never sees it).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from chat_common.errors import InvalidInput
from chatkit.types import ThreadStreamEvent
from chatkit.widgets import DynamicWidgetRoot

from agent.chatkit import widgets
from agent.chatkit.actions import ActionCall, ActionRegistry
from agent.tools import ToolContext, ToolRegistry

TEMPLATE = str(Path(__file__).with_name("widgets_weather.widget"))
CONDITIONS = ("sunny", "cloudy", "rainy", "windy", "foggy")
PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city (default Paris)."}},
}
UNITS_ACTION, MAP_ACTION = "weather.units", "weather.map"


def forecast(city: str) -> tuple[int, str]:
    """Today's made-up weather in `city`: the same city always gets the same answer."""
    seed = zlib.crc32(city.strip().lower().encode())
    return seed % 35 - 5, CONDITIONS[seed % len(CONDITIONS)]


def reading(city: str, units: str) -> str:
    celsius, condition = forecast(city)
    degrees = celsius if units == "C" else round(celsius * 9 / 5 + 32)
    return f"{degrees} °{units}, {condition}"


def card(city: str, units: str) -> DynamicWidgetRoot:
    other = "F" if units == "C" else "C"
    return widgets.template(TEMPLATE).build(
        {
            "title": f"Weather in {city}",
            "reading": reading(city, units),
            "units_label": f"Show °{other}",
            "units_action": _action(UNITS_ACTION, {"city": city, "units": other}, "server"),
            "map_action": _action(MAP_ACTION, {"city": city}, "client"),
        }
    )


def _action(action_type: str, payload: dict[str, Any], handler: str) -> dict[str, Any]:
    return {"type": action_type, "payload": payload, "handler": handler}


def register_tools(tools: ToolRegistry) -> None:
    @tools.tool(description="Today's weather in a city, shown as a card.", parameters=PARAMETERS)
    async def show_weather(args: dict[str, Any], _: ToolContext) -> str:
        city = args.get("city")
        city = city.strip() if isinstance(city, str) and city.strip() else "Paris"
        text = reading(city, "C")
        await widgets.show(card(city, "C"), copy_text=f"{city}: {text}")
        return f"Weather in {city}: {text} (the user sees it as a card)"


def register_actions(actions: ActionRegistry) -> None:
    actions.add(UNITS_ACTION, switch_units)
    actions.on_client(MAP_ACTION)


async def switch_units(call: ActionCall) -> AsyncIterator[ThreadStreamEvent]:
    city, units = call.payload.get("city"), call.payload.get("units")
    if not isinstance(city, str) or units not in ("C", "F"):
        raise InvalidInput("the weather card sent an action it cannot have sent")
    yield call.replace(card(city, units), copy_text=f"{city}: {reading(city, units)}")
    yield call.effect(UNITS_ACTION, {"units": units})
