"""ChatKit through the gateway: threads are conversations, streamed as they are generated."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from chat_testkit.plugin import DatabaseFactory
from chat_testkit.sse import sse_data
from devstack import Stack

from tests.helpers.gateway import GatewayClient, created_thread_id, thread_create
from tests.helpers.stacks import own_stack


async def test_a_rest_conversation_is_a_chatkit_thread(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user, title="made over REST")
    listed = await gateway.chatkit(user, {"type": "threads.list", "params": {}})
    assert conversation["id"] in [thread["id"] for thread in listed["data"]]


async def test_a_chatkit_thread_streams_through_the_gateway_and_is_a_conversation(
    gateway: GatewayClient,
) -> None:
    user = await gateway.sign_up()
    events = await gateway.chatkit(user, thread_create("hi from ChatKit"))
    thread_id = created_thread_id(events)
    history = await gateway.messages(user, thread_id)
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[1]["content"].startswith('You said: "hi from ChatKit".')


# -- a stack of its own: a model allow-list and titles from the model ------------------------

ALLOWED_MODEL = "gpt-big"


@pytest.fixture(scope="module")
def composer_stack(
    make_database: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    agent = {"MODEL_ALLOWLIST": ALLOWED_MODEL, "TITLE_FROM_MODEL": "true"}
    # One turn per user, then one every two minutes: each test here uses a new user.
    conversations = {"TURN_RATE_BURST": "1", "TURN_RATE_PER_MINUTE": "0.5"}
    service_env = {"agent": agent, "conversations": conversations}
    with own_stack("composer", make_database, tmp_path_factory, service_env=service_env) as running:
        yield running


@pytest.fixture
async def composer(composer_stack: Stack) -> AsyncIterator[GatewayClient]:
    async with GatewayClient(composer_stack.gateway_url) as client:
        yield client


def _create(text: str, **options: Any) -> dict[str, Any]:
    return thread_create(text, inference_options=options)


async def test_a_model_from_the_allow_list_is_used(composer: GatewayClient) -> None:
    user = await composer.sign_up()

    events = await composer.chatkit(user, _create("hi [[echo]]", model=ALLOWED_MODEL))

    thread_id = created_thread_id(events)
    reply = (await composer.messages(user, thread_id))[-1]["content"]
    assert f"Model: {ALLOWED_MODEL}." in reply


async def test_a_model_off_the_allow_list_is_refused_with_an_error_event(
    composer: GatewayClient,
) -> None:
    user = await composer.sign_up()

    events = await composer.chatkit(user, _create("hi", model="gpt-secret"))

    assert [e["type"] for e in events] == ["error"]
    assert "'gpt-secret' is not available" in events[0]["message"]
    listed = await composer.chatkit(user, {"type": "threads.list", "params": {}})
    assert listed["data"] == []  # nothing was stored


async def test_quotes_tags_and_locale_reach_the_model(composer: GatewayClient) -> None:
    user = await composer.sign_up()
    body = _create("see [[echo]]")
    body["params"]["input"]["quoted_text"] = "the quoted line"
    body["params"]["input"]["content"].append(
        {
            "type": "input_tag",
            "id": "doc_1",
            "text": "@Plan",
            "data": {"v": 2},
            "interactive": False,
        }
    )
    headers = {**user.headers, "Accept-Language": "pt-BR,pt;q=0.9"}

    response = await composer.http.post("/chatkit", json=body, headers=headers)

    events = sse_data(response.text)
    thread_id = created_thread_id(events)
    reply = (await composer.messages(user, thread_id))[-1]["content"]
    assert "referring to this in particular:\nthe quoted line" in reply
    assert '- @Plan (id doc_1): {"v":2}' in reply
    assert "locale is pt-BR" in reply


async def test_the_model_titles_a_new_thread(composer: GatewayClient) -> None:
    user = await composer.sign_up()

    events = await composer.chatkit(user, _create("plan a trip to Lisbon in spring please"))

    titles = [e["thread"]["title"] for e in events if e["type"] == "thread.updated"]
    # The offline model's title: the first six words, capitalised (not the first-words title).
    assert titles[-1] == "Plan a trip to Lisbon in"
    thread_id = created_thread_id(events)
    get = {"type": "threads.get_by_id", "params": {"thread_id": thread_id}}
    assert (await composer.chatkit(user, get))["title"] == "Plan a trip to Lisbon in"


@pytest.mark.parametrize(
    ("code", "message"),
    [(503, "the model failed (HTTP 503)"), (429, "the model is rate limited; try again later")],
)
async def test_a_model_failure_after_the_stream_started_is_a_readable_error_event(
    composer: GatewayClient, code: int, message: str
) -> None:
    user = await composer.sign_up()

    events = await composer.chatkit(user, _create(f"hi [[fail:{code}]]"))

    assert events[0]["type"] == "thread.created"
    (error,) = [e for e in events if e["type"] == "error"]
    assert error["message"] == message and error["allow_retry"]


async def test_a_turn_refused_after_thread_created_is_an_error_event_and_keeps_the_message(
    composer: GatewayClient,
) -> None:
    user = await composer.sign_up()
    await composer.chatkit(user, _create("my one turn"))

    events = await composer.chatkit(user, _create("one too many"))

    assert events[0]["type"] == "thread.created"
    (error,) = [e for e in events if e["type"] == "error"]
    assert "try again in" in error["message"] and error["allow_retry"]
    # Not an empty thread: the message is kept for a retry once the budget allows.
    history = await composer.messages(user, events[0]["thread"]["id"])
    assert [(m["role"], m["content"]) for m in history] == [("user", "one too many")]
