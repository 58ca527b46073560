"""Remembered devices in a real browser: Amplify v5 and v6 in Chromium on the demo page, on a pool
that always remembers devices and on one that asks the user. The page logs in through the
gateway, which confirms the browser as the device; Amplify keeps the device's three keys and
refreshes with its key (through the gateway's /cognito/, and straight at the emulator); without
the key the refresh fails; a later login proves the device with SRP computed in the page, and the
gateway never receives the device's password."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Request, expect

from cognito_gate.cognito.local import Emulator, provision_pool
from tests.capture import CapturedGateway, captured_gateway

from .conftest import PAST_EXPIRY_MS, DemoPage

pytestmark = pytest.mark.browser

AMPLIFY = ["v5", "v6"]
MODES = ["always", "opt-in"]
REFRESH_TARGET = {
    "v5": "AWSCognitoIdentityProviderService.InitiateAuth",
    "v6": "AWSCognitoIdentityProviderService.GetTokensFromRefreshToken",
}
DEVICE_FIELDS = ("deviceKey", "deviceGroupKey", "randomPasswordKey")


def claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


@pytest.fixture(params=MODES)
def gateway(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[CapturedGateway]:
    pool = provision_pool(emulator.endpoint, remember_devices=request.param)
    with captured_gateway(pool) as served:
        yield served


def stored_device(demo: DemoPage, gateway: CapturedGateway) -> dict[str, str | None]:
    prefix = f"CognitoIdentityServiceProvider.{gateway.pool.client_id}.demo"
    found: dict[str, str | None] = demo.page.evaluate(
        "(keys) => Object.fromEntries(keys.map(([name, key]) => [name, localStorage.getItem(key)]))",
        [[name, f"{prefix}.{name}"] for name in DEVICE_FIELDS],
    )
    return found


def log_in(demo: DemoPage, gateway: CapturedGateway) -> dict[str, Any]:
    """Log in as demo (asking to remember the device where the pool asks); Amplify's session."""
    if gateway.gate.device_mode == "opt-in":
        expect(demo.page.locator("#remember-device")).to_be_visible()
        demo.page.check("#remember-device")
    else:
        expect(demo.page.locator("#remember-device")).to_be_hidden()
    demo.log_in()
    expect(demo.page.locator("#auth-state")).to_have_attribute("data-state", "signed-in")
    session = demo.amplify_session()
    assert session is not None, (demo.errors, demo.console)
    return session


def is_refresh(amplify: str, endpoint: str) -> Callable[[Request], bool]:
    def check(request: Request) -> bool:
        return request.url.rstrip("/") == endpoint.rstrip("/") and (
            request.headers.get("x-amz-target") == REFRESH_TARGET[amplify]
        )

    return check


def sent_device_key(amplify: str, request: Request) -> Any:
    body = json.loads(request.post_data or "{}")
    return body["AuthParameters"].get("DEVICE_KEY") if amplify == "v5" else body.get("DeviceKey")


@pytest.mark.parametrize("amplify", AMPLIFY)
def test_amplify_keeps_the_device_refreshes_with_it_and_proves_it_at_the_next_login(
    gateway: CapturedGateway, demo_page: Callable[[str], DemoPage], amplify: str
) -> None:
    demo = demo_page(gateway.url)
    demo.open(amplify)
    expect(demo.page.locator("#device-note")).to_be_visible()
    expect(demo.page.locator("#warnings")).to_be_hidden()

    # The first login: the gateway confirms this browser as a new device; Amplify keeps it.
    with demo.page.expect_response(f"{gateway.url}/auth/login") as first:
        log_in(demo, gateway)
    new_device = first.value.json()["newDevice"]
    assert new_device["remembered"] is True
    device = stored_device(demo, gateway)
    assert device == {
        "deviceKey": new_device["deviceKey"],
        "deviceGroupKey": new_device["deviceGroupKey"],
        "randomPasswordKey": new_device["devicePassword"],
    }

    # Logged out, the device stays; the next login proves it with SRP computed in the page.
    with demo.page.expect_response(f"{gateway.url}/auth/logout"):
        demo.page.click("#logout-button")
    expect(demo.page.locator("#auth-state")).to_have_attribute("data-state", "signed-out")
    assert stored_device(demo, gateway) == device
    challenges: list[Request] = []
    demo.page.on(
        "request", lambda r: challenges.append(r) if r.url.endswith("/auth/challenge") else None
    )
    session = log_in(demo, gateway)
    assert [json.loads(r.post_data or "{}")["challengeName"] for r in challenges] == [
        "DEVICE_SRP_AUTH",
        "DEVICE_PASSWORD_VERIFIER",
    ]
    assert claims(session["accessToken"])["device_key"] == device["deviceKey"]
    assert stored_device(demo, gateway) == device  # the same device, not a new one
    logins = [json.loads(b) for b in gateway.capture.bodies("/auth/login")]
    assert logins[-1]["deviceKey"] == device["deviceKey"]

    # Refresh through the gateway's /cognito/, with the device's key.
    demo.page.clock.fast_forward(PAST_EXPIRY_MS)
    with demo.page.expect_request(is_refresh(amplify, f"{gateway.url}/cognito/")) as refresh:
        refreshed = demo.amplify_session()
    assert refreshed is not None
    assert refreshed["accessToken"] != session["accessToken"]
    assert sent_device_key(amplify, refresh.value) == device["deviceKey"]
    response = refresh.value.response()
    assert response is not None
    assert response.status == 200

    # The device's password never reached the gateway, in any request.
    assert not gateway.capture.saw(str(device["randomPasswordKey"]))

    # Without the device's key (v5 reads deviceKey; v6 wants all three) the refresh fails.
    withheld = "deviceKey" if amplify == "v5" else "randomPasswordKey"
    demo.page.evaluate(
        "(key) => localStorage.removeItem(key)",
        f"CognitoIdentityServiceProvider.{gateway.pool.client_id}.demo.{withheld}",
    )
    demo.page.clock.fast_forward(PAST_EXPIRY_MS)
    with demo.page.expect_response(
        lambda r: is_refresh(amplify, f"{gateway.url}/cognito/")(r.request)
    ) as refused:
        assert demo.amplify_session() is None
    assert refused.value.status == 400
    assert refused.value.json()["__type"] == "NotAuthorizedException"
    assert demo.errors == []


@pytest.fixture
def csp_free_page(browser: Browser, built_web: Path) -> Iterator[Callable[[str], DemoPage]]:
    """Like ``demo_page``, in a context that ignores the page's Content-Security-Policy: the demo
    page lets scripts connect to the gateway alone (``connect-src 'self'``), and Amplify here is
    to refresh straight at the emulator, as an app whose own policy allows Cognito does."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.clock.install()

    def make(base_url: str) -> DemoPage:
        demo = DemoPage(page=page, base_url=base_url)
        page.on("pageerror", lambda exc: demo.errors.append(str(exc)))
        return demo

    yield make
    context.close()


@pytest.mark.parametrize("amplify", AMPLIFY)
def test_amplify_refreshes_with_the_device_straight_at_cognito(
    gateway: CapturedGateway, csp_free_page: Callable[[str], DemoPage], amplify: str
) -> None:
    demo = csp_free_page(gateway.url)
    # ?refresh=cognito: the page configures Amplify with GET /auth/config's cognitoEndpoint.
    demo.page.goto(f"{gateway.url}/?amplify={amplify}&refresh=cognito")
    assert demo.page.evaluate("() => window.cognitoGate.ready") is True
    session = log_in(demo, gateway)
    device = stored_device(demo, gateway)
    assert all(device.values())

    demo.page.clock.fast_forward(PAST_EXPIRY_MS)
    with demo.page.expect_request(is_refresh(amplify, gateway.pool.endpoint)) as refresh:
        refreshed = demo.amplify_session()
    assert refreshed is not None
    assert refreshed["accessToken"] != session["accessToken"]
    assert claims(refreshed["accessToken"])["device_key"] == device["deviceKey"]
    assert sent_device_key(amplify, refresh.value) == device["deviceKey"]
    assert gateway.capture.bodies("/cognito/") == []  # the gateway saw no refresh
    assert demo.errors == []
