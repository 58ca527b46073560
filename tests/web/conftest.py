"""Browser fixtures: the built demo page, Debian's chromium driven by Playwright, a page per test.

Nothing here downloads a browser: Playwright launches ``/usr/bin/chromium``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Request, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

DEMO_USER = "demo"
DEMO_PASSWORD = "Demo-passw0rd!"
# The emulator's tokens live 3600 s; move the browser's clock a little further than that.
PAST_EXPIRY_MS = (3600 + 120) * 1000


def _sources() -> list[Path]:
    return [WEB / "build.mjs", WEB / "package-lock.json", *(WEB / "src").rglob("*")]


@pytest.fixture(scope="session")
def built_web() -> Path:
    """``web/dist``, built now when it is missing or older than its sources."""
    index = DIST / "index.html"
    newest = max(p.stat().st_mtime for p in _sources() if p.is_file())
    if index.is_file() and index.stat().st_mtime >= newest:
        return DIST
    if not (WEB / "node_modules").is_dir() or shutil.which("npm") is None:
        pytest.fail("web/dist is missing or stale and cannot be built here: run `make web`")
    subprocess.run(["npm", "run", "build"], cwd=WEB, check=True, capture_output=True)
    return DIST


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail("Debian's chromium is missing at /usr/bin/chromium: run `make chromium`")
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@dataclass
class DemoPage:
    """A fresh browser context on the demo page, with a fake clock and a record of its traffic."""

    page: Page
    base_url: str
    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page
    console: list[str] = field(default_factory=list)  # console errors, for diagnosis

    def open(self, amplify: str) -> None:
        """Load ``/?amplify=...`` and wait until the page has configured Amplify."""
        self.page.goto(f"{self.base_url}/?amplify={amplify}")
        ready = self.page.evaluate("() => window.cognitoGate.ready")
        assert ready is True, (self.errors, self.console)

    def state(self) -> str | None:
        return self.page.get_attribute("#auth-state", "data-state")

    def log_in(self, username: str = DEMO_USER, password: str = DEMO_PASSWORD) -> None:
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("#login-button")

    def amplify_session(self) -> dict[str, Any] | None:
        """What Amplify's own ``currentSession()`` / ``fetchAuthSession()`` returns now."""
        result: dict[str, Any] | None = self.page.evaluate(
            "() => window.cognitoGate.amplifySession()"
        )
        return result

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def demo_page(browser: Browser, built_web: Path) -> Iterator[Callable[[str], DemoPage]]:
    """``demo_page(base_url) -> DemoPage``: a new context (empty localStorage) per call."""
    contexts = []

    def make(base_url: str) -> DemoPage:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        demo = DemoPage(page=page, base_url=base_url)
        page.on("request", lambda request: demo.requests.append(request))
        page.on("pageerror", lambda exc: demo.errors.append(str(exc)))

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                demo.console.append(message.text)

        page.on("console", on_console)
        # The clock must be installed before the page's scripts run.
        page.clock.install()
        return demo

    yield make
    for context in contexts:
        context.close()
