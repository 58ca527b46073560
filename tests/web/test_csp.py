"""The demo page under its Content-Security-Policy (review #12), in Debian's Chromium: every step
of the seed's flow (log in, /auth/me, Amplify's refresh through /cognito/, log out) on Amplify v5
and v6 runs without a single violation, and the policy is what the page gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import PAST_EXPIRY_MS, DemoPage

pytestmark = pytest.mark.browser

#: Records every violation the browser reports, before the page's own scripts run.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`
  );
});
"""


def violations(demo: DemoPage) -> list[str]:
    found: list[str] = demo.page.evaluate("() => window.__cspViolations")
    return found + [m for m in demo.console if "Content Security Policy" in m]


@pytest.mark.parametrize("amplify", ["v5", "v6"])
def test_the_demo_flow_runs_under_the_pages_csp_without_a_violation(
    gateway: Any, demo_page: Callable[[str], DemoPage], amplify: str
) -> None:
    demo = demo_page(gateway.url)
    demo.page.add_init_script(RECORD_VIOLATIONS)
    with demo.page.expect_response(f"{gateway.url}/?amplify={amplify}") as document:
        demo.open(amplify)
    headers = document.value.all_headers()
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"

    demo.log_in()
    expect(demo.page.locator("#auth-state")).to_have_attribute("data-state", "signed-in")
    expect(demo.page.locator("#me-status")).to_have_attribute("data-status", "200")

    demo.page.clock.fast_forward(PAST_EXPIRY_MS)
    with demo.page.expect_response(f"{gateway.url}/cognito/") as refresh:
        assert demo.amplify_session() is not None
    assert refresh.value.status == 200
    demo.page.click("#me-button")
    expect(demo.page.locator("#me-status")).to_have_attribute("data-status", "200")

    with demo.page.expect_response(f"{gateway.url}/auth/logout"):
        demo.page.click("#logout-button")
    expect(demo.page.locator("#auth-state")).to_have_attribute("data-state", "signed-out")

    # Every request the page made went to the gateway itself.
    assert {r.url.split("/")[2] for r in demo.requests} == {gateway.url.split("/")[2]}
    assert violations(demo) == []
    assert demo.errors == []
