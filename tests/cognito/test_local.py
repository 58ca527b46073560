"""The embedded emulator: the Cognito calls added to moto, the pool it provisions, its JWKS."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import jwt
import pytest
from botocore.exceptions import ClientError

from cognito_gate.cognito.idp import CognitoIdp
from cognito_gate.cognito.jwt import secret_hash
from cognito_gate.cognito.local import (
    EMULATOR_CREDENTIALS,
    SAFE_AUTH_FLOWS,
    Emulator,
    LocalPool,
    create_user,
    emulator_client,
    provision_pool,
)


def idp_client(pool: LocalPool) -> Any:
    return emulator_client(pool.endpoint, pool.region)


def log_in(
    pool: LocalPool, username: str = "demo", password: str = "Demo-passw0rd!"
) -> dict[str, Any]:
    params = {"USERNAME": username, "PASSWORD": password}
    if pool.client_secret:
        params["SECRET_HASH"] = secret_hash(pool.client_secret, username, pool.client_id)
    answer = idp_client(pool).admin_initiate_auth(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters=params,
    )
    return dict(answer["AuthenticationResult"])


def refresh(pool: LocalPool, refresh_token: str) -> dict[str, Any]:
    answer = idp_client(pool).initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": refresh_token},
    )
    return dict(answer["AuthenticationResult"])


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# -- RevokeToken ----------------------------------------------------------------------------------


def test_revoke_token_stops_the_refresh_token(pool: LocalPool) -> None:
    session = log_in(pool)
    assert refresh(pool, session["RefreshToken"])["AccessToken"]  # works before
    idp_client(pool).revoke_token(Token=session["RefreshToken"], ClientId=pool.client_id)
    with pytest.raises(ClientError) as failed:
        refresh(pool, session["RefreshToken"])
    assert code_of(failed) == "NotAuthorizedException"


def test_revoke_token_ends_the_access_tokens_issued_from_it(pool: LocalPool) -> None:
    idp = idp_client(pool)
    session = log_in(pool)
    refreshed = refresh(pool, session["RefreshToken"])
    for access in (session["AccessToken"], refreshed["AccessToken"]):
        assert idp.get_user(AccessToken=access)["Username"] == "demo"
    idp.revoke_token(Token=session["RefreshToken"], ClientId=pool.client_id)
    for access in (session["AccessToken"], refreshed["AccessToken"]):
        with pytest.raises(ClientError) as failed:
            idp.get_user(AccessToken=access)
        assert code_of(failed) == "NotAuthorizedException"


def test_revoke_token_leaves_the_users_other_sessions_alone(pool: LocalPool) -> None:
    idp = idp_client(pool)
    first, second = log_in(pool), log_in(pool)
    idp.revoke_token(Token=first["RefreshToken"], ClientId=pool.client_id)
    assert idp.get_user(AccessToken=second["AccessToken"])["Username"] == "demo"
    assert refresh(pool, second["RefreshToken"])["IdToken"]


def test_revoking_an_unknown_or_revoked_token_succeeds(pool: LocalPool) -> None:
    idp = idp_client(pool)
    answer = idp.revoke_token(Token="no-such-token", ClientId=pool.client_id)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    session = log_in(pool)
    idp.revoke_token(Token=session["RefreshToken"], ClientId=pool.client_id)
    again = idp.revoke_token(Token=session["RefreshToken"], ClientId=pool.client_id)
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_revoke_token_from_another_client_is_refused(pool: LocalPool) -> None:
    idp = idp_client(pool)
    other = idp.create_user_pool_client(
        UserPoolId=pool.user_pool_id, ClientName="other", ExplicitAuthFlows=SAFE_AUTH_FLOWS
    )["UserPoolClient"]["ClientId"]
    session = log_in(pool)
    with pytest.raises(ClientError) as failed:
        idp.revoke_token(Token=session["RefreshToken"], ClientId=other)
    assert code_of(failed) == "NotAuthorizedException"
    # and the token was not revoked by the refused call
    assert refresh(pool, session["RefreshToken"])["AccessToken"]


def test_logout_through_the_gateway_works_on_the_emulator(pool: LocalPool) -> None:
    from cognito_gate.answers import TokenAnswer
    from cognito_gate.cognito.idp import ClientContext
    from cognito_gate.errors import InvalidRefreshToken
    from tests.conftest import make_gate

    gate = make_gate(pool)

    async def scenario() -> None:
        await gate.start()
        answer = await gate.login("demo", "Demo-passw0rd!", ClientContext(ip="127.0.0.1"))
        assert isinstance(answer, TokenAnswer)
        assert (await gate.refresh(answer.refresh_token, None)).tokens.access_token
        await gate.logout(answer.refresh_token, False, None)
        with pytest.raises(InvalidRefreshToken):
            await gate.refresh(answer.refresh_token, None)

    asyncio.run(scenario())


# -- GetTokensFromRefreshToken: left missing, answered through REFRESH_TOKEN_AUTH -----------------


def test_get_tokens_falls_back_to_refresh_token_auth_on_the_emulator(pool: LocalPool) -> None:
    idp = CognitoIdp(
        user_pool_id=pool.user_pool_id,
        client_id=pool.client_id,
        region=pool.region,
        endpoint=pool.endpoint,
        credentials=EMULATOR_CREDENTIALS,
    )
    session = log_in(pool)
    tokens = asyncio.run(idp.get_tokens(session["RefreshToken"], "demo"))
    assert tokens.id_claims["cognito:username"] == "demo"
    assert tokens.refresh_token is None  # REFRESH_TOKEN_AUTH does not rotate
    # a second call goes straight to the fallback and still works
    assert asyncio.run(idp.get_tokens(session["RefreshToken"], "demo")).access_token


def test_the_emulators_traceback_for_the_missing_call_is_dropped(
    pool: LocalPool, caplog: pytest.LogCaptureFixture
) -> None:
    idp = CognitoIdp(
        user_pool_id=pool.user_pool_id,
        client_id=pool.client_id,
        region=pool.region,
        endpoint=pool.endpoint,
        credentials=EMULATOR_CREDENTIALS,
    )
    session = log_in(pool)
    caplog.set_level(logging.WARNING)
    assert asyncio.run(idp.get_tokens(session["RefreshToken"], "demo")).access_token
    assert not any("get_tokens_from_refresh_token" in r.getMessage() for r in caplog.records)


def test_get_tokens_on_the_emulator_still_refuses_a_revoked_token(pool: LocalPool) -> None:
    from cognito_gate.cognito.idp import CognitoError
    from cognito_gate.errors import InvalidRefreshToken

    idp = CognitoIdp(
        user_pool_id=pool.user_pool_id,
        client_id=pool.client_id,
        region=pool.region,
        endpoint=pool.endpoint,
        credentials=EMULATOR_CREDENTIALS,
    )
    session = log_in(pool)
    asyncio.run(idp.revoke(session["RefreshToken"]))
    with pytest.raises(CognitoError) as failed:
        asyncio.run(idp.get_tokens(session["RefreshToken"], "demo"))
    assert isinstance(failed.value.error, InvalidRefreshToken)


# -- provision_pool -------------------------------------------------------------------------------


def describe(pool: LocalPool) -> tuple[dict[str, Any], dict[str, Any]]:
    idp = idp_client(pool)
    found = idp.describe_user_pool(UserPoolId=pool.user_pool_id)["UserPool"]
    client = idp.describe_user_pool_client(UserPoolId=pool.user_pool_id, ClientId=pool.client_id)
    return found, client["UserPoolClient"]


def test_the_default_pool_is_the_safe_one(pool: LocalPool) -> None:
    found, client = describe(pool)
    assert found["UsernameConfiguration"] == {"CaseSensitive": False}
    assert not found.get("DeviceConfiguration")
    assert sorted(client["ExplicitAuthFlows"]) == sorted(SAFE_AUTH_FLOWS)
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["EnableTokenRevocation"] is True
    assert "ClientSecret" not in client
    assert pool.client_secret is None
    assert (pool.demo_username, pool.demo_password) == ("demo", "Demo-passw0rd!")
    user = idp_client(pool).admin_get_user(UserPoolId=pool.user_pool_id, Username="demo")
    assert user["UserStatus"] == "CONFIRMED"
    assert log_in(pool)["IdToken"]


def test_with_secret_gives_the_client_a_secret(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint, with_secret=True)
    _, client = describe(pool)
    assert pool.client_secret
    assert client["ClientSecret"] == pool.client_secret


def test_remember_devices_sets_a_device_configuration(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint, remember_devices=True)
    found, _ = describe(pool)
    assert found["DeviceConfiguration"] == {
        "ChallengeRequiredOnNewDevice": False,
        "DeviceOnlyRememberedOnUserPrompt": False,
    }


def test_auth_flows_and_case_sensitivity_are_what_was_asked(emulator: Emulator) -> None:
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    pool = provision_pool(emulator.endpoint, auth_flows=flows, case_sensitive=True)
    found, client = describe(pool)
    assert client["ExplicitAuthFlows"] == flows
    assert found["UsernameConfiguration"] == {"CaseSensitive": True}


def test_the_pool_enforces_its_password_policy(pool: LocalPool) -> None:
    with pytest.raises(ClientError) as failed:
        create_user(idp_client(pool), pool.user_pool_id, "weak", "Sh0rt!a")
    assert code_of(failed) == "InvalidPasswordException"


def test_no_demo_user_when_none_asked(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint, demo_username=None)
    users = idp_client(pool).list_users(UserPoolId=pool.user_pool_id)["Users"]
    assert users == []


def test_a_custom_demo_password_logs_in(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint, demo_password="An0ther-passw0rd!")
    assert log_in(pool, password="An0ther-passw0rd!")["AccessToken"]
    with pytest.raises(ClientError):
        log_in(pool)


def test_create_user_is_confirmed_with_its_attributes(pool: LocalPool) -> None:
    idp = idp_client(pool)
    create_user(idp, pool.user_pool_id, "alice", "Alice-passw0rd!", {"email": "a@example.com"})
    user = idp.admin_get_user(UserPoolId=pool.user_pool_id, Username="alice")
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email", "Value": "a@example.com"} in user["UserAttributes"]
    assert log_in(pool, "alice", "Alice-passw0rd!")["IdToken"]


def test_each_provisioned_pool_is_separate(emulator: Emulator) -> None:
    one, two = provision_pool(emulator.endpoint), provision_pool(emulator.endpoint)
    assert one.user_pool_id != two.user_pool_id
    assert one.client_id != two.client_id


# -- JWKS -----------------------------------------------------------------------------------------


def test_the_jwks_is_served_over_http_and_verifies_the_tokens(pool: LocalPool) -> None:
    assert pool.jwks_uri == f"{pool.endpoint}/{pool.user_pool_id}/.well-known/jwks.json"
    answer = httpx.get(pool.jwks_uri, timeout=10)
    assert answer.status_code == 200
    keys = answer.json()["keys"]
    assert keys
    assert all(k["kty"] == "RSA" and k["alg"] == "RS256" for k in keys)
    session = log_in(pool)
    kid = jwt.get_unverified_header(session["IdToken"])["kid"]
    key = next(k for k in keys if k["kid"] == kid)
    claims = jwt.decode(
        session["IdToken"],
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=pool.client_id,
        issuer=pool.issuer,
    )
    assert claims["cognito:username"] == "demo"
    assert claims["token_use"] == "id"


def test_the_issuer_is_the_aws_form_even_on_the_emulator(pool: LocalPool) -> None:
    assert pool.issuer == (f"https://cognito-idp.{pool.region}.amazonaws.com/{pool.user_pool_id}")
    claims = jwt.decode(log_in(pool)["AccessToken"], options={"verify_signature": False})
    assert claims["iss"] == pool.issuer
    assert not pool.issuer.startswith(pool.endpoint)


# -- the emulator itself --------------------------------------------------------------------------


def test_an_emulator_has_no_endpoint_until_started() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError):
        _ = emu.endpoint


def test_the_emulator_serves_on_loopback_and_stops(emulator: Emulator) -> None:
    with Emulator() as emu:
        endpoint = emu.endpoint
        assert endpoint.startswith("http://127.0.0.1:")
        assert endpoint != emulator.endpoint
        pool = provision_pool(endpoint)
        assert log_in(pool)["AccessToken"]
    with pytest.raises(RuntimeError):
        _ = emu.endpoint
    with pytest.raises(httpx.TransportError):
        httpx.get(pool.jwks_uri, timeout=5)


# -- who a name reaches: as Cognito, not as moto --------------------------------------------------


def _code(call: Any) -> str:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "ok"


def test_a_case_insensitive_pool_finds_the_user_under_any_case(pool: LocalPool) -> None:
    assert log_in(pool, "DEMO")["IdToken"]
    idp = idp_client(pool)
    assert idp.admin_get_user(UserPoolId=pool.user_pool_id, Username="Demo")["Username"] == "demo"
    duplicate = _code(lambda: create_user(idp, pool.user_pool_id, "DeMo", "Demo-passw0rd!"))
    assert duplicate == "UsernameExistsException"
    # lower-cased, not case-folded, as Cognito compares
    create_user(idp, pool.user_pool_id, "straße", "Demo-passw0rd!")
    assert _code(lambda: log_in(pool, "STRASSE")) == "UserNotFoundException"
    assert log_in(pool, "STRAßE")["IdToken"]


def test_a_case_sensitive_pool_keeps_case(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint, case_sensitive=True)
    assert _code(lambda: log_in(pool, "DEMO")) == "UserNotFoundException"
    create_user(idp_client(pool), pool.user_pool_id, "DEMO", "Other-passw0rd!")
    assert log_in(pool, "DEMO", "Other-passw0rd!")["IdToken"]


def test_an_email_pool_names_the_account_by_its_generated_username(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint, username_attributes=["email"], demo_username=None)
    username = create_user(idp_client(pool), pool.user_pool_id, "Zed@Example.com", "Demo-passw0rd!")
    for name in ("Zed@Example.com", "zed@example.com", username):
        claims = jwt.decode(
            log_in(pool, name)["IdToken"],
            options={"verify_signature": False},
        )
        assert claims["cognito:username"] == username
        assert claims["email"] == "Zed@Example.com"  # the account's, not the name typed


def test_aliases_reach_the_account_once_verified(emulator: Emulator) -> None:
    pool = provision_pool(
        emulator.endpoint, alias_attributes=["email", "preferred_username"], demo_username=None
    )
    idp = idp_client(pool)
    create_user(
        idp,
        pool.user_pool_id,
        "alice",
        "Demo-passw0rd!",
        {"email": "alice@example.com", "preferred_username": "ally"},
    )
    assert log_in(pool, "ALLY")["IdToken"]
    # an unverified email is no alias, as in Cognito
    assert _code(lambda: log_in(pool, "alice@example.com")) == "UserNotFoundException"
    idp.admin_update_user_attributes(
        UserPoolId=pool.user_pool_id,
        Username="alice",
        UserAttributes=[{"Name": "email_verified", "Value": "true"}],
    )
    assert log_in(pool, "alice@example.com")["IdToken"]


def test_a_global_sign_out_ends_the_sessions_of_every_name(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint, alias_attributes=["email"], demo_username=None)
    idp = idp_client(pool)
    attributes = {"email": "bob@example.com", "email_verified": "true"}
    create_user(idp, pool.user_pool_id, "bob", "Demo-passw0rd!", attributes)
    sessions = [log_in(pool, name) for name in ("bob@example.com", "BOB")]
    idp.admin_user_global_sign_out(UserPoolId=pool.user_pool_id, Username="bob")
    for session in sessions:
        refused = _code(lambda s=session: refresh(pool, s["RefreshToken"]))
        assert refused == "NotAuthorizedException"
