"""The seed's flow in a real browser: log in through the gateway, let Amplify v5 or v6 keep the
session, and watch it refresh through the gateway's /cognito/ once the browser's clock passes the
tokens' expiry."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Request, expect

from cognito_gate.cognito.local import provision_pool

from .conftest import PAST_EXPIRY_MS, DemoPage

pytestmark = pytest.mark.browser

AMPLIFY = ["v5", "v6"]
# What each Amplify version sends to the endpoint when it refreshes.
REFRESH_TARGET = {
    "v5": "AWSCognitoIdentityProviderService.InitiateAuth",
    "v6": "AWSCognitoIdentityProviderService.GetTokensFromRefreshToken",
}


def claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def signed_in(demo: DemoPage) -> dict[str, Any]:
    """Log in as demo on the page; return Amplify's own session."""
    demo.log_in()
    expect(demo.page.locator("#auth-state")).to_have_attribute("data-state", "signed-in")
    session = demo.amplify_session()
    assert session is not None
    return session


def is_refresh(demo: DemoPage, amplify: str) -> Callable[[Request], bool]:
    """Matches Amplify's refresh request to the gateway's /cognito/."""

    def check(request: Request) -> bool:
        return bool(
            request.url == f"{demo.base_url}/cognito/"
            and request.headers.get("x-amz-target") == REFRESH_TARGET[amplify]
        )

    return check


@pytest.mark.parametrize("amplify", AMPLIFY)
def test_amplify_keeps_the_gateways_session_and_refreshes_it_through_the_gateway(
    gateway: Any, demo_page: Callable[[str], DemoPage], amplify: str
) -> None:
    demo = demo_page(gateway.url)
    demo.open(amplify)
    expect(demo.page.locator("#warnings")).to_be_hidden()

    session = signed_in(demo)
    assert session["username"] == "demo"
    assert claims(session["accessToken"])["username"] == "demo"
    assert claims(session["accessToken"])["client_id"] == gateway.pool.client_id
    expect(demo.page.locator("#session-user")).to_contain_text("demo")
    expect(demo.page.locator("#session-expires")).to_have_attribute(
        "data-exp", str(claims(session["accessToken"])["exp"])
    )
    expect(demo.page.locator("#me-status")).to_have_attribute("data-status", "200")
    expect(demo.page.locator("#me-claims")).to_contain_text(claims(session["accessToken"])["jti"])
    assert not [r for r in demo.requests if is_refresh(demo, amplify)(r)], "no refresh needed yet"
    demo.screenshot(f"web-signed-in-{amplify}.png")

    demo.page.clock.fast_forward(PAST_EXPIRY_MS)
    with demo.page.expect_request(is_refresh(demo, amplify)) as refresh:
        refreshed = demo.amplify_session()
    assert refreshed is not None
    assert refreshed["accessToken"] != session["accessToken"]
    assert claims(refreshed["accessToken"])["username"] == "demo"
    body = json.loads(refresh.value.post_data or "{}")
    if amplify == "v5":
        assert body["AuthFlow"] == "REFRESH_TOKEN_AUTH"
    response = refresh.value.response()
    assert response is not None
    assert response.status == 200

    # The refreshed token is what Amplify keeps: the page's /auth/me call now sends it.
    demo.page.click("#me-button")
    expect(demo.page.locator("#me-claims")).to_contain_text(claims(refreshed["accessToken"])["jti"])
    expect(demo.page.locator("#me-status")).to_have_attribute("data-status", "200")
    me = httpx.get(
        f"{gateway.url}/auth/me", headers={"Authorization": f"Bearer {refreshed['accessToken']}"}
    )
    assert me.status_code == 200
    assert me.json()["jti"] == claims(refreshed["accessToken"])["jti"]

    # "Refresh now" refreshes before expiry, through the gateway again.
    with demo.page.expect_request(is_refresh(demo, amplify)):
        demo.page.click("#refresh-button")
    expect(demo.page.locator("#session-message")).to_contain_text("refreshed")
    again = demo.amplify_session()
    assert again is not None
    assert again["accessToken"] != refreshed["accessToken"]
    expect(demo.page.locator("#auth-state")).to_have_attribute("data-state", "signed-in")
    assert demo.errors == []


@pytest.mark.parametrize("amplify", AMPLIFY)
def test_a_client_with_a_secret_refreshes_through_the_gateway_which_adds_secret_hash(
    gateway_factory: Callable[..., Any],
    secret_pool: Any,
    demo_page: Callable[[str], DemoPage],
    amplify: str,
) -> None:
    gateway = gateway_factory(secret_pool)
    demo = demo_page(gateway.url)
    demo.open(amplify)
    session = signed_in(demo)

    demo.page.clock.fast_forward(PAST_EXPIRY_MS)
    with demo.page.expect_request(is_refresh(demo, amplify)) as refresh:
        refreshed = demo.amplify_session()
    assert "SECRET_HASH" not in (refresh.value.post_data or ""), "the browser has no secret"
    assert refreshed is not None
    assert refreshed["accessToken"] != session["accessToken"]
    assert demo.errors == []


@pytest.mark.parametrize("amplify", AMPLIFY)
def test_an_admin_lock_ends_the_browser_session_at_its_next_refresh(
    gateway: Any, demo_page: Callable[[str], DemoPage], amplify: str
) -> None:
    demo = demo_page(gateway.url)
    demo.open(amplify)
    signed_in(demo)

    locked = httpx.post(
        f"{gateway.url}/admin/accounts/demo/lock",
        headers={"Authorization": f"Bearer {gateway.admin_token}"},
    )
    assert locked.status_code == 204

    demo.page.clock.fast_forward(PAST_EXPIRY_MS)
    refresh = is_refresh(demo, amplify)
    with demo.page.expect_response(lambda response: refresh(response.request)) as refused:
        demo.page.click("#me-button")
    assert refused.value.status == 400
    assert refused.value.json() == {
        "__type": "NotAuthorizedException",
        "message": "User is disabled.",
    }
    expect(demo.page.locator("#auth-state")).to_have_attribute("data-state", "signed-out")
    expect(demo.page.locator("#login-message")).to_contain_text("session ended")
    expect(demo.page.locator("#login-form")).to_be_visible()
    assert demo.amplify_session() is None


def test_five_wrong_passwords_show_the_lockout_and_its_wait(
    gateway: Any, demo_page: Callable[[str], DemoPage]
) -> None:
    demo = demo_page(gateway.url)
    demo.open("v6")
    message = demo.page.locator("#login-message")
    for attempt in range(1, 7):
        with demo.page.expect_response(f"{gateway.url}/auth/login") as answer:
            demo.log_in(password=f"Wrong-passw0rd-{attempt}!")
        if attempt <= 5:
            assert answer.value.status == 401, attempt
            expect(message).to_have_text("Wrong username or password.")
        else:
            assert answer.value.status == 429
            assert answer.value.json()["error"] == "account_locked"
            retry_after = answer.value.json()["retryAfter"]
    assert 0 < retry_after <= 900
    expect(message).to_contain_text(re.compile(r"locked.*try again in \d+", re.IGNORECASE))
    shown = re.search(r"try again in (\d+)", message.inner_text(), re.IGNORECASE)
    assert shown is not None
    assert retry_after - 5 <= int(shown.group(1)) <= retry_after
    expect(message).to_contain_text("15 min")
    expect(demo.page.locator("#auth-state")).to_have_attribute("data-state", "signed-out")
    demo.screenshot("web-locked.png")

    # The right password does not get through while the lock lasts.
    with demo.page.expect_response(f"{gateway.url}/auth/login") as answer:
        demo.log_in()
    assert answer.value.status == 429
    expect(message).to_contain_text(re.compile(r"locked.*try again in \d+", re.IGNORECASE))

    # The wait counts down on the page's clock.
    demo.page.clock.fast_forward((retry_after + 1) * 1000)
    expect(message).to_have_text("You can try again now.")


@pytest.mark.parametrize("amplify", AMPLIFY)
def test_log_out_revokes_the_refresh_token_and_clears_amplify(
    gateway: Any, demo_page: Callable[[str], DemoPage], amplify: str
) -> None:
    demo = demo_page(gateway.url)
    demo.open(amplify)
    session = signed_in(demo)
    refresh_token = demo.page.evaluate("() => window.cognitoGate.refreshToken()")
    assert refresh_token

    with demo.page.expect_response(f"{gateway.url}/auth/logout") as answer:
        demo.page.click("#logout-button")
    assert answer.value.status == 204
    expect(demo.page.locator("#auth-state")).to_have_attribute("data-state", "signed-out")
    assert demo.amplify_session() is None
    token_keys = demo.page.evaluate(
        "() => Object.keys(localStorage).filter(k => /[.](accessToken|idToken|refreshToken|LastAuthUser)$/.test(k))"
    )
    assert token_keys == []
    again = httpx.post(
        f"{gateway.url}/auth/refresh",
        json={"refreshToken": refresh_token, "username": session["username"]},
    )
    assert again.status_code == 401


@pytest.mark.parametrize("mode", ["always", "opt-in"])
def test_a_pool_that_remembers_devices_is_explained_not_warned_about(
    emulator: Any,
    gateway_factory: Callable[..., Any],
    demo_page: Callable[[str], DemoPage],
    mode: str,
) -> None:
    # Remembered devices work through the gateway now (tests/web/test_remembered_devices.py).
    remembering = provision_pool(emulator.endpoint, remember_devices=mode)  # type: ignore[arg-type]
    gateway = gateway_factory(remembering)
    config = httpx.get(f"{gateway.url}/auth/config").json()
    assert config["deviceRemembering"] is True
    assert config["deviceRememberingMode"] == mode

    demo = demo_page(gateway.url)
    demo.open("v5")
    expect(demo.page.locator("#warnings")).to_be_hidden()
    note = demo.page.locator("#device-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("refresh works")
    checkbox = demo.page.locator("#remember-device")
    if mode == "opt-in":
        expect(checkbox).to_be_visible()
    else:
        expect(checkbox).to_be_hidden()
    demo.screenshot(f"web-device-note-{mode}.png")
