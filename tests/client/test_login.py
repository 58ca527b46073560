"""login() and respond_to_challenge() against the real gateway in front of the emulator."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from cognito_gate.client import (
    AccountDisabled,
    AccountLocked,
    ChallengeRequired,
    FileStorage,
    GatewayUnavailable,
    InvalidCredentials,
    MemoryStorage,
    NotSignedIn,
    RefreshFailed,
    alogin,
    current_user,
    login,
    respond_to_challenge,
)
from cognito_gate.cognito.local import LocalPool, emulator_client
from tests.client.conftest import RefreshCounter
from tests.conftest import ADMIN_TOKEN, FakeClock, LiveGateway

PASSWORD = "Demo-passw0rd!"


def test_login_stores_a_session_that_refreshes_at_cognito(
    gateway: LiveGateway,
    real_clock: FakeClock,
    refresh_counter: RefreshCounter,
    tmp_path: Path,
) -> None:
    path = tmp_path / "session.json"
    user = login(gateway.url, "demo", PASSWORD, storage=FileStorage(path), clock=real_clock)

    session = user.get_session()
    assert user.username == "demo"
    assert session.is_valid()
    assert session.id_token.payload["cognito:username"] == "demo"
    stored = json.loads(path.read_text())
    prefix = f"CognitoIdentityServiceProvider.{gateway.pool.client_id}"
    assert stored[f"{prefix}.LastAuthUser"] == "demo"
    assert stored[f"{prefix}.demo.accessToken"] == session.access_token.jwt_token
    assert stored["cognito-gate.gatewayUrl"] == gateway.url
    assert stored["cognito-gate.endpoint"] == gateway.pool.endpoint  # from GET /auth/config
    assert stored["cognito-gate.refreshVia"] == "cognito"

    real_clock.advance(3605)
    refreshed = user.get_session()
    assert refreshed.is_valid()
    assert refreshed.access_token != session.access_token
    assert refresh_counter.count == 1  # at the emulator, directly
    assert refresh_counter.calls[0]["body"]["ClientId"] == gateway.pool.client_id


def test_the_storage_key_is_the_cognito_username_not_what_was_typed(
    gateway: LiveGateway, real_clock: FakeClock
) -> None:
    storage = MemoryStorage()
    user = login(gateway.url, "  DEMO ", PASSWORD, storage=storage, clock=real_clock)
    assert user.username == "demo"
    prefix = f"CognitoIdentityServiceProvider.{gateway.pool.client_id}"
    assert storage.get_item(f"{prefix}.LastAuthUser") == "demo"
    assert storage.get_item(f"{prefix}.demo.idToken")


def test_a_session_can_refresh_through_the_gateway(
    gateway: LiveGateway, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    sent: list[str] = []
    client = httpx.Client(event_hooks={"request": [lambda r: sent.append(str(r.url))]})
    user = login(
        gateway.url,
        "demo",
        PASSWORD,
        storage=MemoryStorage(),
        refresh_via="gateway",
        clock=real_clock,
        http_client=client,
    )
    first = user.get_session()
    real_clock.advance(3605)
    refreshed = user.get_session()
    assert refreshed.is_valid()
    assert refreshed.access_token != first.access_token
    assert refreshed.refresh_token == first.refresh_token
    assert sent[-1] == f"{gateway.url}/auth/refresh"
    client.close()


def test_an_admin_lock_ends_a_session_that_refreshes_through_the_gateway(
    gateway: LiveGateway, real_clock: FakeClock
) -> None:
    storage = MemoryStorage()
    user = login(
        gateway.url, "demo", PASSWORD, storage=storage, refresh_via="gateway", clock=real_clock
    )
    locked = httpx.post(
        f"{gateway.url}/admin/accounts/demo/lock",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert locked.status_code == 204
    real_clock.advance(3605)
    with pytest.raises(AccountDisabled, match="disabled"):
        user.get_session()
    with pytest.raises(NotSignedIn):
        user.get_session()  # the session was cleared
    with pytest.raises(AccountLocked) as caught:
        login(gateway.url, "demo", PASSWORD)
    assert caught.value.retry_after is None
    assert str(caught.value) == "account locked; an administrator must unlock it"


def test_a_wrong_password_is_invalid_credentials_without_the_password(
    gateway: LiveGateway,
) -> None:
    with pytest.raises(InvalidCredentials) as caught:
        login(gateway.url, "demo", "Wrong-passw0rd!")
    assert "Wrong-passw0rd!" not in str(caught.value)
    assert str(caught.value) == "incorrect username or password"
    with pytest.raises(InvalidCredentials):
        login(gateway.url, "nobody-at-all", "Wrong-passw0rd!")


def test_too_many_failures_lock_the_account_with_a_wait(gateway: LiveGateway) -> None:
    for _ in range(gateway.settings.max_attempts):
        with pytest.raises(InvalidCredentials):
            login(gateway.url, "demo", "Wrong-passw0rd!")
    with pytest.raises(AccountLocked) as caught:
        login(gateway.url, "demo", PASSWORD)
    assert caught.value.retry_after == 900
    assert str(caught.value) == "account locked; try again in 15 minutes"


def test_a_challenge_is_raised_and_can_be_answered(
    gateway: LiveGateway, real_clock: FakeClock
) -> None:
    idp = emulator_client(gateway.pool.endpoint)
    idp.admin_create_user(
        UserPoolId=gateway.pool.user_pool_id,
        Username="newbie",
        TemporaryPassword="Temp-passw0rd!",
        MessageAction="SUPPRESS",
    )
    with pytest.raises(ChallengeRequired) as caught:
        login(gateway.url, "newbie", "Temp-passw0rd!")
    challenge = caught.value
    assert challenge.challenge_name == "NEW_PASSWORD_REQUIRED"
    assert challenge.session
    assert challenge.session not in str(challenge) + repr(challenge)

    storage = MemoryStorage()
    user = respond_to_challenge(
        gateway.url,
        "newbie",
        challenge.challenge_name,
        challenge.session,
        {"NEW_PASSWORD": "Brand-new-passw0rd!"},
        storage=storage,
        clock=real_clock,
    )
    assert user.username == "newbie"
    assert user.get_session().is_valid()
    assert login(gateway.url, "newbie", "Brand-new-passw0rd!").get_session().is_valid()


def test_sign_out_with_revoke_logs_out_at_the_gateway(
    gateway: LiveGateway, real_clock: FakeClock
) -> None:
    storage = MemoryStorage()
    user = login(gateway.url, "demo", PASSWORD, storage=storage, clock=real_clock)
    refresh_token = user.get_session().refresh_token
    sent: list[httpx.Request] = []
    user.pool._http = httpx.Client(event_hooks={"request": [sent.append]})
    user.sign_out(revoke=True)
    assert [(r.method, r.url.path) for r in sent] == [("POST", "/auth/logout")]
    assert json.loads(sent[0].content) == {"refreshToken": refresh_token.token}
    assert storage.items() == {}
    # The refresh token no longer refreshes.
    again = login(gateway.url, "demo", PASSWORD, storage=MemoryStorage(), clock=real_clock)
    with pytest.raises(RefreshFailed):
        again.refresh_session(refresh_token)


def test_an_unreachable_gateway_is_gateway_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GatewayUnavailable, match="gateway is unavailable"):
        login(f"http://127.0.0.1:{port}", "demo", PASSWORD)


def test_the_async_login_works_the_same(gateway: LiveGateway, real_clock: FakeClock) -> None:
    storage = MemoryStorage()
    user = asyncio.run(alogin(gateway.url, "demo", PASSWORD, storage=storage, clock=real_clock))
    assert asyncio.run(user.aget_session()).is_valid()
    assert current_user(storage).username == "demo"


def test_a_second_gateway_and_pool_do_not_mix(
    gateway_factory: Callable[..., LiveGateway], pool: LocalPool, real_clock: FakeClock
) -> None:
    other = gateway_factory()
    a, b = MemoryStorage(), MemoryStorage()
    login(other.url, "demo", PASSWORD, storage=a, clock=real_clock)
    login(gateway_factory(pool).url, "demo", PASSWORD, storage=b, clock=real_clock)
    assert current_user(a).pool.client_id == other.pool.client_id
    assert current_user(b).pool.client_id == pool.client_id


def test_sign_out_everywhere_ends_the_users_other_sessions(
    gateway: LiveGateway, real_clock: FakeClock
) -> None:
    here = login(gateway.url, "demo", PASSWORD, storage=MemoryStorage(), clock=real_clock)
    elsewhere = login(gateway.url, "demo", PASSWORD, storage=MemoryStorage(), clock=real_clock)
    real_clock.advance(3605)  # the access token needed for "everywhere" is refreshed first
    here.sign_out(revoke=True, everywhere=True)
    with pytest.raises(RefreshFailed):
        elsewhere.get_session()


def test_the_specs_example_works_as_written(gateway: LiveGateway, tmp_path: Path) -> None:
    from cognito_gate.client import CognitoAuth

    user = login(gateway.url, "demo", PASSWORD, storage=FileStorage(tmp_path / "s.json"))
    session = user.get_session()
    assert isinstance(session.access_token.jwt_token, str)
    assert session.access_token.payload["token_use"] == "access"
    assert session.is_valid()
    me = httpx.get(f"{gateway.url}/auth/me", auth=CognitoAuth(user))
    assert me.status_code == 200, me.text


def test_login_refreshes_through_the_gateway_when_the_client_has_a_secret(
    gateway_factory: Callable[..., LiveGateway],
    secret_pool: LocalPool,
    real_clock: FakeClock,
    tmp_path: Path,
) -> None:
    gateway = gateway_factory(secret_pool)
    path = tmp_path / "session.json"
    user = login(gateway.url, "demo", PASSWORD, storage=FileStorage(path), clock=real_clock)
    assert json.loads(path.read_text())["cognito-gate.refreshVia"] == "gateway"
    first = user.get_session()
    real_clock.advance(3605)
    # At Cognito this refresh would need SECRET_HASH, which only the gateway can compute.
    refreshed = user.get_session()
    assert refreshed.is_valid()
    assert refreshed.access_token != first.access_token
