"""The chat page in a real headless Chromium, through the real gateway and the whole stack.

Screenshots of the main views are kept in test-artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from chat_testkit.tools import require_tool
from devstack import RateLimit, Stack
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    Route,
    ViewportSize,
    async_playwright,
    expect,
)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts")) / "screenshots"
PASSWORD = "correct horse battery"
WIDE = ViewportSize(width=1100, height=720)
NARROW = ViewportSize(width=390, height=760)


def chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else None
    return require_tool(found, f"no Chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="module")
def gateway_url(stack: Stack) -> str:
    return stack.gateway_url


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium(), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


class PageWatch:
    """What a page did that it must not: uncaught errors, requests leaving the gateway."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.errors: list[str] = []
        self.foreign_requests: list[str] = []

    def on_console(self, message: ConsoleMessage) -> None:
        # A refused request (404, 429) is reported by Chromium; the page handles those itself.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    def on_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign_requests.append(request.url)


@contextlib.asynccontextmanager
async def chat_page(browser: Browser, url: str) -> AsyncIterator[Page]:
    """A fresh browser profile (no stored session) on the chat page at url, watched for faults."""
    context = await browser.new_context(viewport=WIDE)
    page = await context.new_page()
    watch = PageWatch(f"{urlsplit(url).scheme}://{urlsplit(url).netloc}")
    page.on("console", watch.on_console)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    page.on("request", watch.on_request)
    await page.goto(f"{url}/")
    yield page
    await context.close()
    assert not watch.errors, f"the page logged errors: {watch.errors}"
    assert not watch.foreign_requests, (
        f"the page called outside the gateway: {watch.foreign_requests}"
    )


@pytest.fixture
async def page(browser: Browser, gateway_url: str) -> AsyncIterator[Page]:
    async with chat_page(browser, gateway_url) as page:
        yield page


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def new_email() -> str:
    return f"page-{uuid.uuid4().hex[:12]}@example.com"


async def sign_up(page: Page, email: str) -> None:
    await page.get_by_role("button", name="Create an account instead").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    # A new account lands on an empty draft, ready to type.
    await expect(page.get_by_label("Message", exact=True)).to_be_focused()
    await expect(page.get_by_text(email)).to_be_visible()


async def start_conversation(page: Page) -> None:
    await page.get_by_role("button", name="New conversation").click()
    await expect(page.get_by_label("Message", exact=True)).to_be_focused()


async def send(page: Page, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send").click()


def messages(page: Page, role: str) -> Locator:
    return page.locator(f"#messages li.message.{role}")


async def wait_for_reply(page: Page) -> str:
    """The text of the last assistant reply, once it is complete."""
    reply = messages(page, "assistant").last
    await expect(reply).to_have_attribute("data-status", "complete", timeout=15_000)
    return await reply.locator(".message-body").inner_text()


async def test_a_reply_streams_into_the_page_before_it_is_finished(page: Page) -> None:
    await screenshot(page, "01-log-in")
    await sign_up(page, new_email())
    await start_conversation(page)
    await send(page, "Tell me a story [[slow:20]] [[words:20]]")

    reply = messages(page, "assistant").last
    await expect(reply).to_have_attribute("aria-busy", "true")
    await expect(reply.locator(".message-body")).to_contain_text("You said")
    partial = await reply.locator(".message-body").inner_text()
    await screenshot(page, "02-reply-streaming")
    final = await wait_for_reply(page)

    assert "w20" not in partial, f"the reply was only shown once finished: {partial!r}"
    assert final.startswith(partial.strip()), (partial, final)
    assert final.startswith('You said: "Tell me a story [[slow:20]] [[words:20]]".')
    assert final.endswith("w19 w20")
    await expect(reply).to_have_attribute("aria-busy", "false")
    # The first message names the conversation in the list.
    await expect(page.locator("#conversation-list a[aria-current=page]")).to_have_text(
        "Tell me a story [[slow:20]] [[words:20]]"
    )
    await screenshot(page, "03-reply-complete")


async def test_the_history_is_still_there_after_a_reload(page: Page) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)
    await send(page, "Remember this")
    await wait_for_reply(page)

    await page.reload()

    await expect(messages(page, "user")).to_have_count(1)
    await expect(messages(page, "user").locator(".message-body")).to_have_text("Remember this")
    await expect(messages(page, "assistant").locator(".message-body")).to_contain_text(
        'You said: "Remember this".'
    )
    await expect(messages(page, "assistant")).to_have_attribute("data-status", "complete")


async def test_enter_sends_and_shift_enter_starts_a_new_line(page: Page) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)
    box = page.get_by_label("Message", exact=True)

    await box.press_sequentially("first line")
    await box.press("Shift+Enter")
    await box.press_sequentially("second line")
    await box.press("Enter")

    await expect(messages(page, "user").locator(".message-body")).to_have_text(
        "first line\nsecond line"
    )
    assert 'You said: "first line\nsecond line".' in await wait_for_reply(page)
    await expect(box).to_have_value("")


async def test_another_user_does_not_see_the_first_users_conversation(page: Page) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)
    await send(page, "Alice's secret plans")
    await wait_for_reply(page)
    alices_address = page.url

    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_label("Email")).to_be_focused()
    await sign_up(page, new_email())

    await expect(page.get_by_text("No conversations yet.")).to_be_visible()
    await expect(page.get_by_text("Alice's secret plans")).to_have_count(0)
    await page.goto(alices_address)
    await expect(page.get_by_text("That conversation no longer exists.")).to_be_visible()
    await expect(page.get_by_text("Alice's secret plans")).to_have_count(0)
    await screenshot(page, "04-second-user")


async def test_a_reply_still_being_written_in_another_tab_is_followed_until_done(
    page: Page,
) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)
    await send(page, "Take your time [[slow:10]] [[words:12]]")
    await expect(messages(page, "assistant").last).to_have_attribute("aria-busy", "true")

    # A second tab of the same browser opens the conversation while the first still streams.
    other = await page.context.new_page()
    await other.goto(page.url)
    reply = messages(other, "assistant").last
    await expect(reply).to_have_attribute("data-status", "in_progress")
    await expect(reply.locator(".badge")).to_have_text("Writing…")
    await screenshot(other, "05-followed-in-another-tab")

    final = await wait_for_reply(other)
    assert final.endswith("w11 w12"), final
    await wait_for_reply(page)


async def test_a_failed_reply_is_marked_and_explained(page: Page) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)
    await send(page, "Please fail [[fail:500]]")

    reply = messages(page, "assistant").last
    await expect(reply).to_have_attribute("data-status", "failed", timeout=15_000)
    await expect(reply.locator(".badge")).to_have_text("Failed")
    await expect(reply.locator(".message-note")).not_to_be_empty()
    await expect(messages(page, "user").locator(".message-body")).to_have_text(
        "Please fail [[fail:500]]"
    )
    await screenshot(page, "06-failed-reply")


async def test_the_page_fits_a_narrow_screen(page: Page) -> None:
    await page.set_viewport_size(NARROW)
    await sign_up(page, new_email())
    await send(page, "Small screens too")  # the draft it landed on
    await wait_for_reply(page)
    await screenshot(page, "07-narrow-chat")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    await page.get_by_role("button", name="All conversations").click()
    await expect(page.get_by_role("link", name="Small screens too")).to_be_visible()
    await screenshot(page, "08-narrow-list")


async def test_a_conversation_can_be_renamed_and_deleted(page: Page) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)

    await page.get_by_role("button", name="Rename").click()
    await page.get_by_label("Conversation title").fill("Trip ideas")
    await page.get_by_label("Conversation title").press("Enter")
    await expect(page.get_by_role("heading", name="Trip ideas")).to_be_visible()
    await expect(page.get_by_role("link", name="Trip ideas")).to_be_visible()

    await page.get_by_role("button", name="Delete").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(page.get_by_text("No conversations yet.")).to_be_visible()
    await expect(page.get_by_role("button", name="New conversation")).to_be_focused()
    await page.reload()
    await expect(page.get_by_text("No conversations yet.")).to_be_visible()


async def test_more_conversations_load_on_request(page: Page, gateway_url: str) -> None:
    email = new_email()
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as api:
        signup = await api.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        signup.raise_for_status()
        login = await api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for n in range(1, 23):  # one page is 20
            created = await api.post(
                "/api/chat/conversations", json={"title": f"Chat {n}"}, headers=headers
            )
            created.raise_for_status()

    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    links = page.locator("#conversation-list a")
    await expect(links).to_have_count(20)
    await expect(links.first).to_have_text("Chat 22")

    await page.get_by_role("button", name="Load more").click()
    await expect(links).to_have_count(22)
    await expect(links.last).to_have_text("Chat 1")
    await expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    await expect(page.get_by_role("link", name="Chat 2", exact=True)).to_be_focused()


async def test_a_send_whose_answer_was_lost_is_retried_without_a_double(page: Page) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)

    async def lose_the_answer(route: Route) -> None:
        await route.fetch()  # the server runs the turn; the page never hears back
        await route.abort("connectionreset")

    await page.route("**/messages", lose_the_answer, times=1)
    await send(page, "Only once")
    user = messages(page, "user")
    await expect(user).to_have_attribute("data-status", "unsent")
    await expect(user.locator(".message-note")).to_contain_text("Can't reach the server")
    await screenshot(page, "09-not-sent")

    await user.get_by_role("button", name="Retry").click()
    assert 'You said: "Only once".' in await wait_for_reply(page)
    await page.reload()
    await expect(messages(page, "assistant")).to_have_count(1)
    await expect(messages(page, "user")).to_have_count(1)


async def test_a_message_over_the_size_limit_says_it_is_too_large(page: Page) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)
    # Typed in one go (fill() of 1 MiB is slow): the gateway refuses bodies over 1 MiB.
    await page.get_by_label("Message", exact=True).evaluate(
        "box => { box.value = 'x'.repeat(1024 * 1024 + 1); }"
    )
    await page.get_by_role("button", name="Send").click()

    user = messages(page, "user")
    await expect(user).to_have_attribute("data-status", "unsent")
    await expect(user.locator(".message-note")).to_have_text(
        "That is too large to send. Please shorten it."
    )
    await expect(user.get_by_role("button", name="Edit and resend")).to_be_visible()


async def test_a_send_over_the_rate_limit_says_when_to_retry(
    browser: Browser, stack: Stack
) -> None:
    # Two sends a minute (one, plus a burst of one): the third is refused for 30 s.
    with stack.extra_gateway(send_rate=RateLimit("2r/m", burst=1)) as strict_url:
        async with chat_page(browser, strict_url) as page:
            await sign_up(page, new_email())
            await start_conversation(page)
            for text in ("one", "two"):
                await send(page, text)
                await wait_for_reply(page)
            await send(page, "three")

            refused = messages(page, "user").last
            await expect(refused).to_have_attribute("data-status", "unsent")
            await expect(refused.locator(".message-note")).to_have_text(
                "Too many requests. Try again in 30 seconds."
            )
            await expect(refused.get_by_role("button", name="Retry")).to_be_disabled()
            await screenshot(page, "10-rate-limited")


async def test_an_expired_access_token_is_refreshed_without_asking_to_log_in(page: Page) -> None:
    await sign_up(page, new_email())
    refreshes: list[str] = []
    page.on("request", lambda r: refreshes.append(r.url) if "/api/auth/refresh" in r.url else None)

    async def expired(route: Route) -> None:
        await route.fulfill(status=401, json={"detail": "token expired"})

    # The gateway answers the next call as it would once the access token has expired.
    await page.route("**/api/chat/conversations", expired, times=1)
    await start_conversation(page)

    assert len(refreshes) == 1, refreshes
    await send(page, "Still me")
    assert 'You said: "Still me".' in await wait_for_reply(page)


async def test_a_reply_whose_stream_broke_off_is_completed_from_the_server(page: Page) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)

    async def cut_short(route: Route) -> None:
        # The turn runs to the end on the server; the page gets only its first two events.
        response = await route.fetch()
        first_two = (await response.text()).split("\n\n")[:2]
        await route.fulfill(response=response, body="".join(f"{e}\n\n" for e in first_two))

    await page.route("**/messages", cut_short, times=1)
    await send(page, "Cut me off")

    assert 'You said: "Cut me off".' in await wait_for_reply(page)
    await expect(messages(page, "assistant").locator(".message-note")).to_be_hidden()


async def test_markup_in_a_message_is_shown_as_text(page: Page) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)
    await send(page, "<b>bold</b> <img src=x>")

    assert "<b>bold</b> <img src=x>" in await wait_for_reply(page)
    await expect(messages(page, "user").locator(".message-body")).to_have_text(
        "<b>bold</b> <img src=x>"
    )
    await expect(page.locator("#messages b, #messages img")).to_have_count(0)


async def test_a_search_hit_opens_its_conversation_at_the_message(page: Page) -> None:
    needle = "zq" + uuid.uuid4().hex[:10]
    await sign_up(page, new_email())
    await start_conversation(page)
    await send(page, f"<i>where</i> is {needle}")
    await wait_for_reply(page)
    await start_conversation(page)  # the hit's conversation is no longer the open one

    await page.get_by_label("Search your messages").fill(needle[:8])
    hit = page.locator("#search-results button.search-hit").filter(has_text="user")
    await expect(hit.locator("mark")).to_have_text(needle)
    await expect(page.locator("#search-results i")).to_have_count(0)
    await screenshot(page, "search-results")
    await hit.click()

    target = messages(page, "user").filter(has_text=needle)
    await expect(target).to_have_class(re.compile(r"\bsearch-target\b"))
    await expect(target).to_be_focused()
    await expect(target).to_be_in_viewport()


async def test_a_conversation_and_the_account_download_as_files(page: Page) -> None:
    await sign_up(page, new_email())
    await start_conversation(page)
    await send(page, "keep this for later")
    await wait_for_reply(page)

    async with page.expect_download() as conversation_download:
        await page.get_by_role("button", name="Download", exact=True).click()
    markdown = await conversation_download.value
    assert re.fullmatch(r"keep-this-for-later-[0-9a-f-]{36}\.md", markdown.suggested_filename)
    text = downloaded_text(await markdown.path())
    assert text.startswith("# keep this for later\n") and "\n## Assistant, " in text

    async with page.expect_download() as account_download:
        await page.get_by_role("button", name="Download my data").click()
    lines = await account_download.value
    assert re.fullmatch(r"chat-export-\d{4}-\d{2}-\d{2}\.jsonl", lines.suggested_filename)
    records = [json.loads(line) for line in downloaded_text(await lines.path()).splitlines()]
    assert [r["type"] for r in records] == ["conversation", "message", "message"]


def downloaded_text(path: Path) -> str:
    return path.read_text()
