"""Refresh answers the emulator cannot give: rotation, transient failures, gateway refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cognito_gate.client import CognitoUser, MemoryStorage, RefreshFailed, setup_session
from cognito_gate.client.wire import RetryPolicy
from tests.client.jwt_helpers import token_pair
from tests.conftest import FakeClock

PREFIX = "CognitoIdentityServiceProvider.client.demo"


Handler = Callable[[httpx.Request], httpx.Response]


def _user(
    handler: Handler, clock: FakeClock, storage: MemoryStorage, **options: Any
) -> CognitoUser:
    id_token, access_token = token_pair(int(clock()))
    user = setup_session(
        "demo",
        access_token,
        id_token,
        "old-refresh-token",
        "us-east-1_abc",
        "client",
        storage=storage,
        clock=clock,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        **options,
    )
    user.pool.retry = RetryPolicy(attempts=3, base_delay=0.001)
    return user


def _tokens(clock: FakeClock, **extra: str) -> dict[str, object]:
    id_token, access_token = token_pair(int(clock()))
    return {"AuthenticationResult": {"IdToken": id_token, "AccessToken": access_token, **extra}}


def test_a_rotated_refresh_token_replaces_the_old_one() -> None:
    clock = FakeClock()
    storage = MemoryStorage()

    def cognito(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_tokens(clock, RefreshToken="new-refresh-token"))

    user = _user(cognito, clock, storage)
    clock.advance(3605)
    session = user.get_session()
    assert session.refresh_token.token == "new-refresh-token"
    assert storage.get_item(f"{PREFIX}.refreshToken") == "new-refresh-token"


def test_a_transient_failure_is_retried() -> None:
    clock = FakeClock()
    answers = [
        httpx.Response(500, json={"__type": "InternalErrorException"}),
        httpx.Response(400, json={"__type": "TooManyRequestsException"}),
    ]

    def cognito(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json=_tokens(clock))

    user = _user(cognito, clock, MemoryStorage())
    clock.advance(3605)
    assert user.get_session().is_valid()
    assert answers == []


def test_a_refused_refresh_token_is_not_retried() -> None:
    clock = FakeClock()
    calls: list[httpx.Request] = []

    def cognito(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, json={"__type": "NotAuthorizedException", "message": "x"})

    user = _user(cognito, clock, MemoryStorage())
    clock.advance(3605)
    with pytest.raises(RefreshFailed):
        user.get_session()
    assert len(calls) == 1


def test_through_the_gateway_the_refresh_sends_the_token_and_the_username() -> None:
    clock = FakeClock()
    storage = MemoryStorage()
    sent: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        id_token, access_token = token_pair(int(clock()))
        return httpx.Response(
            200,
            json={
                "idToken": id_token,
                "accessToken": access_token,
                "refreshToken": "old-refresh-token",
                "expiresIn": 3600,
                "tokenType": "Bearer",
                "username": "demo",
            },
        )

    user = _user(gateway, clock, storage, gateway_url="http://gate.test/")
    clock.advance(3605)
    assert user.get_session().is_valid()
    [request] = sent
    assert str(request.url) == "http://gate.test/auth/refresh"
    assert json.loads(request.content) == {"refreshToken": "old-refresh-token", "username": "demo"}


def test_a_gateway_refusal_ends_the_session_without_showing_the_token() -> None:
    clock = FakeClock()
    storage = MemoryStorage()

    def gateway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={"error": "invalid_refresh_token", "message": "old-refresh-token is revoked"},
        )

    user = _user(gateway, clock, storage, gateway_url="http://gate.test")
    clock.advance(3605)
    with pytest.raises(RefreshFailed) as caught:
        user.get_session()
    assert "old-refresh-token" not in str(caught.value)
    assert storage.get_item(f"{PREFIX}.refreshToken") is None
