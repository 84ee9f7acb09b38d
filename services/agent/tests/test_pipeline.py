"""In process: the turn pipeline over an in-memory conversations service and a scripted
model. Events in order, batched writes, tool rounds, and the final state a reply is
stored in however it ends (complete, failed, interrupted); idempotent replays."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest
from agent.context import RequestContext
from agent.model import ModelError, TextDelta
from agent.tools import default_tools
from agent.turn_events import (
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
    ReplyStarted,
    ReplyToolCalls,
    ReplyToolResult,
    StartedTurn,
)
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import Conflict, NotFound

from services.agent.tests.fake_model import ScriptedModel, Stall, calls_tool, says
from services.agent.tests.fakes import FakeConversations, make_pipeline


class Chat:
    """One user's conversation, the real pipeline, and the fakes behind it."""

    def __init__(self, model: ScriptedModel, **settings: Any) -> None:
        self.model = model
        self.store = FakeConversations()
        self.ctx = RequestContext(user_id=uuid.uuid4())
        self.conversation_id = self.store.conversation(self.ctx.user_id)
        self.pipeline = make_pipeline(self.store, model, **settings)

    async def turn(self, content: str = "hi", key: str | None = None) -> StartedTurn:
        return await self.pipeline.start_turn(
            self.ctx, self.conversation_id, content, idempotency_key=key
        )

    async def events(self, content: str = "hi") -> list[ReplyEvent]:
        """A whole turn: every event the reply gave."""
        return await self.events_of(await self.turn(content))

    async def events_of(self, turn: StartedTurn) -> list[ReplyEvent]:
        reply = self.pipeline.reply(self.ctx, turn.assistant_message, history=turn.history)
        async with reply as events:
            return [event async for event in events]

    def stored(self, message_id: str) -> pb.Message:
        return self.store.messages[message_id]

    def roles(self) -> list[str]:
        return [m.role for m in self.store.in_conversation(self.conversation_id)]


def kinds(events: list[ReplyEvent]) -> list[str]:
    return [type(event).__name__ for event in events]


def final(events: list[ReplyEvent]) -> ReplyDone:
    done = events[-1]
    assert isinstance(done, ReplyDone), f"the last event is {type(done).__name__}"
    return done


# -- a plain turn -----------------------------------------------------------------------


async def test_a_turn_stores_the_user_message_and_an_empty_reply_before_the_model_runs() -> None:
    chat = Chat(ScriptedModel())

    turn = await chat.turn("hello there")

    assert turn.user_message.content == "hello there" and not turn.replayed
    assert turn.assistant_message.status == "in_progress"
    assert turn.assistant_message.content == ""
    assert turn.history is not None and turn.history[-1].id == turn.user_message.id
    assert chat.model.calls == []


async def test_a_reply_gives_its_deltas_in_order_then_one_done() -> None:
    chat = Chat(ScriptedModel(says("Hel", "lo", "!")))

    events = await chat.events()

    assert kinds(events) == ["ReplyDelta", "ReplyDelta", "ReplyDelta", "ReplyDone"]
    assert [e.text for e in events if isinstance(e, ReplyDelta)] == ["Hel", "lo", "!"]


async def test_a_finished_reply_is_stored_complete_with_its_text_and_usage() -> None:
    chat = Chat(ScriptedModel(says("Hello", input_tokens=11, output_tokens=2)))

    done = final(await chat.events())

    assert done.error is None
    stored = chat.stored(done.message.id)
    assert (stored.status, stored.content) == ("complete", "Hello")
    assert (stored.usage.input_tokens, stored.usage.output_tokens) == (11, 2)


async def test_the_model_is_sent_the_system_prompt_and_the_history_before_the_reply() -> None:
    chat = Chat(ScriptedModel(says("one"), says("two")), system_prompt="Be brief.")
    await chat.events("first question")

    await chat.events("second question")

    assert chat.model.calls[1].messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "one"},
        {"role": "user", "content": "second question"},
    ]


async def test_history_limit_bounds_what_the_model_is_sent() -> None:
    chat = Chat(ScriptedModel(says("a"), says("b")), history_limit=2)
    await chat.events("first")

    await chat.events("second")

    assert [m["content"] for m in chat.model.calls[1].messages] == ["a", "second"]


async def test_content_is_written_in_batches_while_the_reply_streams() -> None:
    words = [f"w{i} " for i in range(30)]
    chat = Chat(ScriptedModel(says(*words), pause=0.005), content_flush_seconds=0.05)

    done = final(await chat.events())

    writes = chat.store.content_writes(done.message.id)
    assert 1 <= writes < len(words), f"{writes} content writes for {len(words)} deltas"
    assert chat.stored(done.message.id).content == "".join(words)


async def test_every_batched_write_is_a_prefix_of_the_final_text() -> None:
    words = [f"w{i} " for i in range(20)]
    chat = Chat(ScriptedModel(says(*words), pause=0.005), content_flush_seconds=0.05)

    await chat.events()

    partial = [u.content for u in chat.store.updates if u.HasField("content")]
    assert len(partial) > 1, "no write before the final one"
    assert all("".join(words).startswith(text) for text in partial)


# -- tool rounds --------------------------------------------------------------------------


async def test_a_tool_round_gives_the_call_its_result_and_a_new_reply_then_the_answer() -> None:
    model = ScriptedModel(calls_tool("get_current_time"), says("It is ", "late."))
    chat = Chat(model, tools=default_tools())

    events = await chat.events("what time is it?")

    assert kinds(events) == [
        "ReplyToolCalls",
        "ReplyToolResult",
        "ReplyStarted",
        "ReplyDelta",
        "ReplyDelta",
        "ReplyDone",
    ]
    assert chat.roles() == ["user", "assistant", "tool", "assistant"]


async def test_the_tool_calling_step_is_stored_complete_with_its_calls() -> None:
    chat = Chat(ScriptedModel(calls_tool("get_current_time"), says("ok")), tools=default_tools())

    calls = next(e for e in await chat.events() if isinstance(e, ReplyToolCalls))

    stored = chat.stored(calls.message.id)
    assert stored.status == "complete" and stored.content == ""
    [call] = orjson.loads(stored.tool_calls_json)
    assert call["function"]["name"] == "get_current_time" and call["id"] == "call_1"


async def test_the_tool_result_is_stored_with_the_call_it_answers() -> None:
    chat = Chat(ScriptedModel(calls_tool("get_current_time"), says("ok")), tools=default_tools())

    result = next(e for e in await chat.events() if isinstance(e, ReplyToolResult))

    assert result.message.role == "tool" and result.message.content.startswith("20")
    assert orjson.loads(result.message.tool_calls_json)[0]["id"] == "call_1"


async def test_the_answer_after_a_tool_round_is_the_new_reply_and_ends_complete() -> None:
    chat = Chat(ScriptedModel(calls_tool("get_current_time"), says("done")), tools=default_tools())

    events = await chat.events()

    started = next(e for e in events if isinstance(e, ReplyStarted))
    done = final(events)
    assert done.message.id == started.message.id
    assert (done.message.status, done.message.content) == ("complete", "done")


async def test_the_second_model_call_is_sent_the_call_and_its_result() -> None:
    model = ScriptedModel(calls_tool("get_current_time"), says("ok"))
    chat = Chat(model, tools=default_tools())

    await chat.events("time?")

    first, second = model.calls
    assert [t["name"] for t in first.tools] == ["get_current_time"]
    assert [m["role"] for m in second.messages] == ["user", "assistant", "tool"]
    assert second.messages[1]["tool_calls"][0]["id"] == "call_1"
    assert second.messages[2]["tool_call_id"] == "call_1"


async def test_a_call_to_an_unknown_tool_gets_an_error_result_the_model_reads() -> None:
    chat = Chat(ScriptedModel(calls_tool("launch_rockets"), says("sorry")), tools=default_tools())

    result = next(e for e in await chat.events() if isinstance(e, ReplyToolResult))

    assert result.message.content == "error: there is no tool named 'launch_rockets'"


async def test_after_max_tool_rounds_no_tools_are_offered_and_calls_are_ignored() -> None:
    model = ScriptedModel(calls_tool("get_current_time"), calls_tool("get_current_time", "", "c2"))
    chat = Chat(model, tools=default_tools(), max_tool_rounds=1)

    events = await chat.events()

    assert model.calls[1].tools == []
    assert final(events).message.status == "complete"
    assert chat.roles().count("tool") == 1


async def test_without_a_tool_registry_the_model_is_offered_no_tools() -> None:
    model = ScriptedModel(calls_tool("get_current_time"))
    chat = Chat(model)

    events = await chat.events()

    assert model.calls[0].tools == [] and kinds(events) == ["ReplyDone"]
    assert chat.roles() == ["user", "assistant"]


# -- how a reply ends when it does not finish -----------------------------------------------


async def test_a_model_failure_ends_the_reply_failed_with_its_partial_text() -> None:
    failure = ModelError("the model timed out", timeout=True)
    chat = Chat(ScriptedModel([TextDelta("partial "), failure]))

    events = await chat.events()

    done = final(events)
    assert kinds(events) == ["ReplyDelta", "ReplyDone"]
    assert done.error is failure
    assert (done.message.status, done.message.content) == ("failed", "partial ")


async def test_a_consumer_that_stops_early_leaves_the_reply_interrupted_with_its_text() -> None:
    chat = Chat(ScriptedModel([TextDelta("so far"), Stall()]))
    turn = await chat.turn()

    async with chat.pipeline.reply(chat.ctx, turn.assistant_message) as events:
        async for _ in events:
            break

    stored = chat.stored(turn.assistant_message.id)
    assert (stored.status, stored.content) == ("interrupted", "so far")


async def test_a_cancelled_request_leaves_the_reply_interrupted_with_its_text() -> None:
    chat = Chat(ScriptedModel([TextDelta("so far"), Stall()]))
    turn = await chat.turn()
    first_word = asyncio.Event()

    async def consume() -> None:
        async with chat.pipeline.reply(chat.ctx, turn.assistant_message) as events:
            async for _ in events:
                first_word.set()

    task = asyncio.create_task(consume())
    await first_word.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    stored = chat.stored(turn.assistant_message.id)
    assert (stored.status, stored.content) == ("interrupted", "so far")


async def test_a_stream_closed_before_it_is_iterated_still_ends_interrupted() -> None:
    chat = Chat(ScriptedModel(says("never")))
    turn = await chat.turn()

    await chat.pipeline.reply(chat.ctx, turn.assistant_message).aclose()

    assert chat.stored(turn.assistant_message.id).status == "interrupted"
    assert chat.model.calls == []


# -- isolation and idempotent replays ------------------------------------------------------


async def test_a_turn_in_another_users_conversation_is_not_found() -> None:
    chat = Chat(ScriptedModel())
    stranger = RequestContext(user_id=uuid.uuid4())

    with pytest.raises(NotFound):
        await chat.pipeline.start_turn(stranger, chat.conversation_id, "hi")

    assert chat.roles() == []


async def test_a_turn_started_again_with_its_key_replays_and_stores_nothing_new() -> None:
    chat = Chat(ScriptedModel())
    first = await chat.turn("hi", key="k1")

    again = await chat.turn("hi", key="k1")

    assert again.replayed and again.user_message.id == first.user_message.id
    assert again.assistant_message.id == first.assistant_message.id
    assert chat.roles() == ["user", "assistant"]


async def test_a_key_used_again_with_other_content_is_a_conflict() -> None:
    chat = Chat(ScriptedModel())
    await chat.turn("hi", key="k1")

    with pytest.raises(Conflict):
        await chat.turn("something else", key="k1")


async def test_a_replay_waits_for_the_reply_another_request_finishes() -> None:
    chat = Chat(ScriptedModel(says("slow ", "answer"), pause=0.05))
    first = await chat.turn("hi", key="k1")
    running = asyncio.create_task(chat.events_of(first))

    replay = await chat.turn("hi", key="k1")
    final = await chat.pipeline.wait_for_reply(chat.ctx, replay.assistant_message)

    assert (final.status, final.content) == ("complete", "slow answer")
    await running


async def test_a_replay_follows_a_tool_round_to_the_reply_that_answers() -> None:
    model = ScriptedModel(calls_tool("get_current_time"), says("it is late"), pause=0.05)
    chat = Chat(model, tools=default_tools())
    first = await chat.turn("time?", key="k1")
    running = asyncio.create_task(chat.events_of(first))

    replay = await chat.turn("time?", key="k1")
    final = await chat.pipeline.wait_for_reply(chat.ctx, replay.assistant_message)

    assert final.id != first.assistant_message.id
    assert (final.status, final.content) == ("complete", "it is late")
    await running


async def test_a_replay_of_a_reply_that_never_ends_is_a_conflict_after_the_wait() -> None:
    chat = Chat(ScriptedModel(), replay_wait_seconds=0.2)
    await chat.turn("hi", key="k1")
    replay = await chat.turn("hi", key="k1")

    with pytest.raises(Conflict):
        await chat.pipeline.wait_for_reply(chat.ctx, replay.assistant_message)
