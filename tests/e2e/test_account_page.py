"""The chat page's account menu in a real headless Chromium: change the password (a wrong
one is explained and changes nothing), log out everywhere, delete the account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from devstack import Stack
from playwright.async_api import Browser, Page, expect

from tests.e2e import test_chat_page as chat_page_tests
from tests.e2e.test_chat_page import PASSWORD, chat_page, new_email, screenshot, sign_up

browser = chat_page_tests.browser  # the module's one Chromium

NEW_PASSWORD = "a different passphrase"


@pytest.fixture
async def page(browser: Browser, stack: Stack) -> AsyncIterator[Page]:
    async with chat_page(browser, stack.gateway_url) as page:
        yield page


async def account_action(page: Page, name: str) -> None:
    await page.get_by_text("Account", exact=True).click()
    await page.get_by_role("button", name=name).click()


async def log_in(page: Page, email: str, password: str) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


async def test_a_password_change_needs_the_current_password_and_logs_out(page: Page) -> None:
    email = new_email()
    await sign_up(page, email)

    await account_action(page, "Change password")
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Current password").fill("not my password")
    await dialog.get_by_label("New password").fill(NEW_PASSWORD)
    await dialog.get_by_role("button", name="Change password").click()
    await expect(dialog.get_by_role("alert")).to_have_text("That is not your password.")

    await dialog.get_by_label("Current password").fill(PASSWORD)
    await dialog.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await log_in(page, email, NEW_PASSWORD)
    await expect(page.get_by_text(email)).to_be_visible()


async def test_log_out_everywhere_returns_to_the_login_form(page: Page) -> None:
    await sign_up(page, new_email())
    await page.get_by_text("Account", exact=True).click()
    await screenshot(page, "account-menu")
    await page.get_by_text("Account", exact=True).click()  # closed again

    await account_action(page, "Log out everywhere")

    await expect(page.get_by_role("button", name="Log in")).to_be_visible()


async def test_a_deleted_account_cannot_log_in_again(page: Page, stack: Stack) -> None:
    email = new_email()
    await sign_up(page, email)

    await account_action(page, "Delete account")
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Password").fill(PASSWORD)
    await screenshot(page, "delete-account")
    await dialog.get_by_role("button", name="Delete account").click()

    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    async with httpx.AsyncClient(base_url=stack.gateway_url) as api:
        login = await api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 401
