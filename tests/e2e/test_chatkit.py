"""ChatKit through the gateway: threads are conversations, streamed as they are generated."""

from __future__ import annotations

from typing import Any

from chat_testkit.sse import sse_data

from tests.helpers.gateway import GatewayClient, User


async def _chatkit(gateway: GatewayClient, user: User, body: dict[str, Any]) -> Any:
    response = await gateway.http.post("/chatkit", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        return sse_data(response.text)
    return response.json()


async def test_a_rest_conversation_is_a_chatkit_thread(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user, title="made over REST")
    listed = await _chatkit(gateway, user, {"type": "threads.list", "params": {}})
    assert conversation["id"] in [thread["id"] for thread in listed["data"]]


async def test_a_chatkit_thread_streams_through_the_gateway_and_is_a_conversation(
    gateway: GatewayClient,
) -> None:
    user = await gateway.sign_up()
    create = {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": "hi from ChatKit"}],
                "attachments": [],
                "inference_options": {},
            }
        },
    }
    events = await _chatkit(gateway, user, create)
    thread_id = next(e["thread"]["id"] for e in events if e["type"] == "thread.created")
    history = await gateway.messages(user, thread_id)
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[1]["content"].startswith('You said: "hi from ChatKit".')
