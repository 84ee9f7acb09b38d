"""A search hit far back in a long conversation opens at the message on the chat page (a
real headless Chromium through the gateway): the page around it is loaded at once
(`messages?around=`), however far back it is, and pages on both ways from there."""

from __future__ import annotations

import re
import uuid

import psycopg
from devstack import Stack
from playwright.async_api import Page, expect

from tests.e2e import test_chat_page as chat_page_tests
from tests.e2e.test_chat_page import (
    messages,
    new_email,
    send,
    sign_up,
    start_conversation,
    wait_for_reply,
)

browser = chat_page_tests.browser  # the module's one Chromium
gateway_url, page = chat_page_tests.gateway_url, chat_page_tests.page

# More than the old reveal loop's reach (20 earlier pages of 50 after the first 50).
NEWER_MESSAGES = 1_200
WINDOW = 50


def bury(stack: Stack, marker: str, needle: str) -> None:
    """In the conversation holding `marker`: WINDOW older messages, one with `needle`,
    then NEWER_MESSAGES ("filler 1"…)."""
    with psycopg.connect(stack.database_url, autocommit=True) as db:
        db.execute(
            "WITH c AS (SELECT conversation_id AS id, user_id FROM messages"
            "           WHERE content LIKE %(marker)s LIMIT 1)"
            " INSERT INTO messages (id, conversation_id, user_id, role, content, status)"
            " SELECT gen_random_uuid(), c.id, c.user_id, 'user',"
            "   CASE WHEN i = 0 THEN %(needle)s WHEN i < 0 THEN 'older ' || -i"
            "   ELSE 'filler ' || i END, 'complete'"
            " FROM c, generate_series(-CAST(%(older)s AS integer), CAST(%(newer)s AS integer))"
            " AS i ORDER BY i",
            {
                "marker": f"%{marker}%",
                "needle": f"the answer is {needle}",
                "older": WINDOW,
                "newer": NEWER_MESSAGES,
            },
        )


async def test_a_hit_deeper_than_a_thousand_messages_opens_at_the_message(
    page: Page, stack: Stack
) -> None:
    marker, needle = uuid.uuid4().hex, "zq" + uuid.uuid4().hex[:10]
    await sign_up(page, new_email())
    await start_conversation(page)
    await send(page, f"start {marker}")
    await wait_for_reply(page)
    bury(stack, marker, needle)
    await start_conversation(page)  # the long conversation is not the open one

    await page.get_by_label("Search your messages").fill(needle)
    hit = page.locator("#search-results button.search-hit").filter(has_text="user")
    await hit.click()

    target = messages(page, "user").filter(has_text=needle)
    await expect(target).to_have_class(re.compile(r"\bsearch-target\b"))
    await expect(target).to_be_focused()
    await expect(target).to_be_in_viewport()
    await expect(page.locator("#messages li[data-id]")).to_have_count(WINDOW)
    assert "no longer in this conversation" not in await page.content()
    # A window into the past: no composer (a message would land after a gap) until the
    # window is paged forward; older messages on request as usual.
    await expect(page.get_by_label("Message", exact=True)).to_be_hidden()
    await expect(page.get_by_role("button", name="Load earlier messages")).to_be_visible()
    await page.get_by_role("button", name="Load newer messages").click()
    await expect(page.locator("#messages li[data-id]")).to_have_count(2 * WINDOW)
    await expect(messages(page, "user").last).to_have_text(re.compile(rf"filler {WINDOW + 24}\b"))
    # What is left before the window fits one page: back to the conversation's start.
    await page.get_by_role("button", name="Load earlier messages").click()
    await expect(messages(page, "user").first).to_have_text(re.compile(rf"start {marker}"))
    await expect(page.get_by_role("button", name="Load earlier messages")).to_be_hidden()
