"""Sign-up and its confirmation, over HTTP, on the emulator: each answer and each error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cognito_gate.cognito.local import LocalPool
from cognito_gate.cognito.local_codes import SIGNUP
from tests.conftest import FakeClock
from tests.flows.conftest import code_for, post, wrong
from tests.server.conftest import ATTACKER, Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]
BOB_PASSWORD = "Bob-passw0rd!"
BOB: dict[str, object] = {
    "username": "bob",
    "password": BOB_PASSWORD,
    "attributes": {"email": "bob@example.com"},
}


async def test_a_sign_up_is_created_unconfirmed_and_says_where_the_code_went(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    created = await post(api, "/auth/signup", BOB)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["userConfirmed"] is False
    assert len(body["userSub"]) == 36
    assert body["codeDeliveryDetails"] == {
        "destination": "b***@e***",
        "deliveryMedium": "EMAIL",
        "attributeName": "email",
    }
    assert created.headers["cache-control"] == "no-store"
    assert len(code_for(pool, "bob", SIGNUP)) == 6


async def test_an_unconfirmed_user_cannot_log_in_until_the_code_confirms_it(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    assert (await post(api, "/auth/signup", BOB)).status_code == 201
    before = await api.login("bob", BOB_PASSWORD)
    assert before.status_code == 403
    assert before.json()["error"] == "user_not_confirmed"

    confirmed = await post(
        api, "/auth/confirm-signup", {"username": "bob", "code": code_for(pool, "bob", SIGNUP)}
    )
    assert confirmed.status_code == 204
    assert confirmed.content == b""
    after = await api.login("bob", BOB_PASSWORD)
    assert after.status_code == 200
    assert after.json()["username"] == "bob"


async def test_a_wrong_code_is_code_mismatch_and_counts(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    await post(api, "/auth/signup", BOB)
    right = code_for(pool, "bob", SIGNUP)
    refused = await post(api, "/auth/confirm-signup", {"username": "bob", "code": wrong(right)})
    assert refused.status_code == 400
    assert refused.json() == {"error": "code_mismatch", "message": "The code is wrong."}
    events = (await api.admin("GET", "/admin/events?username=bob")).json()["events"]
    assert [(e["type"], e["outcome"], e["code"]) for e in events[:1]] == [
        ("confirm_signup", "failure", "code_mismatch")
    ]


async def test_a_code_replaced_by_a_new_one_is_expired(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    await post(api, "/auth/signup", BOB)
    first = code_for(pool, "bob", SIGNUP)
    resent = await post(api, "/auth/resend-code", {"username": "bob"})
    assert resent.status_code == 202
    second = code_for(pool, "bob", SIGNUP)
    assert second != first
    old = await post(api, "/auth/confirm-signup", {"username": "bob", "code": first})
    assert old.status_code == 400
    assert old.json() == {
        "error": "expired_code",
        "message": "The code has expired; request a new one.",
    }
    new = await post(api, "/auth/confirm-signup", {"username": "bob", "code": second})
    assert new.status_code == 204


async def test_a_used_code_is_expired(api_factory: ApiFactory, pool: LocalPool) -> None:
    api = api_factory()
    await post(api, "/auth/signup", {**BOB, "username": "carol"})
    code = code_for(pool, "carol", SIGNUP)
    assert (
        await post(api, "/auth/confirm-signup", {"username": "carol", "code": code})
    ).status_code == 204
    again = await post(api, "/auth/confirm-signup", {"username": "carol", "code": code})
    assert again.status_code == 400
    assert again.json()["error"] == "code_mismatch"  # confirmed already: said as a wrong code


async def test_a_taken_username_is_409_username_exists(api_factory: ApiFactory) -> None:
    api = api_factory()
    taken = await post(api, "/auth/signup", {**BOB, "username": "DEMO"})  # case-insensitive pool
    assert taken.status_code == 409
    assert taken.json() == {
        "error": "username_exists",
        "message": "An account with that username already exists.",
    }


async def test_a_weak_password_gets_cognitos_policy_text(api_factory: ApiFactory) -> None:
    api = api_factory()
    weak = await post(api, "/auth/signup", {**BOB, "password": "short"})
    assert weak.status_code == 400
    assert weak.json() == {
        "error": "invalid_password",
        "message": "Password did not conform with policy: Password not long enough",
    }
    no_symbol = await post(api, "/auth/signup", {**BOB, "password": "Longenough1"})
    assert no_symbol.json()["message"].endswith("Password must have symbol characters")
    assert "Longenough1" not in no_symbol.text


@pytest.mark.parametrize(
    "body",
    [
        {"username": "bob"},
        {"username": "bob", "password": ""},
        {"username": 7, "password": "Bob-passw0rd!"},
        {"username": "bob", "password": "Bob-passw0rd!", "attributes": {"email": 1}},
        {"username": "", "password": "Bob-passw0rd!"},
    ],
)
async def test_malformed_sign_ups_are_422(api_factory: ApiFactory, body: dict[str, object]) -> None:
    answer = await post(api_factory(), "/auth/signup", body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"


async def test_malformed_confirmations_are_422(api_factory: ApiFactory) -> None:
    api = api_factory()
    for code in ("", "12 34", "x" * 65):
        answer = await post(api, "/auth/confirm-signup", {"username": "bob", "code": code})
        assert answer.status_code == 422


async def test_sign_ups_are_throttled_per_name(api_factory: ApiFactory, clock: FakeClock) -> None:
    api = api_factory(clock, signup_max=2, signup_window_seconds=600)
    answers = [await post(api, "/auth/signup", {**BOB, "username": "demo"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [409, 409, 429]
    assert answers[2].json()["error"] == "too_many_requests"
    assert answers[2].json()["retryAfter"] == 600
    assert answers[2].headers["retry-after"] == "600"
    clock.advance(601)
    assert (await post(api, "/auth/signup", {**BOB, "username": "demo"})).status_code == 409


async def test_sign_ups_are_throttled_per_address(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, signup_max_per_ip=3)
    statuses = [
        (await post(api, "/auth/signup", {**BOB, "username": f"u{i}"}, ip=ATTACKER)).status_code
        for i in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
    # Another address is not held back.
    assert (await post(api, "/auth/signup", {**BOB, "username": "u9"})).status_code == 201


async def test_a_client_with_a_secret_signs_up_and_confirms(
    api_factory: ApiFactory, secret_pool: LocalPool
) -> None:
    api = api_factory(target=secret_pool)
    assert (await post(api, "/auth/signup", BOB)).status_code == 201
    code = code_for(secret_pool, "bob", SIGNUP)
    assert (
        await post(api, "/auth/confirm-signup", {"username": "bob", "code": code})
    ).status_code == 204
    assert (await api.login("bob", BOB_PASSWORD)).status_code == 200
