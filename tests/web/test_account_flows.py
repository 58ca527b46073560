"""Sign-up (with its confirmation) and password reset on the demo page, in Debian's Chromium, on
Amplify v5 and v6: each ends with a login whose session Amplify itself reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from cognito_gate.cognito.local import create_user, emulator_client
from cognito_gate.cognito.local_codes import RESET, SIGNUP, latest_code

from .conftest import DemoPage

pytestmark = pytest.mark.browser

AMPLIFY = ["v5", "v6"]


def logged_in_as(demo: DemoPage, username: str) -> None:
    expect(demo.page.locator("#auth-state")).to_have_attribute("data-state", "signed-in")
    session = demo.amplify_session()
    assert session is not None
    assert session["username"] == username
    expect(demo.page.locator("#me-status")).to_have_attribute("data-status", "200")


@pytest.mark.parametrize("amplify", AMPLIFY)
def test_sign_up_confirm_and_log_in(
    gateway: Any, demo_page: Callable[[str], DemoPage], amplify: str
) -> None:
    demo = demo_page(gateway.url)
    demo.open(amplify)
    page = demo.page
    username = f"new-{amplify}"
    password = "Brand-new-passw0rd!"

    page.click("#show-signup")
    expect(page.locator("#login-section")).to_be_hidden()
    page.fill("#signup-username", username)
    page.fill("#signup-email", f"{username}@example.com")
    page.fill("#signup-password", "weak")
    with page.expect_response(f"{gateway.url}/auth/signup") as refused:
        page.click("#signup-button")
    assert refused.value.status == 400
    expect(page.locator("#signup-message")).to_have_text(
        "Password did not conform with policy: Password not long enough"
    )

    page.fill("#signup-password", password)
    with page.expect_response(f"{gateway.url}/auth/signup") as created:
        page.click("#signup-button")
    assert created.value.status == 201
    expect(page.locator("#confirm-form")).to_be_visible()
    expect(page.locator("#signup-message")).to_contain_text("n***@e*** (email)")
    demo.screenshot(f"web-sign-up-code-{amplify}.png")

    code = latest_code(gateway.pool.user_pool_id, username, SIGNUP)
    page.fill("#confirm-code", f"{(int(code) + 1) % 1_000_000:06d}")
    page.click("#confirm-button")
    expect(page.locator("#signup-message")).to_have_text(
        "That code is wrong. Check it and try again."
    )
    page.fill("#confirm-code", code)
    with page.expect_response(f"{gateway.url}/auth/confirm-signup") as confirmed:
        page.click("#confirm-button")
    assert confirmed.value.status == 204

    expect(page.locator("#login-section")).to_be_visible()
    expect(page.locator("#login-message")).to_have_text("Your account is confirmed. Log in.")
    expect(page.locator("#username")).to_have_value(username)
    page.fill("#password", password)
    page.click("#login-button")
    logged_in_as(demo, username)
    demo.screenshot(f"web-signed-up-{amplify}.png")
    assert demo.errors == []


@pytest.mark.parametrize("amplify", AMPLIFY)
def test_forgot_password_reset_and_log_in(
    gateway: Any, demo_page: Callable[[str], DemoPage], amplify: str
) -> None:
    username = f"forgetful-{amplify}"
    idp = emulator_client(gateway.pool.endpoint)
    create_user(
        idp,
        gateway.pool.user_pool_id,
        username,
        "Old-passw0rd!",
        {"email": f"{username}@example.com", "email_verified": "true"},
    )
    demo = demo_page(gateway.url)
    demo.open(amplify)
    page = demo.page
    page.fill("#username", username)

    page.click("#show-reset")
    expect(page.locator("#forgot-username")).to_have_value(username)
    with page.expect_response(f"{gateway.url}/auth/forgot-password") as asked:
        page.click("#forgot-button")
    assert asked.value.status == 202
    expect(page.locator("#reset-form")).to_be_visible()
    expect(page.locator("#reset-message")).to_contain_text("a reset code is on its way")

    code = latest_code(gateway.pool.user_pool_id, username, RESET)
    page.fill("#reset-code", code)
    page.fill("#reset-password", "New-passw0rd!")
    demo.screenshot(f"web-reset-{amplify}.png")
    with page.expect_response(f"{gateway.url}/auth/confirm-forgot-password") as done:
        page.click("#reset-button")
    assert done.value.status == 204
    sent = json.loads(done.value.request.post_data or "{}")
    assert sent == {"username": username, "code": code, "newPassword": "New-passw0rd!"}

    expect(page.locator("#login-message")).to_have_text(
        "Your password is changed. Log in with the new one."
    )
    expect(page.locator("#username")).to_have_value(username)
    page.fill("#password", "New-passw0rd!")
    page.click("#login-button")
    logged_in_as(demo, username)
    assert demo.errors == []


def test_an_unknown_name_gets_the_same_reset_page(
    gateway: Any, demo_page: Callable[[str], DemoPage]
) -> None:
    demo = demo_page(gateway.url)
    demo.open("v6")
    page = demo.page
    page.click("#show-reset")
    page.fill("#forgot-username", "nobody-here")
    with page.expect_response(f"{gateway.url}/auth/forgot-password") as asked:
        page.click("#forgot-button")
    assert asked.value.status == 202
    expect(page.locator("#reset-form")).to_be_visible()
    page.fill("#reset-code", "123456")
    page.fill("#reset-password", "New-passw0rd!")
    page.click("#reset-button")
    expect(page.locator("#reset-message")).to_have_text(
        "That code is wrong. Check it and try again."
    )
    page.click("[data-testid=reset-back]")
    expect(page.locator("#login-section")).to_be_visible()
    expect(page.locator("#reset-section")).to_be_hidden()
