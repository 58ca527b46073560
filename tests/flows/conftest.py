"""The account flows over HTTP (httpx + ASGI) in front of the emulator over HTTP.

``api_factory`` is the server tests' (a fresh gate per call, memory store, fake clock); here too
are the users the flows need (an email the pool has verified), the emulator's mailbox, and a
record of every call the emulator serves, to count what reaches Cognito.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cognito_gate.cognito.local import Emulator, LocalPool, create_user, emulator_client
from cognito_gate.cognito.local_codes import latest_code
from tests.server.conftest import USER_IP, Api, CheckCounter, api_factory  # noqa: F401  (the fixture, shared)

PASSWORD = "Demo-passw0rd!"
NEW_PASSWORD = "Fresh-passw0rd!"
ALICE = "alice"
ALICE_PASSWORD = "Alice-passw0rd!"
ALICE_EMAIL = "alice@example.com"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def alice(pool: LocalPool) -> str:
    """A confirmed user with a verified email (a reset code can reach her)."""
    return create_user(
        emulator_client(pool.endpoint, pool.region),
        pool.user_pool_id,
        ALICE,
        ALICE_PASSWORD,
        {"email": ALICE_EMAIL, "email_verified": "true"},
    )


def code_for(pool: LocalPool, username: str, purpose: str) -> str:
    """The newest ``signup`` or ``reset`` code the emulator sent to ``username``."""
    return latest_code(pool.user_pool_id, username, purpose)


def wrong(code: str) -> str:
    """A six-digit code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def post(
    api: Api, path: str, body: dict[str, Any], ip: str = USER_IP, token: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await api.client(ip).post(path, json=body, headers=headers)


class EmulatorCalls:
    """The Cognito operations the emulator served (``ForgotPassword``...), in order."""

    def __init__(self) -> None:
        self.actions: list[str] = []
        self._lock = threading.Lock()

    def add(self, action: str) -> None:
        with self._lock:
            self.actions.append(action)

    def count(self, action: str) -> int:
        with self._lock:
            return self.actions.count(action)

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return self.actions[mark:]


@pytest.fixture
def emulator_calls(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> EmulatorCalls:
    """Record each Cognito call as the emulator receives it (before it answers). After the
    emulator has installed its own calls, so that they are what is wrapped."""
    from moto.cognitoidp.responses import CognitoIdpResponse

    calls = EmulatorCalls()
    original: Callable[..., Any] = CognitoIdpResponse.call_action

    def recorded(self: Any) -> Any:
        calls.add(self._get_action())
        return original(self)

    monkeypatch.setattr(CognitoIdpResponse, "call_action", recorded)
    return calls


@pytest.fixture
def code_checks(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> dict[str, CheckCounter]:
    """``{"confirm_sign_up": counter, "confirm_forgot_password": counter}`` at moto's backend
    (the emulator's own code checks, once it has installed them)."""
    from moto.cognitoidp.models import CognitoIdpBackend

    counters: dict[str, CheckCounter] = {}
    for name in ("confirm_sign_up", "confirm_forgot_password"):
        counter = counters[name] = CheckCounter()
        original: Callable[..., Any] = getattr(CognitoIdpBackend, name)

        def counted(
            self: Any,
            *args: Any,
            _original: Callable[..., Any] = original,
            _counter: CheckCounter = counter,
            **kwargs: Any,
        ) -> Any:
            _counter.hit()
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(CognitoIdpBackend, name, counted)
    return counters
