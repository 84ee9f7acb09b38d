"""Chat Completions through the real `openai` client: the reply says what reached the model."""

from __future__ import annotations

import openai


async def stream_text(client: openai.AsyncOpenAI, messages: list[dict[str, str]]) -> list[str]:
    stream = await client.chat.completions.create(
        model="offline-model",
        messages=messages,
        stream=True,  # type: ignore[arg-type]
    )
    return [c.choices[0].delta.content or "" async for c in stream if c.choices]


async def test_streamed_reply_quotes_the_last_user_message_word_by_word(
    client: openai.AsyncOpenAI,
) -> None:
    deltas = await stream_text(
        client,
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "hello\nthere"},
        ],
    )
    assert "".join(deltas) == 'You said: "hello\nthere". I received 4 messages.'
    assert deltas[1:4] == ["You", " said:", ' "hello']
