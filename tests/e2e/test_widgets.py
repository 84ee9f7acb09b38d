"""Widgets and actions through the real gateway: the offline model calls the example
weather tool (`[[tool:show_weather]]`, TOOL_MODULES=agent.chatkit.widgets_weather), the
reply shows its card; `threads.custom_action` switches the card to °F (replaced, stored,
and a client effect), `threads.sync_custom_action` answers the updated card; another
user's thread is 404 and an unknown action 400."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from chat_testkit.plugin import DatabaseFactory
from devstack import Stack

from tests.helpers.gateway import GatewayClient, User, thread_create
from tests.helpers.stacks import own_stack

ASK_WEATHER = "weather? [[tool:show_weather]]"


@pytest.fixture(scope="module")
def widgets_stack(
    make_database: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    agent = {"TOOL_MODULES": "agent.chatkit.widgets_weather"}
    with own_stack("widgets", make_database, tmp_path_factory, service_env={"agent": agent}) as up:
        yield up


@pytest.fixture(scope="module")
async def gateway(widgets_stack: Stack) -> AsyncIterator[GatewayClient]:
    async with GatewayClient(widgets_stack.gateway_url) as client:
        yield client


async def post(gateway: GatewayClient, user: User, body: dict[str, Any]) -> Any:
    return await gateway.http.post("/chatkit", json=body, headers=user.headers)


def units(card: dict[str, Any], to: str, *, sync: bool = False) -> dict[str, Any]:
    action = {"type": "weather.units", "payload": {"city": "Paris", "units": to}}
    params = {"thread_id": card["thread_id"], "item_id": card["id"], "action": action}
    kind = "threads.sync_custom_action" if sync else "threads.custom_action"
    return {"type": kind, "params": params}


def reading(widget: dict[str, Any]) -> str:
    """The card's temperature line (its second text)."""
    texts: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if isinstance(node.get("value"), str):
            texts.append(node["value"])
        for child in node.get("children") or ():
            walk(child)

    walk(widget)
    return texts[1]


async def weather_card(gateway: GatewayClient, user: User) -> dict[str, Any]:
    events = await gateway.chatkit(user, thread_create(ASK_WEATHER))
    done = [e["item"] for e in events if e["type"] == "thread.item.done"]
    assert [i["type"] for i in done] == ["user_message", "workflow", "widget", "assistant_message"]
    card: dict[str, Any] = done[2]
    return card


async def stored_card(gateway: GatewayClient, user: User, card: dict[str, Any]) -> Any:
    listing = {"type": "items.list", "params": {"thread_id": card["thread_id"], "order": "asc"}}
    response = await post(gateway, user, listing)
    assert response.status_code == 200, response.text
    return next(i for i in response.json()["data"] if i["id"] == card["id"])


async def test_a_widget_action_round_trip(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    card = await weather_card(gateway, user)
    assert "°C" in reading(card["widget"])

    events = await gateway.chatkit(user, units(card, "F"))

    replaced = [e["item"] for e in events if e["type"] == "thread.item.replaced"]
    assert [i["id"] for i in replaced] == [card["id"]]
    assert "°F" in reading(replaced[0]["widget"])
    effects = [(e["name"], e["data"]) for e in events if e["type"] == "client_effect"]
    assert effects == [("weather.units", {"units": "F"})]
    reloaded = await stored_card(gateway, user, card)
    assert reading(reloaded["widget"]) == reading(replaced[0]["widget"])

    synced = await post(gateway, user, units(card, "C", sync=True))

    assert synced.status_code == 200, synced.text
    updated = synced.json()["updated_item"]
    assert (updated["id"], reading(updated["widget"])) == (card["id"], reading(card["widget"]))
    assert reading((await stored_card(gateway, user, card))["widget"]) == reading(card["widget"])


async def test_another_users_widget_is_404_and_an_unknown_action_400(
    gateway: GatewayClient,
) -> None:
    owner, other = await gateway.sign_up(), await gateway.sign_up()
    card = await weather_card(gateway, owner)

    for sync in (False, True):
        foreign = await post(gateway, other, units(card, "F", sync=sync))
        assert foreign.status_code == 404, foreign.text
    unknown = units(card, "F")
    unknown["params"]["action"]["type"] = "weather.nope"
    refused = await post(gateway, owner, unknown)
    assert refused.status_code == 400
    assert "weather.nope" in refused.json()["detail"]
    assert "°C" in reading((await stored_card(gateway, owner, card))["widget"])
