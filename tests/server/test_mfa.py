"""A TOTP challenge end to end on the emulator: a wrong code counts, the right one logs in."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from cognito_gate.cognito.local import LocalPool, emulator_client
from tests.conftest import FakeClock
from tests.server.conftest import PASSWORD, Api

pytestmark = pytest.mark.anyio


def current_code(secret: str) -> str:
    """The authenticator app's code now, kept clear of a 30-second step's last seconds."""
    if time.time() % 30 > 27:
        time.sleep(30 - time.time() % 30 + 0.1)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    totp = TOTP(key, 6, SHA1(), 30, enforce_key_length=False)
    return totp.generate(time.time()).decode()


@pytest.fixture
def mfa_secret(pool: LocalPool, monkeypatch: pytest.MonkeyPatch) -> str:
    """The demo user with TOTP MFA set up, as an authenticator app would."""
    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
    idp = emulator_client(pool.endpoint)
    idp.set_user_pool_mfa_config(
        UserPoolId=pool.user_pool_id,
        SoftwareTokenMfaConfiguration={"Enabled": True},
        MfaConfiguration="OPTIONAL",
    )
    access = idp.admin_initiate_auth(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "demo", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]
    secret = str(idp.associate_software_token(AccessToken=access)["SecretCode"])
    idp.verify_software_token(AccessToken=access, UserCode=current_code(secret))
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool.user_pool_id,
        Username="demo",
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    return secret


async def test_a_totp_challenge_counts_wrong_codes_and_accepts_the_right_one(
    api_factory: Callable[..., Api], clock: FakeClock, mfa_secret: str
) -> None:
    api = api_factory(clock, max_attempts=3)
    challenge = (await api.login("demo", PASSWORD)).json()
    assert challenge["challengeName"] == "SOFTWARE_TOKEN_MFA"
    assert await api.status("demo") is None  # a right password is not a failure

    async def answer(code: str) -> dict[str, object]:
        response = await api.client().post(
            "/auth/challenge",
            json={
                "username": "demo",
                "challengeName": "SOFTWARE_TOKEN_MFA",
                "session": challenge["session"],
                "responses": {"SOFTWARE_TOKEN_MFA_CODE": code},
            },
        )
        return {"status": response.status_code, **response.json()}

    right = current_code(mfa_secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    refused = await answer(wrong)
    assert refused["status"] == 401
    assert refused["error"] == "invalid_credentials"
    status = await api.status("demo")
    assert status is not None
    assert status["failures"] == 1  # a wrong code counts as a failed attempt
    tokens = await answer(current_code(mfa_secret))
    assert tokens["status"] == 200
    assert {"idToken", "accessToken", "refreshToken"} <= set(tokens)
    assert await api.status("demo") is None  # the success cleared the failure


async def test_wrong_codes_lock_the_account_like_wrong_passwords(
    api_factory: Callable[..., Api], clock: FakeClock, mfa_secret: str
) -> None:
    api = api_factory(clock, max_attempts=2)
    challenge = (await api.login("demo", PASSWORD)).json()
    right = current_code(mfa_secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    body = {
        "username": "demo",
        "challengeName": "SOFTWARE_TOKEN_MFA",
        "session": challenge["session"],
        "responses": {"SOFTWARE_TOKEN_MFA_CODE": wrong},
    }
    answers = [
        (await api.client().post("/auth/challenge", json=body)).status_code for _ in range(3)
    ]
    assert answers == [401, 401, 429]
    assert (await api.login("demo", PASSWORD)).status_code == 429
