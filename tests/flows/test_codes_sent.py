"""Forgot-password and resend-code: one answer for every name, and budgets per account and address.

"The same" is measured where an attacker measures it: status, body and every header of the
answer, and the calls the gateway makes to Cognito for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cognito_gate.cognito.idp import CognitoIdp
from cognito_gate.cognito.jwt import secret_hash
from cognito_gate.cognito.local import (
    Emulator,
    LocalPool,
    create_user,
    emulator_client,
    provision_pool,
)
from cognito_gate.cognito.local_codes import RESET, SIGNUP
from cognito_gate.server.flow_routes import SENT
from tests.conftest import FakeClock
from tests.flows.conftest import ALICE, EmulatorCalls, code_for, post
from tests.server.conftest import ATTACKER, Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]


def seen(response: httpx.Response) -> tuple[Any, ...]:
    """Everything a caller can see of an answer."""
    return (response.status_code, response.content, sorted(response.headers.items()))


@pytest.mark.parametrize("route", ["/auth/forgot-password", "/auth/resend-code"])
async def test_an_unknown_user_gets_the_known_users_answer_byte_for_byte(
    api_factory: ApiFactory, alice: str, emulator_calls: EmulatorCalls, route: str
) -> None:
    api = api_factory()
    await post(
        api,
        "/auth/signup",
        {
            "username": "dave",
            "password": "Dave-passw0rd!",
            "attributes": {"email": "dave@example.com"},
        },
    )
    # A confirmed user with a verified email (reset) / an unconfirmed user (resend): the ones a
    # code really goes to; and nobody.
    known = ALICE if route == "/auth/forgot-password" else "dave"
    mark = len(emulator_calls.actions)
    real = await post(api, route, {"username": known})
    real_calls = emulator_calls.since(mark)
    mark = len(emulator_calls.actions)
    nobody = await post(api, route, {"username": "no-such-user"})
    nobody_calls = emulator_calls.since(mark)

    assert real.status_code == 202
    assert seen(nobody) == seen(real)
    assert nobody_calls == real_calls
    assert real_calls == [
        "ForgotPassword" if route == "/auth/forgot-password" else "ResendConfirmationCode"
    ]
    assert real.json() == SENT  # no destination, nothing of the account


@pytest.mark.parametrize(
    ("route", "who"),
    [
        ("/auth/forgot-password", "demo"),  # no verified email or phone: Cognito sends nothing
        ("/auth/resend-code", "demo"),  # confirmed already: Cognito refuses
        ("/auth/resend-code", ALICE),
    ],
)
async def test_users_cognito_sends_nothing_to_get_the_same_answer(
    api_factory: ApiFactory, alice: str, route: str, who: str
) -> None:
    api = api_factory()
    answer = await post(api, route, {"username": who})
    nobody = await post(api, route, {"username": "no-such-user"})
    assert seen(answer) == seen(nobody)
    assert answer.status_code == 202


async def test_forgot_password_sends_a_reset_code_to_the_verified_email(
    api_factory: ApiFactory, pool: LocalPool, alice: str, caplog: pytest.LogCaptureFixture
) -> None:
    api = api_factory()
    caplog.set_level("INFO", logger="cognito_gate.cognito.local")
    assert (await post(api, "/auth/forgot-password", {"username": "ALICE"})).status_code == 202
    code = code_for(pool, ALICE, RESET)
    assert f"password reset code for {ALICE} (email a***@e***): {code}" in caplog.text


async def test_a_legacy_client_answers_the_same_too(emulator: Emulator) -> None:
    """Where the app client tells unknown users apart (PreventUserExistenceErrors LEGACY),
    the gateway still does not."""
    from tests.conftest import make_gate

    pool = provision_pool(emulator.endpoint)
    idp = emulator_client(pool.endpoint, pool.region)
    idp.update_user_pool_client(
        UserPoolId=pool.user_pool_id, ClientId=pool.client_id, PreventUserExistenceErrors="LEGACY"
    )
    create_user(
        idp,
        pool.user_pool_id,
        ALICE,
        "Alice-passw0rd!",
        {"email": "alice@example.com", "email_verified": "true"},
    )
    api = Api(make_gate(pool))
    try:
        for route in ("/auth/forgot-password", "/auth/resend-code"):
            real = await post(api, route, {"username": ALICE})
            nobody = await post(api, route, {"username": "no-such-user"})
            assert seen(real) == seen(nobody)
            assert real.status_code == 202
    finally:
        await api.close()
        await api.gate.close()


async def test_codes_sent_to_one_account_are_limited_and_unknown_names_alike(
    api_factory: ApiFactory, clock: FakeClock, alice: str, emulator_calls: EmulatorCalls
) -> None:
    api = api_factory(clock, code_send_max=3, code_send_window_seconds=600)
    mark = len(emulator_calls.actions)
    mine = [await post(api, "/auth/forgot-password", {"username": ALICE}) for _ in range(4)]
    sent = emulator_calls.since(mark).count("ForgotPassword")
    others = [await post(api, "/auth/forgot-password", {"username": "nobody"}) for _ in range(4)]
    assert [seen(a) for a in mine] == [seen(a) for a in others]
    assert [a.status_code for a in mine] == [202, 202, 202, 429]
    assert sent == 3
    assert mine[3].json() == {
        "error": "too_many_requests",
        "message": "Too many requests; try again later.",
        "retryAfter": 600,
    }
    # Resend shares the account's budget: codes sent to it, whatever for.
    assert (await post(api, "/auth/resend-code", {"username": ALICE})).status_code == 429
    clock.advance(601)
    assert (await post(api, "/auth/forgot-password", {"username": ALICE})).status_code == 202


async def test_codes_sent_from_one_address_are_limited(
    api_factory: ApiFactory, clock: FakeClock, emulator_calls: EmulatorCalls
) -> None:
    api = api_factory(clock, code_send_max_per_ip=5)
    statuses = [
        (
            await post(api, "/auth/forgot-password", {"username": f"user{i}"}, ip=ATTACKER)
        ).status_code
        for i in range(8)
    ]
    assert statuses == [202] * 5 + [429] * 3
    mark = len(emulator_calls.actions)
    await post(api, "/auth/forgot-password", {"username": "user9"}, ip=ATTACKER)
    assert emulator_calls.since(mark) == []  # a throttled address costs Cognito nothing
    assert (await post(api, "/auth/forgot-password", {"username": "user9"})).status_code == 202


async def test_two_hundred_requests_at_once_send_at_most_the_budget(
    api_factory: ApiFactory, clock: FakeClock, alice: str, emulator_calls: EmulatorCalls
) -> None:
    import asyncio

    api = api_factory(clock, code_send_max=3)
    answers = await asyncio.gather(
        *(post(api, "/auth/forgot-password", {"username": ALICE}) for _ in range(200))
    )
    sent = emulator_calls.count("ForgotPassword")
    assert 1 <= sent <= 3
    assert sum(a.status_code == 202 for a in answers) == sent
    assert sum(a.status_code == 429 for a in answers) == 200 - sent


async def test_secret_hash_is_computed_over_the_accounts_own_username(
    emulator: Emulator,
) -> None:
    """On a pool where users sign in with their email (the username a generated id) and a client
    with a secret, SECRET_HASH is computed over the account's username, not the email typed."""
    from tests.conftest import make_gate

    pool = provision_pool(
        emulator.endpoint, with_secret=True, username_attributes=["email"], demo_username=None
    )
    idp = emulator_client(pool.endpoint, pool.region)
    internal = create_user(
        idp, pool.user_pool_id, "erin@example.com", "Erin-passw0rd!", {"email_verified": "true"}
    )
    assert internal != "erin@example.com"
    api = Api(make_gate(pool))
    sent: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    gate_idp: CognitoIdp = api.gate.idp
    gate_idp.client.meta.events.register(
        "provide-client-params.cognito-idp.ForgotPassword", capture
    )
    gate_idp.client.meta.events.register(
        "provide-client-params.cognito-idp.ConfirmForgotPassword", capture
    )
    try:
        assert (
            await post(api, "/auth/forgot-password", {"username": "erin@example.com"})
        ).status_code == 202
        code = code_for(pool, internal, RESET)
        done = await post(
            api,
            "/auth/confirm-forgot-password",
            {"username": "erin@example.com", "code": code, "newPassword": "Erin-passw0rd!2"},
        )
        assert done.status_code == 204
    finally:
        await api.close()
        await api.gate.close()
    assert pool.client_secret is not None
    expected = secret_hash(pool.client_secret, internal, pool.client_id)
    assert [p["SecretHash"] for p in sent] == [expected, expected]
    assert [p["Username"] for p in sent] == ["erin@example.com"] * 2  # sent as typed
    assert all(p["UserContextData"]["IpAddress"] for p in sent)


async def test_resend_code_reaches_an_unconfirmed_user(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    body = {"username": "frank", "password": "Frank-passw0rd!", "attributes": {"email": "f@x.org"}}
    assert (await post(api, "/auth/signup", body)).status_code == 201
    first = code_for(pool, "frank", SIGNUP)
    assert (await post(api, "/auth/resend-code", {"username": "Frank"})).status_code == 202
    assert code_for(pool, "frank", SIGNUP) != first
