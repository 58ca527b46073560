"""The HTTP API's contract: routes, fields, status codes and error bodies, per SPEC."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from cognito_gate.cognito.jwt import unverified_claims
from cognito_gate.cognito.local import LocalPool, emulator_client
from tests.conftest import FakeClock
from tests.server.conftest import PASSWORD, Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]
TARGET = "AWSCognitoIdentityProviderService."
TOKEN_FIELDS = {
    "idToken",
    "accessToken",
    "refreshToken",
    "expiresIn",
    "tokenType",
    "username",
    "userPoolId",
    "clientId",
    "region",
}


async def proxy(api: Api, target: str, body: dict[str, object], **headers: str) -> httpx.Response:
    return await api.client().post(
        "/cognito/",
        content=json.dumps(body),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": TARGET + target,
            **headers,
        },
    )


async def test_login_answers_the_tokens_object(api_factory: ApiFactory, pool: LocalPool) -> None:
    api = api_factory()
    answer = await api.login("demo", PASSWORD)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == TOKEN_FIELDS
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == 3600
    assert body["userPoolId"] == pool.user_pool_id
    assert body["clientId"] == pool.client_id
    assert body["region"] == "us-east-1"
    assert body["username"] == unverified_claims(body["idToken"])["cognito:username"]
    assert unverified_claims(body["accessToken"])["token_use"] == "access"
    assert answer.headers["cache-control"] == "no-store"


async def test_a_new_password_challenge_round_trip(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    idp = emulator_client(pool.endpoint)
    idp.admin_create_user(
        UserPoolId=pool.user_pool_id,
        Username="newbie",
        TemporaryPassword="Temp-passw0rd!",
        MessageAction="SUPPRESS",
    )
    api = api_factory()
    challenge = await api.login("newbie", "Temp-passw0rd!")
    assert challenge.status_code == 200
    body = challenge.json()
    assert set(body) == {"challengeName", "session", "challengeParameters"}
    assert body["challengeName"] == "NEW_PASSWORD_REQUIRED"
    answer = await api.client().post(
        "/auth/challenge",
        json={
            "username": "newbie",
            "challengeName": "NEW_PASSWORD_REQUIRED",
            "session": body["session"],
            "responses": {"NEW_PASSWORD": "Brand-new-passw0rd!"},
        },
    )
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == TOKEN_FIELDS
    assert (await api.login("newbie", "Brand-new-passw0rd!")).status_code == 200


async def test_an_unknown_challenge_name_is_invalid(api_factory: ApiFactory) -> None:
    api = api_factory()
    answer = await api.client().post(
        "/auth/challenge",
        json={"username": "demo", "challengeName": "PASSWORD", "session": "s", "responses": {}},
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"


async def test_refresh_keeps_the_refresh_token_cognito_did_not_rotate(
    api_factory: ApiFactory,
) -> None:
    api = api_factory()
    tokens = (await api.login("demo", PASSWORD)).json()
    answer = await api.client().post(
        "/auth/refresh", json={"refreshToken": tokens["refreshToken"], "username": "demo"}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == TOKEN_FIELDS
    assert body["refreshToken"] == tokens["refreshToken"]
    assert body["accessToken"] != tokens["accessToken"]


@pytest.mark.parametrize("token", ["not-a-token", "x" * 9000])
async def test_refresh_with_a_bad_token_is_401(api_factory: ApiFactory, token: str) -> None:
    api = api_factory()
    answer = await api.client().post("/auth/refresh", json={"refreshToken": token})
    assert answer.status_code == 401
    assert answer.json() == {
        "error": "invalid_refresh_token",
        "message": "The refresh token is invalid, expired or revoked.",
    }


async def test_refresh_adds_the_secret_hash_for_a_client_with_a_secret(
    api_factory: ApiFactory, secret_pool: LocalPool
) -> None:
    api = api_factory(target=secret_pool)
    tokens = (await api.login("demo", PASSWORD)).json()
    # The emulator checks SECRET_HASH on refresh: this passes only with the internal username.
    answer = await api.client().post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert answer.status_code == 200, answer.text


async def test_logout_revokes_the_refresh_token(api_factory: ApiFactory) -> None:
    api = api_factory()
    tokens = (await api.login("demo", PASSWORD)).json()
    other = (await api.login("demo", PASSWORD)).json()
    out = await api.client().post("/auth/logout", json={"refreshToken": tokens["refreshToken"]})
    assert out.status_code == 204
    gone = await api.client().post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert gone.status_code == 401
    still = await api.client().post("/auth/refresh", json={"refreshToken": other["refreshToken"]})
    assert still.status_code == 200


async def test_logout_everywhere_ends_every_session(api_factory: ApiFactory) -> None:
    api = api_factory()
    tokens = (await api.login("demo", PASSWORD)).json()
    other = (await api.login("demo", PASSWORD)).json()
    no_bearer = await api.client().post(
        "/auth/logout", json={"refreshToken": tokens["refreshToken"], "everywhere": True}
    )
    assert no_bearer.status_code == 401
    out = await api.client().post(
        "/auth/logout",
        json={"refreshToken": tokens["refreshToken"], "everywhere": True},
        headers={"Authorization": f"Bearer {tokens['accessToken']}"},
    )
    assert out.status_code == 204
    gone = await api.client().post("/auth/refresh", json={"refreshToken": other["refreshToken"]})
    assert gone.status_code == 401


async def test_config_tells_the_client_where_cognito_is(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    body = (await api_factory().client().get("/auth/config")).json()
    assert body["userPoolId"] == pool.user_pool_id
    assert body["clientId"] == pool.client_id
    assert body["region"] == "us-east-1"
    assert body["cognitoEndpoint"] == pool.endpoint
    assert body["clientHasSecret"] is False
    assert body["deviceRemembering"] is False
    assert body["warnings"] == []


async def test_config_no_longer_warns_about_device_remembering(
    api_factory: ApiFactory, emulator: object
) -> None:
    from cognito_gate.cognito.local import provision_pool

    remembering = provision_pool(emulator.endpoint, remember_devices=True)  # type: ignore[attr-defined]
    body = (await api_factory(target=remembering).client().get("/auth/config")).json()
    assert body["deviceRemembering"] is True
    assert body["deviceRememberingMode"] == "always"
    # Remembered devices now work through the gateway (tests/server/test_devices.py).
    assert not any("remembers devices" in w for w in body["warnings"])


async def test_health_readiness_and_metrics(api_factory: ApiFactory) -> None:
    api = api_factory()
    assert (await api.client().get("/healthz")).json() == {"status": "ok"}
    assert (await api.client().get("/readyz")).json() == {"status": "ready"}
    await api.login("demo", "wrong")
    metrics = await api.client().get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'cognito_gate_login_attempts_total{outcome="failure"} 1' in metrics.text


# -- bad input: a clear error with the right status, never a 500 -----------------------------------


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"{}", "username: required"),
        (b'{"username": "demo"}', "password: required"),
        (b'{"username": 5, "password": "x"}', "username"),
        (b'{"username": "demo", "password": ["x"]}', "password"),
        (b'{"username": "   ", "password": "x"}', "username must be"),
        (b'{"username": "de\\u0000mo", "password": "x"}', "control characters"),
        (b'{"username": "demo", "password": ""}', "password must be"),
    ],
)
async def test_malformed_login_bodies_are_422(
    api_factory: ApiFactory, content: bytes, needle: str
) -> None:
    answer = (
        await api_factory()
        .client()
        .post("/auth/login", content=content, headers={"Content-Type": "application/json"})
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_request"
    assert needle in body["message"]
    assert set(body) == {"error", "message"}


async def test_a_body_over_64_kib_is_413(api_factory: ApiFactory) -> None:
    client = api_factory().client()
    big = json.dumps({"username": "demo", "password": "x" * 70_000})
    answer = await client.post(
        "/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["error"] == "payload_too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(70):
            yield b"x" * 1024

    streamed = await client.post("/auth/login", content=chunks())
    assert streamed.status_code == 413


async def test_unknown_routes_answer_in_the_api_shape(api_factory: ApiFactory) -> None:
    answer = await api_factory().client().get("/auth/nothing-here")
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


# -- POST /cognito/: Amplify refreshes through the gateway ------------------------------------------


async def test_cognito_initiate_auth_refresh_answers_in_cognitos_shape(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    tokens = (await api.login("demo", PASSWORD)).json()
    answer = await proxy(
        api,
        "InitiateAuth",
        {
            "ClientId": pool.client_id,
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": tokens["refreshToken"]},
        },
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-amz-json-1.1")
    result = answer.json()["AuthenticationResult"]
    assert set(result) == {"AccessToken", "IdToken", "ExpiresIn", "TokenType"}
    assert unverified_claims(result["AccessToken"])["username"] == "demo"


async def test_cognito_get_tokens_from_refresh_token_falls_back_on_the_emulator(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    tokens = (await api.login("demo", PASSWORD)).json()
    body = {"ClientId": pool.client_id, "RefreshToken": tokens["refreshToken"]}
    for _ in range(2):  # the second call goes straight to REFRESH_TOKEN_AUTH
        answer = await proxy(api, "GetTokensFromRefreshToken", body)
        assert answer.status_code == 200, answer.text
        assert "AccessToken" in answer.json()["AuthenticationResult"]


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("SignUp", {"ClientId": "x"}),
        ("InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {}}),
        ("InitiateAuth", {"AuthFlow": "USER_SRP_AUTH", "AuthParameters": {}}),
        ("InitiateAuth", {"AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {}}),
        ("GetTokensFromRefreshToken", {}),
    ],
)
async def test_cognito_refuses_everything_but_refresh(
    api_factory: ApiFactory, pool: LocalPool, target: str, body: dict[str, object]
) -> None:
    answer = await proxy(api_factory(), target, {"ClientId": pool.client_id, **body})
    assert answer.status_code == 400
    assert answer.json()["__type"] == "InvalidParameterException"
    assert answer.headers["x-amzn-errortype"] == "InvalidParameterException"


async def test_cognito_refuses_another_client_and_revoked_tokens(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    wrong_client = await proxy(
        api, "GetTokensFromRefreshToken", {"ClientId": "someone-else", "RefreshToken": "r"}
    )
    assert wrong_client.json()["__type"] == "ResourceNotFoundException"
    revoked = await proxy(
        api, "GetTokensFromRefreshToken", {"ClientId": pool.client_id, "RefreshToken": "revoked"}
    )
    assert revoked.status_code == 400
    assert revoked.json() == {
        "__type": "NotAuthorizedException",
        "message": "Invalid Refresh Token",
    }


async def test_cognito_ends_an_admin_locked_session_as_cognito_would(
    api_factory: ApiFactory, pool: LocalPool, clock: FakeClock
) -> None:
    api = api_factory(clock)
    tokens = (await api.login("demo", PASSWORD)).json()
    assert (await api.admin("POST", "/admin/accounts/demo/lock")).status_code == 204
    answer = await proxy(
        api,
        "InitiateAuth",
        {
            "ClientId": pool.client_id,
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": tokens["refreshToken"]},
        },
    )
    assert answer.status_code == 400
    assert answer.json() == {"__type": "NotAuthorizedException", "message": "User is disabled."}


async def test_cognito_adds_the_secret_hash(
    api_factory: ApiFactory, secret_pool: LocalPool
) -> None:
    api = api_factory(target=secret_pool)
    tokens = (await api.login("demo", PASSWORD)).json()
    answer = await proxy(
        api,
        "InitiateAuth",
        {
            "ClientId": secret_pool.client_id,
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": tokens["refreshToken"]},
        },
    )
    assert answer.status_code == 200, answer.text


async def test_cors_only_for_configured_origins_and_browser_paths(
    api_factory: ApiFactory,
) -> None:
    api = api_factory(cors_origins="http://localhost:5173")
    preflight = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-amz-target,x-amz-user-agent",
    }
    for path in ("/cognito/", "/auth/login"):
        answer = await api.client().options(path, headers=preflight)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"
    stranger = await api.client().options(
        "/cognito/", headers={**preflight, "Origin": "http://evil.test"}
    )
    assert "access-control-allow-origin" not in stranger.headers
    admin = await api.client().options("/admin/events", headers=preflight)
    assert "access-control-allow-origin" not in admin.headers


async def test_me_answers_the_verified_claims_of_the_access_token(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    tokens = (await api.login("demo", PASSWORD)).json()
    me = await api.client().get(
        "/auth/me", headers={"Authorization": f"Bearer {tokens['accessToken']}"}
    )
    assert me.status_code == 200
    assert me.json()["username"] == "demo"
    assert me.json()["client_id"] == pool.client_id
    for header in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Bearer {tokens['idToken']}"},
    ):
        refused = await api.client().get("/auth/me", headers=header)
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_token"
        assert tokens["idToken"] not in refused.text


async def test_cognito_revoke_token_is_amplifys_own_sign_out(
    api_factory: ApiFactory, secret_pool: LocalPool
) -> None:
    api = api_factory(target=secret_pool)
    tokens = (await api.login("demo", PASSWORD)).json()
    # Amplify sends no ClientSecret (a browser has none); the gateway adds it.
    out = await proxy(
        api, "RevokeToken", {"ClientId": secret_pool.client_id, "Token": tokens["refreshToken"]}
    )
    assert out.status_code == 200
    assert out.json() == {}
    gone = await api.client().post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert gone.status_code == 401


async def test_cognito_get_user_reads_the_attributes(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    tokens = (await api.login("demo", PASSWORD)).json()
    user = await proxy(api, "GetUser", {"AccessToken": tokens["accessToken"]})
    assert user.status_code == 200
    assert user.json()["Username"] == "demo"
    assert "UserAttributes" in user.json()
    refused = await proxy(api, "GetUser", {"AccessToken": "not-a-token"})
    assert refused.status_code == 400
    assert refused.json() == {"__type": "NotAuthorizedException", "message": "Invalid Access Token"}
