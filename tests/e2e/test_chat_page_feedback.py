"""Thumbs up/down on the chat page, in a real headless Chromium through the gateway: a vote is
stored (the REST Message and the conversation's counts show it), a reload shows it pressed,
pressing it again clears it, and only a complete reply offers the buttons."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from devstack import Stack
from playwright.async_api import Page, expect

from tests.e2e import test_chat_page as chat_page_tests
from tests.e2e.test_chat_page import (
    PASSWORD,
    messages,
    new_email,
    screenshot,
    send,
    sign_up,
    wait_for_reply,
)

browser = chat_page_tests.browser  # the module's one Chromium
gateway_url, page = chat_page_tests.gateway_url, chat_page_tests.page


class Rest:
    """The same user's view of one conversation over the REST API."""

    def __init__(self, http: httpx.AsyncClient, conversation_id: str) -> None:
        self.http, self.conversation_id = http, conversation_id

    async def reply_feedback(self) -> Any:
        path = f"/api/chat/conversations/{self.conversation_id}/messages"
        items = (await self.http.get(path)).raise_for_status().json()["items"]
        return [m["feedback"] for m in items if m["role"] == "assistant"]

    async def counts(self) -> Any:
        path = f"/api/chat/conversations/{self.conversation_id}/feedback"
        return (await self.http.get(path)).raise_for_status().json()


@asynccontextmanager
async def rest_for(page: Page, stack: Stack, email: str) -> AsyncIterator[Rest]:
    match = re.search(r"#/c/([0-9a-f-]{36})$", page.url)
    assert match, f"no conversation in the address: {page.url}"
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as http:
        login = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        http.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['access_token']}"
        yield Rest(http, match.group(1))


async def test_a_thumbs_up_is_stored_shown_after_a_reload_and_cleared_by_a_second_click(
    page: Page, stack: Stack
) -> None:
    email = new_email()
    await sign_up(page, email)
    await send(page, "rate this reply")
    await wait_for_reply(page)
    reply = messages(page, "assistant").last
    thumbs_up = reply.get_by_role("button", name="Good reply")
    thumbs_down = reply.get_by_role("button", name="Bad reply")
    await expect(thumbs_up).to_have_attribute("aria-pressed", "false")
    await expect(thumbs_down).to_have_attribute("aria-pressed", "false")
    # A user's own message is not rated.
    await expect(messages(page, "user").get_by_role("button", name="Good reply")).to_have_count(0)

    await thumbs_up.click()

    await expect(thumbs_up).to_have_attribute("aria-pressed", "true")
    async with rest_for(page, stack, email) as rest:
        assert await rest.reply_feedback() == ["positive"]
        assert await rest.counts() == {"positive": 1, "negative": 0}
        await screenshot(page, "chat-feedback-up")

        await page.reload()
        reloaded = messages(page, "assistant").last
        await expect(reloaded.get_by_role("button", name="Good reply")).to_have_attribute(
            "aria-pressed", "true"
        )
        await expect(reloaded.get_by_role("button", name="Bad reply")).to_have_attribute(
            "aria-pressed", "false"
        )

        await reloaded.get_by_role("button", name="Good reply").click()

        await expect(reloaded.get_by_role("button", name="Good reply")).to_have_attribute(
            "aria-pressed", "false"
        )
        assert await rest.reply_feedback() == [None]
        assert await rest.counts() == {"positive": 0, "negative": 0}


async def test_thumbs_down_replaces_thumbs_up(page: Page, stack: Stack) -> None:
    email = new_email()
    await sign_up(page, email)
    await send(page, "not so good")
    await wait_for_reply(page)
    reply = messages(page, "assistant").last
    await reply.get_by_role("button", name="Good reply").click()
    await expect(reply.get_by_role("button", name="Good reply")).to_have_attribute(
        "aria-pressed", "true"
    )

    await reply.get_by_role("button", name="Bad reply").click()

    await expect(reply.get_by_role("button", name="Bad reply")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(reply.get_by_role("button", name="Good reply")).to_have_attribute(
        "aria-pressed", "false"
    )
    async with rest_for(page, stack, email) as rest:
        assert await rest.counts() == {"positive": 0, "negative": 1}
