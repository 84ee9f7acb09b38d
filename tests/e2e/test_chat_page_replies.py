"""The chat page's replies in a real headless Chromium: Markdown rendered and sanitised, a reply
that keeps streaming across a reload (and a dropped events stream), Stop, and landing ready to
type. The offline model echoes the user's text, so what the user types is what the model says."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from devstack import Stack
from playwright.async_api import Browser, Page, Request, Route, expect

from tests.e2e import test_chat_page as chat_page_tests
from tests.e2e.test_chat_page import (
    PASSWORD,
    chat_page,
    messages,
    new_email,
    screenshot,
    send,
    sign_up,
    wait_for_reply,
)

browser = chat_page_tests.browser  # the module's one Chromium

MARKDOWN = """Here is some code:

```python
print("hi")
```

| name | count |
|------|-------|
| apples | 3 |

- first item
- second item

[the docs](https://example.com/docs)

<img src=x onerror="window.pwned = 'img'">

<script>window.pwned = 'script'</script>

And <b>bold?</b> done"""


@pytest.fixture
async def page(browser: Browser, stack: Stack) -> AsyncIterator[Page]:
    async with chat_page(browser, stack.gateway_url) as page:
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        yield page


async def test_a_reply_is_rendered_as_markdown_and_markup_in_it_stays_inert(page: Page) -> None:
    await sign_up(page, new_email())
    await send(page, MARKDOWN)
    await wait_for_reply(page)
    reply = messages(page, "assistant").last.locator(".message-body")

    await expect(reply.locator("pre code")).to_have_text('print("hi")\n')
    await expect(reply.locator("table th")).to_have_text(["name", "count"])
    await expect(reply.locator("table td")).to_have_text(["apples", "3"])
    await expect(reply.locator("ul > li")).to_have_text(["first item", "second item"])
    link = reply.get_by_role("link", name="the docs")
    await expect(link).to_have_attribute("href", "https://example.com/docs")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    # Markup the model wrote is shown as text, never run.
    await expect(reply).to_contain_text("<img src=x onerror=")
    await expect(reply).to_contain_text("<script>window.pwned = 'script'</script>")
    await expect(reply).to_contain_text("And <b>bold?</b> done")
    await expect(page.locator("#messages img, #messages script, #messages b")).to_have_count(0)
    assert await page.locator("#messages [onerror]").count() == 0
    assert await page.evaluate("window.pwned") is None
    # The user's own message stays plain text.
    user = messages(page, "user").locator(".message-body")
    await expect(user).to_contain_text('```python\nprint("hi")\n```')
    await expect(user.locator("pre, table, a")).to_have_count(0)

    await reply.get_by_role("button", name="Copy code").click()
    await expect(reply.get_by_role("button", name="Copy code")).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == 'print("hi")\n'
    await screenshot(page, "20-markdown-reply")
    await messages(page, "assistant").last.screenshot(
        path=str(chat_page_tests.SCREENSHOTS / "20-markdown-reply-whole.png")
    )


async def test_a_reload_mid_reply_keeps_streaming_into_the_page(page: Page) -> None:
    await sign_up(page, new_email())
    await send(page, "Long story [[slow:10]] [[words:40]]")
    reply = messages(page, "assistant").last
    await expect(reply.locator(".message-body")).to_contain_text("You said")
    attached: list[Request] = []
    page.on("request", lambda r: attached.append(r) if r.url.endswith("/events") else None)

    await page.reload()

    reply = messages(page, "assistant").last
    await expect(reply).to_have_attribute("data-status", "in_progress")
    await expect(page.get_by_role("button", name="Stop")).to_be_visible()
    before = await reply.locator(".message-body").inner_text()
    await expect(reply.locator(".message-body")).not_to_have_text(before)  # still growing
    await screenshot(page, "21-streaming-after-reload")
    final = await wait_for_reply(page)
    assert final.startswith('You said: "Long story [[slow:10]] [[words:40]]".'), final
    assert final.endswith("w39 w40") and final.count("w1 ") == 1, final
    assert attached, "the page did not attach to the reply's events stream"
    await expect(page.get_by_role("button", name="Send")).to_be_visible()


async def test_a_dropped_events_stream_resumes_without_repeating_text(page: Page) -> None:
    await sign_up(page, new_email())
    await send(page, "Resume me [[slow:10]] [[words:30]]")
    await expect(messages(page, "assistant").last.locator(".message-body")).to_contain_text("said")
    resumed_from: list[str | None] = []

    async def cut_after_three_deltas(route: Route) -> None:
        # The first attach hears three pieces, then the connection ends early.
        response = await route.fetch()
        events = (await response.text()).split("\n\n")
        deltas = [e for e in events if e.startswith("event: delta")][:3]
        await route.fulfill(response=response, body="".join(f"{e}\n\n" for e in deltas))

    def note_resume(request: Request) -> None:
        if request.url.endswith("/events"):
            resumed_from.append(request.headers.get("last-event-id"))

    await page.route("**/events", cut_after_three_deltas, times=1)
    page.on("request", note_resume)
    await page.reload()

    final = await wait_for_reply(page)
    assert final == (
        'You said: "Resume me [[slow:10]] [[words:30]]". I received 2 messages.'
        + "".join(f" w{i}" for i in range(1, 31))
    ), final
    assert len(resumed_from) >= 2, resumed_from
    assert int(resumed_from[1] or 0) > int(resumed_from[0] or 0), resumed_from


async def test_stop_ends_a_streaming_reply_as_interrupted(page: Page) -> None:
    await sign_up(page, new_email())
    await send(page, "Go on forever [[slow:5]] [[words:200]]")
    reply = messages(page, "assistant").last
    await expect(reply.locator(".message-body")).to_contain_text("said")

    await page.get_by_role("button", name="Stop").click()

    await expect(reply).to_have_attribute("data-status", "interrupted")
    await expect(reply.locator(".badge")).to_have_text("Interrupted")
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
    await screenshot(page, "22-stopped")
    stopped = await reply.locator(".message-body").inner_text()
    assert stopped.startswith("You said") and not stopped.endswith("w200"), stopped
    await page.reload()  # the server ended it, not just this page
    await expect(messages(page, "assistant").last).to_have_attribute("data-status", "interrupted")


async def test_stop_ends_a_reply_followed_after_a_reload(page: Page) -> None:
    await sign_up(page, new_email())
    await send(page, "Keep talking [[slow:5]] [[words:200]]")
    await expect(messages(page, "assistant").last.locator(".message-body")).to_contain_text("said")
    await page.reload()
    reply = messages(page, "assistant").last
    await expect(reply).to_have_attribute("data-status", "in_progress")

    await page.get_by_role("button", name="Stop").click()

    await expect(reply).to_have_attribute("data-status", "interrupted")
    await page.reload()
    await expect(messages(page, "assistant").last).to_have_attribute("data-status", "interrupted")


async def test_a_new_user_lands_on_a_draft_and_sends_without_a_click(page: Page) -> None:
    await sign_up(page, new_email())
    await expect(page.get_by_role("heading", name="New conversation")).to_be_visible()
    await expect(page.get_by_text("No conversations yet.")).to_be_visible()
    await screenshot(page, "23-landing-draft")

    await page.keyboard.type("Hello from the draft")
    await page.keyboard.press("Enter")

    assert 'You said: "Hello from the draft".' in await wait_for_reply(page)
    await expect(page.locator("#conversation-list a[aria-current=page]")).to_have_text(
        "Hello from the draft"
    )
    assert re.search(r"#/c/[0-9a-f-]{36}$", page.url), page.url
    await expect(page.locator("#conversation-list li")).to_have_count(1)


async def test_a_returning_user_lands_in_the_newest_conversation(page: Page, stack: Stack) -> None:
    email = new_email()
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as api:
        (
            await api.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        ).raise_for_status()
        login = await api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.raise_for_status().json()['access_token']}"}
        for title in ("Older", "Newest"):
            created = await api.post(
                "/api/chat/conversations", json={"title": title}, headers=headers
            )
            created.raise_for_status()

    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()

    await expect(page.get_by_role("heading", name="Newest")).to_be_visible()
    await expect(page.get_by_label("Message", exact=True)).to_be_focused()
    await send(page, "straight in")
    assert 'You said: "straight in".' in await wait_for_reply(page)
    await expect(page.locator("#conversation-list li")).to_have_count(2)
