"""Fixtures for the client's tests: real tokens from the emulator, and a refresh counter there."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

from cognito_gate.cognito.local import LocalPool, emulator_client
from tests.conftest import FakeClock


@dataclass(frozen=True)
class Tokens:
    """What the emulator issued at login."""

    username: str
    id_token: str
    access_token: str
    refresh_token: str


def log_in(pool: LocalPool, username: str | None = None, password: str | None = None) -> Tokens:
    """ADMIN_USER_PASSWORD_AUTH on the emulator, as the gateway does."""
    idp = emulator_client(pool.endpoint, pool.region)
    name = username or pool.demo_username or "demo"
    params = {"USERNAME": name, "PASSWORD": password or pool.demo_password or ""}
    if pool.client_secret:
        from cognito_gate.client.wire import secret_hash

        params["SECRET_HASH"] = secret_hash(pool.client_secret, name, pool.client_id)
    result = idp.admin_initiate_auth(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters=params,
    )["AuthenticationResult"]
    return Tokens(name, result["IdToken"], result["AccessToken"], result["RefreshToken"])


@pytest.fixture
def tokens(pool: LocalPool) -> Tokens:
    return log_in(pool)


@pytest.fixture
def real_clock() -> FakeClock:
    """A fake clock that starts at the real 'now', so tokens from the emulator read as fresh."""
    return FakeClock(time.time())


class RefreshCounter:
    """Counts REFRESH_TOKEN_AUTH calls as the emulator receives them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.calls)

    def record(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append(body)


@pytest.fixture
def refresh_counter(monkeypatch: pytest.MonkeyPatch) -> RefreshCounter:
    """Wraps moto's InitiateAuth handler: every refresh the emulator serves is recorded."""
    import json

    from moto.cognitoidp.responses import CognitoIdpResponse

    counter = RefreshCounter()
    original = CognitoIdpResponse.initiate_auth

    def counting(self: Any) -> Any:
        body = json.loads(self.body)
        if body.get("AuthFlow") in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            counter.record({"body": body, "headers": dict(self.headers)})
        return original(self)

    monkeypatch.setattr(CognitoIdpResponse, "initiate_auth", counting)
    return counter


def user_for(
    pool: LocalPool,
    tokens: Tokens,
    clock: FakeClock,
    storage: Any = None,
    **options: Any,
) -> Any:
    """``setup_session`` with the emulator's tokens, refreshing at the emulator."""
    from cognito_gate.client import MemoryStorage, setup_session

    return setup_session(
        options.pop("username", tokens.username),
        tokens.access_token,
        tokens.id_token,
        tokens.refresh_token,
        pool.user_pool_id,
        pool.client_id,
        storage=storage if storage is not None else MemoryStorage(),
        endpoint=pool.endpoint,
        clock=clock,
        **options,
    )
