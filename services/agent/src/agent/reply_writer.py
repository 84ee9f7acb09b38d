"""The stored side of a streaming reply (see ReplyWriter)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import TypeVar
from uuid import UUID

import orjson
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import DomainError, FailedPrecondition

from agent.background import shielded, spawn
from agent.conversations_client import ConversationsClient
from agent.model import ToolCall, Usage

log = logging.getLogger(__name__)
T = TypeVar("T")


class ReplyWriter:
    """Keeps one stored assistant message current while it is generated: text in batches
    (at most one write in flight, never on the stream's path), heartbeats, and one
    final write that a cancelled request cannot stop.

    A reply may be ended elsewhere: cancelled by its user, or swept because its lease
    lapsed. The next write (text or heartbeat) is then refused (FailedPrecondition: a
    final state is final); from there the writer is `ended`, writes nothing more, and
    cuts short the model stream read through `until_ended`."""

    def __init__(
        self,
        conversations: ConversationsClient,
        user_id: UUID,
        message: pb.Message,
        flush_seconds: float,
    ) -> None:
        self._conversations = conversations
        self._user_id = user_id
        self._flush_seconds = flush_seconds
        self.message = message
        self.parts: list[str] = []
        self.usage: Usage | None = None
        self.finished = False
        self.ended = False  # elsewhere: see the class docstring
        self._waiting: asyncio.Timeout | None = None  # around the wait for a model event
        self._last_flush = time.monotonic()
        self.last_write = time.monotonic()  # of anything: content or a heartbeat
        self._flush: asyncio.Task[None] | None = None

    async def until_ended(self, events: AsyncIterable[T]) -> AsyncIterator[T]:
        """`events` (the model's), until the reply is ended elsewhere: the wait for the
        next event is then cut short at once, and the caller closes the model stream."""
        iterator = aiter(events)
        while not self.ended:
            try:
                async with asyncio.timeout(None) as self._waiting:
                    event = await anext(iterator)
            except StopAsyncIteration:
                return
            except TimeoutError:
                if self.ended:  # our own cut (see _ended_elsewhere)
                    return
                raise
            finally:
                self._waiting = None
            yield event

    def add(self, text: str) -> None:
        self.parts.append(text)
        if self.ended:  # the stored state is final: nothing more to write
            return
        now = time.monotonic()
        # One write at a time, off the stream's path: a slow store never slows the tokens.
        if now - self._last_flush >= self._flush_seconds and self._flush is None:
            self._last_flush = now
            self._flush = spawn(self._write_content("".join(self.parts)))

    async def heartbeat(self) -> None:
        request = pb.UpdateMessageRequest(
            conversation_id=self.message.conversation_id, message_id=self.message.id
        )
        self.last_write = time.monotonic()
        try:
            await self._conversations.update_message(self._user_id, request)
        except FailedPrecondition:
            self._ended_elsewhere()
        except Exception as exc:  # the next one, or the final write, will tell
            log.warning("heartbeat of reply %s failed: %s", self.message.id, exc)

    async def _write_content(self, content: str) -> None:
        request = pb.UpdateMessageRequest(
            conversation_id=self.message.conversation_id,
            message_id=self.message.id,
            content=content,
        )
        self.last_write = time.monotonic()
        try:
            await self._conversations.update_message(self._user_id, request)
        except FailedPrecondition:
            self._ended_elsewhere()
        except Exception as exc:  # the final write will carry the text anyway
            log.warning("could not store partial reply %s: %s", self.message.id, exc)
        finally:
            self._flush = None

    def _ended_elsewhere(self) -> None:
        if self.ended:
            return
        self.ended = True
        log.info("reply %s was ended elsewhere (cancelled or swept): stopping", self.message.id)
        if self._waiting is not None:  # expire now: cancels the wait for the next event
            self._waiting.reschedule(asyncio.get_running_loop().time())

    async def finish(self, status: str, *, tool_calls: list[ToolCall] | None = None) -> pb.Message:
        """The final write (status, full text, usage), shielded: a cancelled request
        must not leave the reply `in_progress`."""
        self.finished = True
        return await shielded(self._finish(status, tool_calls))

    async def _finish(self, status: str, tool_calls: list[ToolCall] | None) -> pb.Message:
        if self._flush is not None:
            await asyncio.wait([self._flush])
        if self.ended:  # the stored final state stands: only the usage is still owed
            return await self._late_usage()
        request = self._update()
        request.content, request.status = "".join(self.parts), status
        if tool_calls:
            request.tool_calls_json = orjson.dumps([c.as_chat() for c in tool_calls]).decode()
        try:
            self.message = await self._write_final(request)
        except FailedPrecondition:
            # The reply had already ended (the stale-reply sweeper, an explicit cancel):
            # a final state is final, so report the one stored.
            log.warning("reply %s had already ended; keeping its stored state", self.message.id)
            return await self._late_usage()
        return self.message

    def _update(self) -> pb.UpdateMessageRequest:
        """An UpdateMessage of this reply with the usage known so far."""
        request = pb.UpdateMessageRequest(
            conversation_id=self.message.conversation_id, message_id=self.message.id
        )
        if self.usage is not None:
            request.usage.input_tokens = self.usage.input_tokens
            request.usage.output_tokens = self.usage.output_tokens
            request.usage.model = self.usage.model
        return request

    async def _late_usage(self) -> pb.Message:
        """The stored state of a reply ended elsewhere, after sending the tokens it spent:
        conversations takes a usage-only write once on a reply ended before its final
        write, so the usage ledger counts what the model was paid for."""
        if self.usage is not None:
            try:
                self.message = await self._conversations.update_message(
                    self._user_id, self._update()
                )
                return self.message
            except DomainError as exc:  # it had its usage (or is gone): the state stands
                log.info("usage of ended reply %s not stored: %s", self.message.id, exc)
        return await self._stored()

    async def _stored(self) -> pb.Message:
        self.message = await self._conversations.get_message(
            self._user_id, self.message.conversation_id, self.message.id
        )
        return self.message

    async def _write_final(self, request: pb.UpdateMessageRequest) -> pb.Message:
        try:
            return await self._conversations.update_message(self._user_id, request)
        except FailedPrecondition:
            raise
        except DomainError as exc:
            log.warning("final write of reply %s failed, retrying: %s", self.message.id, exc)
            await asyncio.sleep(0.2)
            return await self._conversations.update_message(self._user_id, request)
