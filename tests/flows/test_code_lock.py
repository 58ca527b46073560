"""Guessing codes locks the code routes as guessing passwords locks login: counted where the
emulator receives the guesses, reserved before Cognito is called."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from cognito_gate.cognito.local import LocalPool
from cognito_gate.cognito.local_codes import RESET, SIGNUP
from tests.conftest import FakeClock
from tests.flows.conftest import ALICE, NEW_PASSWORD, CheckCounter, code_for, post, wrong
from tests.server.conftest import ATTACKER, Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]


def reset_body(code: str, username: str = ALICE) -> dict[str, str]:
    return {"username": username, "code": code, "newPassword": NEW_PASSWORD}


async def test_the_limit_of_wrong_reset_codes_locks_even_the_right_one_out(
    api_factory: ApiFactory,
    clock: FakeClock,
    pool: LocalPool,
    alice: str,
    code_checks: dict[str, CheckCounter],
) -> None:
    api = api_factory(clock, code_max_attempts=3, lockout_seconds=300)
    await post(api, "/auth/forgot-password", {"username": ALICE})
    right = code_for(pool, ALICE, RESET)
    guesses = [
        await post(api, "/auth/confirm-forgot-password", reset_body(wrong(right))) for _ in range(3)
    ]
    assert [g.json()["error"] for g in guesses] == ["code_mismatch"] * 3
    checks = code_checks["confirm_forgot_password"].count
    assert checks == 3

    locked = await post(api, "/auth/confirm-forgot-password", reset_body(right))
    assert locked.status_code == 429
    assert locked.json()["error"] == "account_locked"
    assert locked.json()["retryAfter"] == 300
    assert locked.headers["retry-after"] == "300"
    assert code_checks["confirm_forgot_password"].count == checks  # Cognito was not asked

    # The code lock is not a login lock: the password still logs in.
    assert (await api.login(ALICE, "Alice-passw0rd!")).status_code == 200

    clock.advance(301)
    done = await post(api, "/auth/confirm-forgot-password", reset_body(right))
    assert done.status_code == 204
    assert (await api.login(ALICE, NEW_PASSWORD)).status_code == 200


async def test_two_hundred_wrong_codes_at_once_reach_cognito_at_most_the_limit(
    api_factory: ApiFactory,
    clock: FakeClock,
    pool: LocalPool,
    alice: str,
    code_checks: dict[str, CheckCounter],
) -> None:
    api = api_factory(clock)  # COGNITO_GATE_CODE_MAX_ATTEMPTS: 5
    await post(api, "/auth/forgot-password", {"username": ALICE})
    right = code_for(pool, ALICE, RESET)
    answers = await asyncio.gather(
        *(
            post(api, "/auth/confirm-forgot-password", reset_body(wrong(right)), ip=ATTACKER)
            for _ in range(200)
        )
    )
    reached = code_checks["confirm_forgot_password"].count
    assert 1 <= reached <= 5
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(400) == reached
    assert statuses.count(429) == 200 - reached
    assert (await post(api, "/auth/confirm-forgot-password", reset_body(right))).status_code == 429


async def test_two_hundred_wrong_sign_up_codes_at_once_reach_cognito_at_most_the_limit(
    api_factory: ApiFactory,
    clock: FakeClock,
    pool: LocalPool,
    code_checks: dict[str, CheckCounter],
) -> None:
    api = api_factory(clock, code_max_attempts=4)
    body = {"username": "gina", "password": "Gina-passw0rd!", "attributes": {"email": "g@x.org"}}
    assert (await post(api, "/auth/signup", body)).status_code == 201
    right = code_for(pool, "gina", SIGNUP)
    answers = await asyncio.gather(
        *(
            post(api, "/auth/confirm-signup", {"username": "gina", "code": wrong(right)})
            for _ in range(200)
        )
    )
    reached = code_checks["confirm_sign_up"].count
    assert 1 <= reached <= 4
    assert sum(a.status_code == 400 for a in answers) == reached
    refused = await post(api, "/auth/confirm-signup", {"username": "GINA", "code": right})
    assert refused.status_code == 429  # every name of the account shares the lock


async def test_an_unknown_users_codes_are_counted_and_locked_alike(
    api_factory: ApiFactory, clock: FakeClock, code_checks: dict[str, CheckCounter]
) -> None:
    api = api_factory(clock, code_max_attempts=2)
    answers = [
        await post(api, "/auth/confirm-forgot-password", reset_body("123456", "nobody"))
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [400, 400, 429]
    assert [a.json()["error"] for a in answers] == [
        "code_mismatch",
        "code_mismatch",
        "account_locked",
    ]
    assert code_checks["confirm_forgot_password"].count == 2


async def test_in_opaque_mode_a_locked_code_route_answers_as_a_wrong_code(
    api_factory: ApiFactory, clock: FakeClock, pool: LocalPool, alice: str
) -> None:
    api = api_factory(clock, code_max_attempts=2, lockout_response="opaque")
    await post(api, "/auth/forgot-password", {"username": ALICE})
    right = code_for(pool, ALICE, RESET)
    first = await post(api, "/auth/confirm-forgot-password", reset_body(wrong(right)))
    await post(api, "/auth/confirm-forgot-password", reset_body(wrong(right)))
    locked = await post(api, "/auth/confirm-forgot-password", reset_body(right))
    assert (locked.status_code, locked.content) == (first.status_code, first.content)
    assert "retry-after" not in locked.headers


async def test_wrong_codes_count_on_the_addresss_throttle(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, ip_max_attempts=3, code_max_attempts=100)
    for i in range(3):
        answer = await post(
            api, "/auth/confirm-signup", {"username": f"n{i}", "code": "123456"}, ip=ATTACKER
        )
        assert answer.status_code == 400
    throttled = await post(
        api, "/auth/confirm-signup", {"username": "n9", "code": "123456"}, ip=ATTACKER
    )
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "too_many_requests"
    # Wrong codes and wrong passwords share the address's budget.
    assert (await api.login("demo", "Demo-passw0rd!", ip=ATTACKER)).status_code == 429


async def test_an_admin_locked_account_cannot_reset_its_password(
    api_factory: ApiFactory, pool: LocalPool, alice: str
) -> None:
    api = api_factory()
    assert (await api.admin("POST", f"/admin/accounts/{ALICE}/lock")).status_code == 204
    assert (await post(api, "/auth/forgot-password", {"username": ALICE})).status_code == 202
    refused = await post(
        api, "/auth/confirm-forgot-password", reset_body(code_for(pool, ALICE, RESET))
    )
    assert refused.status_code == 429
    assert refused.json()["error"] == "account_locked"
    assert "retryAfter" not in refused.json()
    assert (await api.login(ALICE, "Alice-passw0rd!")).status_code == 429
