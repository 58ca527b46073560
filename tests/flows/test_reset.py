"""Password reset: forgot-password, then confirm-forgot-password; each answer, each error, and
what a completed reset does to the account's lock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cognito_gate.cognito.local import LocalPool
from cognito_gate.cognito.local_codes import MAILBOX, RESET
from tests.conftest import FakeClock
from tests.flows.conftest import ALICE, ALICE_PASSWORD, NEW_PASSWORD, code_for, post, wrong
from tests.server.conftest import Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]


async def forgot(api: Api, pool: LocalPool, username: str = ALICE) -> str:
    assert (await post(api, "/auth/forgot-password", {"username": username})).status_code == 202
    return code_for(pool, ALICE, RESET)


async def confirm(api: Api, code: str, password: str = NEW_PASSWORD, username: str = ALICE) -> int:
    answer = await post(
        api,
        "/auth/confirm-forgot-password",
        {"username": username, "code": code, "newPassword": password},
    )
    return answer.status_code


async def test_a_reset_sets_the_new_password(
    api_factory: ApiFactory, pool: LocalPool, alice: str
) -> None:
    api = api_factory()
    code = await forgot(api, pool)
    answer = await post(
        api,
        "/auth/confirm-forgot-password",
        {"username": "Alice", "code": code, "newPassword": NEW_PASSWORD},
    )
    assert answer.status_code == 204
    assert answer.content == b""
    assert (await api.login(ALICE, ALICE_PASSWORD)).status_code == 401
    assert (await api.login(ALICE, NEW_PASSWORD)).status_code == 200


async def test_a_completed_reset_lets_a_temporarily_locked_user_log_in_at_once(
    api_factory: ApiFactory, clock: FakeClock, pool: LocalPool, alice: str
) -> None:
    api = api_factory(clock)
    for _ in range(5):
        assert (await api.login(ALICE, "wrong")).status_code == 401
    locked = await api.login(ALICE, ALICE_PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["retryAfter"] == 900

    assert await confirm(api, await forgot(api, pool)) == 204
    status = await api.status(ALICE)
    assert status is None or (status["failures"], status["lockedUntil"]) == (0, None)
    answer = await api.login(ALICE, NEW_PASSWORD)  # no waiting: the clock has not moved
    assert answer.status_code == 200


async def test_a_reset_clears_every_addresss_lock_in_user_ip_scope(
    api_factory: ApiFactory, clock: FakeClock, pool: LocalPool, alice: str
) -> None:
    api = api_factory(clock, lock_scope="user+ip", max_attempts=2)
    for ip in ("198.51.100.7", "198.51.100.8"):
        for _ in range(2):
            await api.login(ALICE, "wrong", ip=ip)
        assert (await api.login(ALICE, ALICE_PASSWORD, ip=ip)).status_code == 429
    assert await confirm(api, await forgot(api, pool)) == 204
    for ip in ("198.51.100.7", "198.51.100.8"):
        assert (await api.login(ALICE, NEW_PASSWORD, ip=ip)).status_code == 200


async def test_a_reset_does_not_end_a_permanent_lockout(
    api_factory: ApiFactory, clock: FakeClock, pool: LocalPool, alice: str
) -> None:
    api = api_factory(clock, max_attempts=2, permanent_after=1)
    for _ in range(2):
        await api.login(ALICE, "wrong")
    status = await api.status(ALICE)
    assert status is not None
    assert status["permanent"] is True
    refused = await post(
        api,
        "/auth/confirm-forgot-password",
        {"username": ALICE, "code": await forgot(api, pool), "newPassword": NEW_PASSWORD},
    )
    assert refused.status_code == 429
    assert "retryAfter" not in refused.json()
    assert (await api.login(ALICE, ALICE_PASSWORD)).status_code == 429
    assert (await api.status(ALICE) or {})["permanent"] is True


async def test_a_wrong_code_a_used_code_and_an_old_code(
    api_factory: ApiFactory, pool: LocalPool, alice: str
) -> None:
    api = api_factory()
    first = await forgot(api, pool)
    mismatch = await post(
        api,
        "/auth/confirm-forgot-password",
        {"username": ALICE, "code": wrong(first), "newPassword": NEW_PASSWORD},
    )
    assert mismatch.status_code == 400
    assert mismatch.json()["error"] == "code_mismatch"

    second = await forgot(api, pool)
    assert second != first
    old = await post(
        api,
        "/auth/confirm-forgot-password",
        {"username": ALICE, "code": first, "newPassword": NEW_PASSWORD},
    )
    assert (old.status_code, old.json()["error"]) == (400, "expired_code")
    assert await confirm(api, second) == 204
    used = await post(
        api,
        "/auth/confirm-forgot-password",
        {"username": ALICE, "code": second, "newPassword": "Another-passw0rd!"},
    )
    assert (used.status_code, used.json()["error"]) == (400, "expired_code")


async def test_an_expired_code_is_expired(
    api_factory: ApiFactory, pool: LocalPool, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = api_factory()
    code = await forgot(api, pool)
    later = FakeClock(MAILBOX.clock() + 3601)
    monkeypatch.setattr(MAILBOX, "clock", later)  # the emulator's clock: an hour has passed
    answer = await post(
        api,
        "/auth/confirm-forgot-password",
        {"username": ALICE, "code": code, "newPassword": NEW_PASSWORD},
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "expired_code")


async def test_a_weak_new_password_gets_cognitos_policy_text_and_is_not_counted(
    api_factory: ApiFactory, pool: LocalPool, alice: str
) -> None:
    api = api_factory(code_max_attempts=1)
    code = await forgot(api, pool)
    weak = await post(
        api,
        "/auth/confirm-forgot-password",
        {"username": ALICE, "code": code, "newPassword": "alllowercase"},
    )
    assert weak.status_code == 400
    assert weak.json() == {
        "error": "invalid_password",
        "message": "Password did not conform with policy: Password must have uppercase characters",
    }
    assert await confirm(api, code) == 204  # the weak password was no wrong guess


@pytest.mark.parametrize(
    "body",
    [
        {"username": ALICE, "code": "123456"},
        {"username": ALICE, "code": "123456", "newPassword": ""},
        {"username": ALICE, "code": "", "newPassword": NEW_PASSWORD},
        {"code": "123456", "newPassword": NEW_PASSWORD},
    ],
)
async def test_malformed_resets_are_422(api_factory: ApiFactory, body: dict[str, str]) -> None:
    answer = await post(api_factory(), "/auth/confirm-forgot-password", body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"
    assert "123456" not in answer.text
