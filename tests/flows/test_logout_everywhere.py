"""``POST /auth/logout`` with ``everywhere: true`` ends every session of the user: none refreshes
through the gateway, nor at Cognito itself (InitiateAuth REFRESH_TOKEN_AUTH at the emulator)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cognito_gate.cognito.local import LocalPool, create_user, emulator_client
from tests.flows.conftest import post
from tests.server.conftest import PASSWORD, Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]


def cognito_refresh(pool: LocalPool, refresh_token: str) -> dict[str, Any]:
    """Refresh straight at the emulator, as Amplify does without the gateway."""
    answer = emulator_client(pool.endpoint, pool.region).initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": refresh_token},
    )
    return dict(answer["AuthenticationResult"])


async def test_every_session_is_refused_by_the_gateway_and_by_cognito(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    # Three sessions, opened under different spellings of the name, from two addresses.
    sessions = [
        (await api.login(name, PASSWORD, ip=ip)).json()
        for name, ip in (
            ("demo", "198.51.100.7"),
            ("DEMO", "198.51.100.8"),
            (" Demo", "198.51.100.7"),
        )
    ]
    for s in sessions:
        assert cognito_refresh(pool, s["refreshToken"])["AccessToken"]  # all alive before
    create_user(emulator_client(pool.endpoint, pool.region), pool.user_pool_id, "olga", PASSWORD)
    other = (await api.login("olga", PASSWORD)).json()

    out = await post(
        api,
        "/auth/logout",
        {"refreshToken": sessions[0]["refreshToken"], "everywhere": True},
        token=sessions[0]["accessToken"],
    )
    assert out.status_code == 204

    for s in sessions:
        refused = await post(api, "/auth/refresh", {"refreshToken": s["refreshToken"]})
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_refresh_token"
        with pytest.raises(ClientError) as at_cognito:
            cognito_refresh(pool, s["refreshToken"])
        assert at_cognito.value.response["Error"]["Code"] == "NotAuthorizedException"
        proxied = await api.client().post(
            "/cognito/",
            json={
                "ClientId": pool.client_id,
                "AuthFlow": "REFRESH_TOKEN_AUTH",
                "AuthParameters": {"REFRESH_TOKEN": s["refreshToken"]},
            },
            headers={
                "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        assert proxied.status_code == 400
        assert proxied.json()["__type"] == "NotAuthorizedException"
        me = await api.client().get(
            "/auth/me", headers={"Authorization": f"Bearer {s['accessToken']}"}
        )
        assert me.status_code == 200  # JWTs stay valid offline until they expire, as on AWS

    # Someone else's session is not touched.
    assert cognito_refresh(pool, other["refreshToken"])["AccessToken"]
    kept = await post(api, "/auth/refresh", {"refreshToken": other["refreshToken"]})
    assert kept.status_code == 200
    # The user logs in again afterwards, and that session works.
    again = (await api.login("demo", PASSWORD)).json()
    assert cognito_refresh(pool, again["refreshToken"])["AccessToken"]
