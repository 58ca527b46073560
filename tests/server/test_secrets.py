"""No password, token or secret in any log line or error body, even with DEBUG logging on."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest

from cognito_gate.cognito.jwt import secret_hash
from cognito_gate.cognito.local import LocalPool
from tests.server.conftest import PASSWORD, Api

pytestmark = pytest.mark.anyio
WRONG = "Wrong-Secret-passw0rd-42"


async def test_a_run_with_wrong_and_right_passwords_logs_no_secret(
    api_factory: Callable[..., Api], secret_pool: LocalPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = api_factory(target=secret_pool)
    bodies: list[str] = []
    for _ in range(3):
        bodies.append((await api.login("demo", WRONG)).text)
    bodies.append((await api.login("nobody", WRONG)).text)
    tokens = (await api.login("demo", PASSWORD)).json()
    refreshed = await api.client().post(
        "/auth/refresh", json={"refreshToken": tokens["refreshToken"]}
    )
    new = refreshed.json()
    proxied = await api.client().post(
        "/cognito/",
        content=json.dumps(
            {"ClientId": secret_pool.client_id, "RefreshToken": tokens["refreshToken"]}
        ),
        headers={
            "X-Amz-Target": "AWSCognitoIdentityProviderService.GetTokensFromRefreshToken",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert proxied.status_code == 200
    bodies.append(
        (
            await api.client().post(
                "/auth/logout",
                json={"refreshToken": tokens["refreshToken"], "everywhere": True},
                headers={"Authorization": f"Bearer {tokens['accessToken']}"},
            )
        ).text
    )
    bodies.append(
        (
            await api.client().post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
        ).text
    )
    for _ in range(3):
        bodies.append((await api.login("demo", WRONG)).text)  # now locked
    assert secret_pool.client_secret is not None
    secrets = {
        "wrong password": WRONG,
        "right password": PASSWORD,
        "client secret": secret_pool.client_secret,
        "secret hash": secret_hash(secret_pool.client_secret, "demo", secret_pool.client_id),
        "id token": tokens["idToken"],
        "access token": tokens["accessToken"],
        "refresh token": tokens["refreshToken"],
        "refreshed access token": new["accessToken"],
        # a token's signature alone would still be a leak
        "access token signature": tokens["accessToken"].rsplit(".", 1)[1],
    }
    logged = caplog.text
    assert len(caplog.records) > 10  # the run did log, at every level
    for what, secret in secrets.items():
        assert secret not in logged, f"the {what} was logged"
        for body in bodies:
            assert secret not in body, f"the {what} was echoed in an error body"
