"""In process: messages <-> ChatKit items, conversations <-> threads. The message row is
the truth for ids, time, role and text; the stored item JSON adds only what a row has
no column for, and history written over REST (no payload) still shows."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.chatkit import items
from chat.conversations.v1 import conversations_pb2 as pb
from chatkit.types import (
    AssistantMessageItem,
    HiddenContextItem,
    InferenceOptions,
    LockedStatus,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTagContent,
    UserMessageTextContent,
)

WHEN = datetime(2025, 5, 1, 12, 30, tzinfo=UTC)


def stored(
    role: str,
    content: str = "",
    *,
    status: str = "complete",
    payload_json: str = "",
    tool_calls_json: str = "",
) -> pb.Message:
    message = pb.Message(
        id="m1",
        conversation_id="t1",
        role=role,
        content=content,
        status=status,
        payload_json=payload_json,
        tool_calls_json=tool_calls_json,
    )
    message.created_at.FromDatetime(WHEN)
    return message


def user_item(text: str = "see ") -> UserMessageItem:
    return UserMessageItem(
        id="client-side-id",
        thread_id="t1",
        created_at=datetime(2020, 1, 1, tzinfo=UTC),
        content=[
            UserMessageTextContent(text=text),
            UserMessageTagContent(id="doc-7", text="@report", data={"page": 3}),
        ],
        quoted_text="an earlier line",
        inference_options=InferenceOptions(model="fast"),
    )


def test_a_user_item_reads_back_exactly_as_saved_with_its_own_ids_and_time() -> None:
    item = user_item()
    message = stored("user", items.user_text(item), payload_json=items.item_payload(item))

    back = items.message_to_item(message)

    # The store keeps what it is given: the SDK's id and time, not the row's.
    assert back == item
    assert (back.id, back.created_at) == ("client-side-id", datetime(2020, 1, 1, tzinfo=UTC))


def test_the_text_of_a_user_item_includes_its_tags_visible_text() -> None:
    assert items.user_text(user_item("see ")) == "see @report"


def test_a_user_message_written_over_rest_shows_as_its_text() -> None:
    back = items.message_to_item(stored("user", "typed in curl"))

    assert isinstance(back, UserMessageItem)
    assert back.content == [UserMessageTextContent(text="typed in curl")]


def test_a_payload_that_is_not_a_valid_item_falls_back_to_the_text() -> None:
    broken = '{"item": {"type": "user_message", "content": "not a list"}}'

    back = items.message_to_item(stored("user", "the text", payload_json=broken))

    assert isinstance(back, UserMessageItem) and back.content[0].text == "the text"


def test_an_assistant_message_shows_its_current_text() -> None:
    back = items.message_to_item(stored("assistant", "partial answ", status="in_progress"))

    assert isinstance(back, AssistantMessageItem) and back.content[0].text == "partial answ"


def test_an_empty_reply_still_streaming_is_shown() -> None:
    back = items.message_to_item(stored("assistant", status="in_progress"))

    assert isinstance(back, AssistantMessageItem)


def test_a_step_that_only_called_tools_is_hidden() -> None:
    message = stored("assistant", status="complete", tool_calls_json='[{"id": "c1"}]')

    assert isinstance(items.message_to_item(message), HiddenContextItem)


def test_a_reply_that_failed_before_its_first_word_shows_that_it_failed() -> None:
    back = items.message_to_item(stored("assistant", status="failed"))

    assert isinstance(back, AssistantMessageItem)
    assert [p.text for p in back.content] == ["", items.STATUS_NOTES["failed"]]


def test_a_tool_result_is_hidden_context_with_its_text() -> None:
    back = items.message_to_item(stored("tool", "noon"))

    assert isinstance(back, HiddenContextItem) and back.content == "noon"


def test_storing_an_item_again_keeps_the_feedback_of_its_payload() -> None:
    previous = '{"item": {}, "feedback": "positive"}'

    payload = items.load_payload(items.item_payload(user_item(), previous))

    assert payload["feedback"] == "positive" and payload["item"]["type"] == "user_message"


def test_a_payload_that_is_not_a_json_object_reads_as_empty() -> None:
    assert (
        items.load_payload("not json") == items.load_payload("[1]") == items.load_payload("") == {}
    )


def test_thread_metadata_round_trips_through_a_conversation() -> None:
    thread = ThreadMetadata(
        id="t1",
        title="Trip",
        created_at=WHEN,
        status=LockedStatus(reason="archived"),
        metadata={"project": "x"},
    )
    conversation = pb.Conversation(
        id="t1", title="Trip", metadata_json=items.thread_metadata_json(thread)
    )
    conversation.created_at.FromDatetime(WHEN)

    assert items.conversation_to_thread(conversation) == thread


def test_a_conversation_without_title_or_metadata_is_an_active_untitled_thread() -> None:
    conversation = pb.Conversation(id="t1")

    thread = items.conversation_to_thread(conversation)

    assert thread.title is None and thread.status.type == "active" and thread.metadata == {}


def test_thread_metadata_that_does_not_validate_is_ignored() -> None:
    conversation = pb.Conversation(id="t1", metadata_json='{"status": {"type": "bogus"}}')

    assert items.conversation_to_thread(conversation).status.type == "active"
