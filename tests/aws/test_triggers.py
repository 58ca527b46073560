"""The same lock inside Cognito: direct sign-ins (a client that bypasses the gateway, calling
``InitiateAuth`` USER_PASSWORD_AUTH) go through the Pre and Post Authentication triggers, which
the embedded emulator runs in-process where the pool's LambdaConfig names them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx
from botocore.config import Config

from cognito_gate.cognito import local_triggers, marker
from cognito_gate.cognito.local import EMULATOR_CREDENTIALS
from tests.aws.conftest import (
    MAX_ATTEMPTS,
    PASSWORD,
    SECRET,
    SETTLE,
    WRONG,
    TriggerPool,
    admin_headers,
    sign_in,
)
from tests.conftest import LiveGateway


def gateway_for(
    factory: Callable[..., LiveGateway], world: TriggerPool, store_url: str, **overrides: Any
) -> LiveGateway:
    """The gateway in front of the same pool, on the same store and clock, marking its checks."""
    values: dict[str, Any] = {
        "store": store_url,
        "max_attempts": MAX_ATTEMPTS,
        "trigger_secret": SECRET,
    }
    values.update(overrides)
    return factory(world.pool, world.clock, **values)


def login(gateway: LiveGateway, password: str, username: str = "demo") -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/auth/login", json={"username": username, "password": password}
    )


def status(gateway: LiveGateway, username: str = "demo") -> dict[str, Any]:
    answer = httpx.get(f"{gateway.url}/admin/accounts/{username}", headers=admin_headers())
    if answer.status_code == 404:
        return {"failures": 0, "lockedUntil": None, "adminLocked": False}
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_wrong_passwords_through_cognito_lock_the_account_once_the_settle_time_passes(
    trigger_pool: TriggerPool, gateway_factory: Callable[..., LiveGateway], store_url: str
) -> None:
    gateway = gateway_for(gateway_factory, trigger_pool, store_url)
    checked = [trigger_pool.sign_in(WRONG) for _ in range(MAX_ATTEMPTS)]
    assert checked == ["NotAuthorizedException"] * MAX_ATTEMPTS
    # Their reservations fill the budget until a success settles them or the settle time ends.
    assert trigger_pool.sign_in(PASSWORD) == "UserLambdaValidationException"
    assert "Too many sign-in attempts at once" in trigger_pool.message(PASSWORD)
    assert status(gateway)["failures"] == 0

    trigger_pool.clock.advance(SETTLE + 1)
    message = trigger_pool.message(PASSWORD)
    assert message.startswith("PreAuthentication failed with error The account is locked;")
    assert "try again in 899 seconds" in message  # locked at the reservations' expiry
    # The gateway reads the same record: the account is locked there too.
    refused = login(gateway, PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["error"] == "account_locked"

    trigger_pool.clock.advance(900)
    assert trigger_pool.sign_in(PASSWORD) == "tokens"


def test_a_locked_account_is_refused_by_cognito_itself(
    trigger_pool: TriggerPool, gateway_factory: Callable[..., LiveGateway], store_url: str
) -> None:
    gateway = gateway_for(gateway_factory, trigger_pool, store_url)
    answers = [login(gateway, WRONG).status_code for _ in range(MAX_ATTEMPTS)]
    assert answers == [401] * MAX_ATTEMPTS
    assert login(gateway, PASSWORD).status_code == 429
    # The right password, sent to Cognito directly: Cognito refuses it, through the trigger.
    assert trigger_pool.sign_in(PASSWORD) == "UserLambdaValidationException"
    assert "The account is locked" in trigger_pool.message(PASSWORD)


def test_at_most_max_attempts_of_200_concurrent_direct_sign_ins_reach_the_password_check(
    trigger_pool: TriggerPool,
) -> None:
    idp = boto3.client(
        "cognito-idp",
        endpoint_url=trigger_pool.pool.endpoint,
        region_name=trigger_pool.pool.region,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=200),
        **EMULATOR_CREDENTIALS,
    )
    start = threading.Barrier(200)

    def attempt(_: int) -> str:
        start.wait()
        return sign_in(idp, trigger_pool.direct_client_id, "demo", WRONG)

    with ThreadPoolExecutor(max_workers=200) as pool:
        answers = Counter(pool.map(attempt, range(200)))
    # "Incorrect username or password" is Cognito's answer after it checked the password.
    assert 1 <= answers["NotAuthorizedException"] <= MAX_ATTEMPTS
    assert answers["NotAuthorizedException"] + answers["UserLambdaValidationException"] == 200
    trigger_pool.clock.advance(SETTLE + 1)
    assert "The account is locked" in trigger_pool.message(PASSWORD)


def test_a_success_clears_the_failures_and_settles_the_attempts_before_it(
    trigger_pool: TriggerPool, gateway_factory: Callable[..., LiveGateway], store_url: str
) -> None:
    gateway = gateway_for(gateway_factory, trigger_pool, store_url)
    assert login(gateway, WRONG).status_code == 401  # a failure recorded by the gateway
    assert trigger_pool.sign_in(WRONG) == "NotAuthorizedException"
    assert trigger_pool.sign_in(PASSWORD) == "tokens"
    trigger_pool.clock.advance(SETTLE + 1)
    assert status(gateway)["failures"] == 0
    # A fresh budget: MAX_ATTEMPTS checks again before anything is refused.
    checked = [trigger_pool.sign_in(WRONG) for _ in range(MAX_ATTEMPTS)]
    assert checked == ["NotAuthorizedException"] * MAX_ATTEMPTS


def test_an_admin_lock_through_the_gateway_refuses_direct_sign_ins(
    trigger_pool: TriggerPool, gateway_factory: Callable[..., LiveGateway], store_url: str
) -> None:
    gateway = gateway_for(gateway_factory, trigger_pool, store_url)
    locked = httpx.post(f"{gateway.url}/admin/accounts/demo/lock", headers=admin_headers())
    assert locked.status_code == 204
    assert trigger_pool.sign_in(PASSWORD) == "UserLambdaValidationException"
    assert (
        trigger_pool.message(PASSWORD)
        == "PreAuthentication failed with error The account is locked."
    )
    unlocked = httpx.post(f"{gateway.url}/admin/accounts/demo/unlock", headers=admin_headers())
    assert unlocked.status_code == 204
    assert trigger_pool.sign_in(PASSWORD) == "tokens"


def test_one_wrong_password_through_the_gateway_counts_once(
    trigger_pool: TriggerPool, gateway_factory: Callable[..., LiveGateway], store_url: str
) -> None:
    gateway = gateway_for(gateway_factory, trigger_pool, store_url)
    assert login(gateway, WRONG).status_code == 401
    assert status(gateway)["failures"] == 1
    trigger_pool.clock.advance(SETTLE + 1)  # no reservation of the trigger's left to count
    assert status(gateway)["failures"] == 1
    assert login(gateway, PASSWORD).status_code == 200


def test_without_the_shared_secret_the_gateway_s_checks_count_twice(
    trigger_pool: TriggerPool, gateway_factory: Callable[..., LiveGateway], store_url: str
) -> None:
    gateway = gateway_for(gateway_factory, trigger_pool, store_url, trigger_secret=None)
    assert login(gateway, WRONG).status_code == 401
    trigger_pool.clock.advance(SETTLE + 1)
    assert status(gateway)["failures"] == 2  # the gateway's, and the trigger's unsettled one


def test_a_forged_or_stale_mark_counts_as_no_mark(trigger_pool: TriggerPool) -> None:
    pool_id, now = trigger_pool.pool.user_pool_id, trigger_pool.clock()
    forged = marker.sign("not-the-secret-0123456789", pool_id, "demo", "0" * 32, now)
    stale = marker.sign(SECRET, pool_id, "demo", "1" * 32, now - marker.MAX_AGE - 1)
    other = marker.sign(SECRET, pool_id, "someone-else", "2" * 32, now)
    for token in (forged, stale, other):
        meta = {marker.KEY: token}
        assert trigger_pool.sign_in(WRONG, metadata=meta) == "NotAuthorizedException"
    # Each was reserved: the budget (3) is full, and a malformed mark changes nothing either.
    malformed = {marker.KEY: "1.2.3.4"}
    assert trigger_pool.sign_in(PASSWORD, metadata=malformed) == "UserLambdaValidationException"
    trigger_pool.clock.advance(SETTLE + 1)
    assert "The account is locked" in trigger_pool.message(PASSWORD)


def test_unknown_users_are_counted_and_locked_like_real_ones(trigger_pool: TriggerPool) -> None:
    for _ in range(MAX_ATTEMPTS):
        assert trigger_pool.sign_in(WRONG, "nobody") in (
            "NotAuthorizedException",
            "UserNotFoundException",
        )
    trigger_pool.clock.advance(SETTLE + 1)
    assert "The account is locked" in trigger_pool.message(WRONG, "nobody")
    assert trigger_pool.sign_in(PASSWORD) == "tokens"  # demo is another account


def test_every_name_of_an_account_shares_its_count(trigger_pool: TriggerPool) -> None:
    # The pool is case-insensitive: Cognito hands the trigger the account's own username.
    for name in ("DEMO", " Demo", "demo"):
        assert trigger_pool.sign_in(WRONG, name.strip()) == "NotAuthorizedException"
    trigger_pool.clock.advance(SETTLE + 1)
    assert "The account is locked" in trigger_pool.message(PASSWORD, "Demo")


def test_the_emulator_calls_triggers_with_cognito_s_event_shapes(
    trigger_pool: TriggerPool,
) -> None:
    seen: list[dict[str, Any]] = []

    def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        return event

    pre = local_triggers.function_arn("test-shapes-pre")
    post = local_triggers.function_arn("test-shapes-post")
    local_triggers.register(pre, record)
    local_triggers.register(post, record)
    try:
        local_triggers.attach(
            trigger_pool.pool.user_pool_id, PreAuthentication=pre, PostAuthentication=post
        )
        assert trigger_pool.sign_in(PASSWORD, "DEMO", metadata={"k": "v"}) == "tokens"
    finally:
        local_triggers.unregister(pre)
        local_triggers.unregister(post)
    before, after = seen
    common = {
        "version": "1",
        "region": "us-east-1",
        "userPoolId": trigger_pool.pool.user_pool_id,
        "userName": "demo",
        "callerContext": {
            "awsSdkVersion": local_triggers.SDK_VERSION,
            "clientId": trigger_pool.direct_client_id,
        },
        "response": {},
    }
    assert {k: before[k] for k in common} == common
    assert {k: after[k] for k in common} == common
    assert before["triggerSource"] == "PreAuthentication_Authentication"
    assert before["request"]["validationData"] == {"k": "v"}
    assert before["request"]["userNotFound"] is False
    assert before["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"
    assert after["triggerSource"] == "PostAuthentication_Authentication"
    assert after["request"]["newDeviceUsed"] is False
    assert "clientMetadata" not in after["request"]  # InitiateAuth's metadata stays in Pre


def test_a_trigger_that_raises_fails_the_sign_in_as_cognito_does(
    trigger_pool: TriggerPool,
) -> None:
    def refuse(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("No entry")

    arn = local_triggers.function_arn("test-refuse-post")
    local_triggers.register(arn, refuse)
    try:
        local_triggers.attach(trigger_pool.pool.user_pool_id, PostAuthentication=arn)
        assert trigger_pool.message(PASSWORD) == "PostAuthentication failed with error No entry."
    finally:
        local_triggers.unregister(arn)
