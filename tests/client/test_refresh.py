"""Refresh against the emulator: expired tokens are renewed by get_session and stored."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from cognito_gate.client import (
    CognitoUserPool,
    FileStorage,
    MemoryStorage,
    NotSignedIn,
    RefreshFailed,
    current_user,
)
from cognito_gate.client.wire import secret_hash
from cognito_gate.cognito.local import LocalPool, emulator_client
from tests.client.conftest import RefreshCounter, Tokens, log_in, user_for
from tests.conftest import FakeClock

PAST_EXPIRY = 3600 + 5  # the emulator's tokens live an hour


def _keys(pool: LocalPool, username: str = "demo") -> dict[str, str]:
    prefix = f"CognitoIdentityServiceProvider.{pool.client_id}"
    return {
        "id": f"{prefix}.{username}.idToken",
        "access": f"{prefix}.{username}.accessToken",
        "refresh": f"{prefix}.{username}.refreshToken",
        "drift": f"{prefix}.{username}.clockDrift",
        "last": f"{prefix}.LastAuthUser",
    }


def test_a_valid_stored_session_is_returned_without_a_refresh(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    user = user_for(pool, tokens, real_clock)
    session = user.get_session()
    assert session.is_valid()
    assert session.access_token.jwt_token == tokens.access_token
    real_clock.advance(3000)
    assert user.get_session() is session
    assert refresh_counter.count == 0


def test_setup_session_stores_the_js_librarys_keys(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock
) -> None:
    storage = MemoryStorage()
    user_for(pool, tokens, real_clock, storage)
    keys = _keys(pool)
    data = storage.items()
    assert data[keys["id"]] == tokens.id_token
    assert data[keys["access"]] == tokens.access_token
    assert data[keys["refresh"]] == tokens.refresh_token
    assert data[keys["drift"]] == "0"
    assert data[keys["last"]] == "demo"
    assert data["cognito-gate.userPoolId"] == pool.user_pool_id


def test_an_expired_session_is_refreshed_at_the_emulator_and_stored(
    pool: LocalPool,
    tokens: Tokens,
    real_clock: FakeClock,
    refresh_counter: RefreshCounter,
    tmp_path: Path,
) -> None:
    storage = FileStorage(tmp_path / "session.json")
    user = user_for(pool, tokens, real_clock, storage)
    old = user.get_session()
    real_clock.advance(PAST_EXPIRY)
    assert not old.is_valid()

    new = user.get_session()

    assert new.is_valid()
    assert new.access_token.jwt_token != tokens.access_token
    assert new.id_token.jwt_token != tokens.id_token
    assert new.refresh_token.token == tokens.refresh_token  # no rotation: the old one is kept
    assert new.clock_drift == PAST_EXPIRY
    assert refresh_counter.count == 1
    stored = json.loads((tmp_path / "session.json").read_text())
    keys = _keys(pool)
    assert stored[keys["access"]] == new.access_token.jwt_token
    assert stored[keys["id"]] == new.id_token.jwt_token
    assert stored[keys["refresh"]] == tokens.refresh_token
    assert stored[keys["drift"]] == str(PAST_EXPIRY)
    # Another reader of the file now gets the new tokens without refreshing again.
    again = current_user(FileStorage(tmp_path / "session.json"), clock=real_clock).get_session()
    assert again.access_token == new.access_token
    assert refresh_counter.count == 1


def test_the_refresh_is_sent_as_the_js_library_sends_it(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    user = user_for(pool, tokens, real_clock)
    real_clock.advance(PAST_EXPIRY)
    user.get_session()
    [call] = refresh_counter.calls
    assert call["body"] == {
        "ClientId": pool.client_id,
        "AuthFlow": "REFRESH_TOKEN_AUTH",
        "AuthParameters": {"REFRESH_TOKEN": tokens.refresh_token},
    }
    headers = {k.lower(): v for k, v in call["headers"].items()}
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["x-amz-target"] == "AWSCognitoIdentityProviderService.InitiateAuth"
    assert headers["cache-control"] == "no-store"
    assert "authorization" not in headers  # unsigned, as from a browser


def test_a_stored_device_key_is_sent_with_the_refresh(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    storage = MemoryStorage()
    user = user_for(pool, tokens, real_clock, storage)
    storage.set_item(
        f"CognitoIdentityServiceProvider.{pool.client_id}.demo.deviceKey", "us-east-1_dev"
    )
    real_clock.advance(PAST_EXPIRY)
    user.get_session()
    params = refresh_counter.calls[0]["body"]["AuthParameters"]
    assert params["DEVICE_KEY"] == "us-east-1_dev"
    assert user.get_cached_device_key_and_password()["deviceKey"] == "us-east-1_dev"


def test_a_client_with_a_secret_gets_the_secret_hash_of_the_internal_username(
    secret_pool: LocalPool, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    tokens = log_in(secret_pool)
    # The session is keyed by an alias; the hash must still use cognito:username ("demo").
    user = user_for(
        secret_pool,
        tokens,
        real_clock,
        username="Demo.Alias",
        client_secret=secret_pool.client_secret,
    )
    real_clock.advance(PAST_EXPIRY)
    session = user.get_session()
    assert session.is_valid()
    assert secret_pool.client_secret is not None
    expected = secret_hash(secret_pool.client_secret, "demo", secret_pool.client_id)
    assert refresh_counter.calls[0]["body"]["AuthParameters"]["SECRET_HASH"] == expected


def test_the_hash_of_the_alias_is_refused_which_is_why_it_is_not_used(
    secret_pool: LocalPool,
) -> None:
    tokens = log_in(secret_pool)
    assert secret_pool.client_secret is not None
    idp = emulator_client(secret_pool.endpoint)
    wrong = secret_hash(secret_pool.client_secret, "Demo.Alias", secret_pool.client_id)
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        idp.initiate_auth(
            ClientId=secret_pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens.refresh_token, "SECRET_HASH": wrong},
        )


def test_a_secret_client_without_the_secret_fails_and_clears_the_session(
    secret_pool: LocalPool, real_clock: FakeClock
) -> None:
    tokens = log_in(secret_pool)
    storage = MemoryStorage()
    user = user_for(secret_pool, tokens, real_clock, storage)
    real_clock.advance(PAST_EXPIRY)
    with pytest.raises(RefreshFailed) as caught:
        user.get_session()
    assert tokens.refresh_token not in str(caught.value)
    keys = _keys(secret_pool)
    assert all(storage.get_item(keys[k]) is None for k in ("id", "access", "refresh", "last"))
    with pytest.raises(NotSignedIn):
        user.get_session()


def test_a_revoked_refresh_token_ends_the_session(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock
) -> None:
    storage = MemoryStorage()
    storage.set_item(f"CognitoIdentityServiceProvider.{pool.client_id}.demo.deviceKey", "dk")
    user = user_for(pool, tokens, real_clock, storage)
    emulator_client(pool.endpoint).global_sign_out(AccessToken=tokens.access_token)
    real_clock.advance(PAST_EXPIRY)
    with pytest.raises(RefreshFailed, match="log in again") as caught:
        user.get_session()
    assert tokens.refresh_token not in repr(caught.value)
    # As the JS library: tokens and LastAuthUser go, device keys stay.
    remaining = {k.rsplit(".", 1)[-1] for k in storage.items() if k.startswith("Cognito")}
    assert remaining == {"deviceKey"}


def test_refresh_session_refreshes_now_and_returns_the_stored_session(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    storage = MemoryStorage()
    user = user_for(pool, tokens, real_clock, storage)
    new = user.refresh_session()
    assert refresh_counter.count == 1
    assert new.access_token.jwt_token != tokens.access_token
    assert storage.get_item(_keys(pool)["access"]) == new.access_token.jwt_token
    assert user.get_session() is new


def test_refresh_session_takes_a_refresh_token(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock
) -> None:
    other = log_in(pool)
    user = user_for(pool, tokens, real_clock)
    new = user.refresh_session(other.refresh_token)
    assert new.refresh_token.token == other.refresh_token


def test_the_async_variant_refreshes_too(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    user = user_for(pool, tokens, real_clock)
    real_clock.advance(PAST_EXPIRY)
    session = asyncio.run(user.aget_session())
    assert session.is_valid()
    assert session.access_token.jwt_token != tokens.access_token
    assert refresh_counter.count == 1
    forced = asyncio.run(user.arefresh_session())
    assert forced.access_token != session.access_token
    assert refresh_counter.count == 2


def test_nothing_stored_means_not_signed_in(pool: LocalPool) -> None:
    pool_obj = CognitoUserPool(pool.user_pool_id, pool.client_id, storage=MemoryStorage())
    assert pool_obj.get_current_user() is None
    from cognito_gate.client import CognitoUser

    with pytest.raises(NotSignedIn, match="log in"):
        CognitoUser("demo", pool_obj).get_session()


def test_an_expired_session_without_a_refresh_token_needs_a_new_login(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock
) -> None:
    user = user_for(pool, Tokens("demo", tokens.id_token, tokens.access_token, ""), real_clock)
    real_clock.advance(PAST_EXPIRY)
    with pytest.raises(NotSignedIn, match="no refresh token"):
        user.get_session()


def test_the_current_user_comes_from_last_auth_user(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock
) -> None:
    storage = MemoryStorage()
    user_for(pool, tokens, real_clock, storage)
    again = CognitoUserPool(pool.user_pool_id, pool.client_id, storage=storage).get_current_user()
    assert again is not None
    assert again.username == "demo"
    restored = CognitoUserPool.from_storage(storage)
    assert restored.endpoint == pool.endpoint
    assert restored.client_id == pool.client_id


def test_sign_out_forgets_the_session(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock
) -> None:
    storage = MemoryStorage()
    user = user_for(pool, tokens, real_clock, storage)
    user.sign_out()
    assert storage.items() == {}
    with pytest.raises(NotSignedIn):
        user.get_session()


def test_sign_out_with_revoke_revokes_the_refresh_token_at_cognito(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock
) -> None:
    user = user_for(pool, tokens, real_clock)
    user.sign_out(revoke=True)
    idp = emulator_client(pool.endpoint)
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        idp.initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens.refresh_token},
        )


def test_an_unreachable_cognito_is_cognito_unavailable_and_keeps_the_session(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock
) -> None:
    from cognito_gate.client import CognitoUnavailable
    from cognito_gate.client.wire import RetryPolicy

    storage = MemoryStorage()
    attempts: list[httpx.Request] = []

    def down(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ConnectError("refused", request=request)

    user = user_for(
        pool,
        tokens,
        real_clock,
        storage,
        http_client=httpx.Client(transport=httpx.MockTransport(down)),
    )
    user.pool.retry = RetryPolicy(attempts=3, base_delay=0.001)
    real_clock.advance(PAST_EXPIRY)
    with pytest.raises(CognitoUnavailable, match="unavailable"):
        user.get_session()
    assert len(attempts) == 3
    assert storage.get_item(_keys(pool)["refresh"]) == tokens.refresh_token
