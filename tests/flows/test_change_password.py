"""Change password: a password check of the login's own guard, for the holder of an access token."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from tests.conftest import FakeClock
from tests.flows.conftest import NEW_PASSWORD, EmulatorCalls, post
from tests.server.conftest import PASSWORD, Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]


async def access_token(api: Api, password: str = PASSWORD) -> str:
    answer = await api.login("demo", password)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["accessToken"])


async def change(
    api: Api, token: str | None, previous: str, proposed: str = NEW_PASSWORD
) -> tuple[int, dict[str, object]]:
    answer = await post(
        api,
        "/auth/change-password",
        {"previousPassword": previous, "proposedPassword": proposed},
        token=token,
    )
    return answer.status_code, (answer.json() if answer.content else {})


async def test_the_holder_of_an_access_token_changes_the_password(api_factory: ApiFactory) -> None:
    api = api_factory()
    token = await access_token(api)
    assert await change(api, token, PASSWORD) == (204, {})
    assert (await api.login("demo", PASSWORD)).status_code == 401
    assert (await api.login("demo", NEW_PASSWORD)).status_code == 200


async def test_a_wrong_previous_password_counts_as_a_failed_login(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, max_attempts=3)
    token = await access_token(api)
    status, body = await change(api, token, "wrong")
    assert status == 401
    assert body["error"] == "invalid_credentials"
    counted = await api.status("demo")
    assert counted is not None
    assert counted["failures"] == 1

    await api.login("demo", "wrong")
    assert (await change(api, token, "wrong"))[0] == 401  # the third failure locks
    assert (await api.login("demo", PASSWORD)).status_code == 429
    locked, body = await change(api, token, PASSWORD)
    assert locked == 429
    assert body["error"] == "account_locked"


async def test_the_right_previous_password_clears_the_failures(api_factory: ApiFactory) -> None:
    api = api_factory()
    token = await access_token(api)
    await api.login("demo", "wrong")
    assert await change(api, token, PASSWORD) == (204, {})
    assert await api.status("demo") is None


async def test_a_weak_proposed_password_gets_cognitos_policy_text(api_factory: ApiFactory) -> None:
    api = api_factory()
    token = await access_token(api)
    status, body = await change(api, token, PASSWORD, "NoDigits-here!")
    assert status == 400
    assert body == {
        "error": "invalid_password",
        "message": "Password did not conform with policy: Password must have numeric characters",
    }
    assert await api.status("demo") is None


async def test_no_token_or_a_forged_one_is_401_and_counts_nothing(
    api_factory: ApiFactory, emulator_calls: EmulatorCalls
) -> None:
    api = api_factory()
    token = await access_token(api)
    mark = len(emulator_calls.actions)
    assert (await change(api, None, "wrong"))[0] == 401
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["username"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    status, body = await change(api, f"{header}.{forged_payload}.c2ln", "wrong")
    assert status == 401
    assert body["error"] == "invalid_token"
    assert "ChangePassword" not in emulator_calls.since(mark)
    assert await api.status("demo") is None
    assert await api.status("someone-else") is None


async def test_a_signed_out_token_is_refused_by_cognito_and_counts_nothing(
    api_factory: ApiFactory,
) -> None:
    api = api_factory()
    token = await access_token(api)
    refresh = (await api.login("demo", PASSWORD)).json()["refreshToken"]
    out = await post(
        api, "/auth/logout", {"refreshToken": refresh, "everywhere": True}, token=token
    )
    assert out.status_code == 204
    status, body = await change(api, token, "wrong")
    assert status == 401
    assert body["error"] == "invalid_token"
    assert await api.status("demo") is None


async def test_malformed_bodies_are_422(api_factory: ApiFactory) -> None:
    api = api_factory()
    token = await access_token(api)
    answer = await post(api, "/auth/change-password", {"previousPassword": PASSWORD}, token=token)
    assert answer.status_code == 422
    assert PASSWORD not in answer.text
