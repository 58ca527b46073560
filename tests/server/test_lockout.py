"""The ten lockout scenarios, over HTTP, against the Cognito emulator over HTTP, on a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from cognito_gate.cognito.local import LocalPool, create_user, emulator_client
from tests.conftest import FakeClock
from tests.server.conftest import ATTACKER, PASSWORD, USER_IP, Api, CheckCounter

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]


def shape(response: httpx.Response) -> tuple[Any, ...]:
    """Everything an attacker can see of an answer, but the tokens."""
    body = response.json()
    return (
        response.status_code,
        body.get("error"),
        body.get("message"),
        body.get("retryAfter"),
        response.headers.get("retry-after"),
        tuple(sorted(body)),
    )


# 1. threshold boundary --------------------------------------------------------------------------


async def test_n_minus_1_failures_then_the_right_password_logs_in(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock)
    for _ in range(4):
        assert (await api.login("demo", "wrong")).status_code == 401
    ok = await api.login("demo", PASSWORD)
    assert ok.status_code == 200
    assert {"idToken", "accessToken", "refreshToken"} <= set(ok.json())
    assert await api.status("demo") is None  # a success clears everything


async def test_the_nth_failure_is_a_401_then_even_the_right_password_is_refused(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock)
    answers = [await api.login("demo", "wrong") for _ in range(5)]
    assert [r.status_code for r in answers] == [401] * 5
    refused = await api.login("demo", PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["error"] == "account_locked"
    assert refused.json()["retryAfter"] == 900
    assert refused.headers["retry-after"] == "900"
    assert "idToken" not in refused.json()


# 2. lock timing, backoff and cap ----------------------------------------------------------------


async def test_lockouts_last_longer_each_time_up_to_the_cap(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(
        clock, max_attempts=3, lockout_seconds=60, backoff_multiplier=2, max_lockout_seconds=200
    )
    waits = []
    for _ in range(4):
        for _ in range(3):
            assert (await api.login("demo", "wrong")).status_code == 401
        locked = await api.login("demo", "wrong")
        assert locked.status_code == 429
        waits.append(locked.json()["retryAfter"])
        clock.advance(waits[-1] - 0.5)
        assert (await api.login("demo", PASSWORD)).status_code == 429  # not yet
        clock.advance(0.5)
    assert waits == [60, 120, 200, 200]
    assert (await api.login("demo", PASSWORD)).status_code == 200


async def test_retry_after_is_whole_seconds_rounded_up(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, max_attempts=1, lockout_seconds=10)
    await api.login("demo", "wrong")
    clock.advance(8.2)
    locked = await api.login("demo", "wrong")
    assert locked.json()["retryAfter"] == 2
    assert locked.headers["retry-after"] == "2"


# 3. attempts while locked ------------------------------------------------------------------------


async def test_attempts_while_locked_neither_count_nor_extend(
    api_factory: ApiFactory, clock: FakeClock, cognito_checks: CheckCounter
) -> None:
    api = api_factory(clock, max_attempts=2, lockout_seconds=100)
    for _ in range(2):
        await api.login("demo", "wrong")
    before = await api.status("demo")
    checks = cognito_checks.count
    for _ in range(10):
        clock.advance(5)
        answer = await api.login("demo", "wrong")
        assert answer.status_code == 429
    assert cognito_checks.count == checks  # nothing reached Cognito while locked
    assert await api.status("demo") == before
    assert (await api.login("demo", "wrong")).json()["retryAfter"] == 50
    clock.advance(50)
    assert (await api.login("demo", PASSWORD)).status_code == 200


# 4. reset rules ----------------------------------------------------------------------------------


async def test_a_success_resets_the_count(api_factory: ApiFactory, clock: FakeClock) -> None:
    api = api_factory(clock)
    for _ in range(4):
        await api.login("demo", "wrong")
    assert (await api.login("demo", PASSWORD)).status_code == 200
    for _ in range(4):
        assert (await api.login("demo", "wrong")).status_code == 401
    assert (await api.login("demo", PASSWORD)).status_code == 200


async def test_failures_outside_the_window_no_longer_count(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, failure_window_seconds=300)
    for _ in range(4):
        await api.login("demo", "wrong")
    clock.advance(301)
    for _ in range(4):
        assert (await api.login("demo", "wrong")).status_code == 401
    status = await api.status("demo")
    assert status is not None
    assert status["failures"] == 4
    assert status["lockedUntil"] is None
    assert (await api.login("demo", PASSWORD)).status_code == 200


async def test_a_success_after_a_lockout_resets_the_backoff(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, max_attempts=2, lockout_seconds=60)
    for _ in range(2):
        await api.login("demo", "wrong")
    clock.advance(60)
    assert (await api.login("demo", PASSWORD)).status_code == 200
    for _ in range(2):
        await api.login("demo", "wrong")
    assert (await api.login("demo", "wrong")).json()["retryAfter"] == 60  # not 120


# 5. escalation to permanent, admin unlock ---------------------------------------------------------


async def test_the_lockout_reaching_permanent_after_needs_an_admin(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, max_attempts=2, lockout_seconds=60, permanent_after=2)
    for _ in range(2):
        await api.login("demo", "wrong")
    clock.advance(60)
    for _ in range(2):
        await api.login("demo", "wrong")
    clock.advance(10**7)
    refused = await api.login("demo", PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["error"] == "account_locked"
    assert "retryAfter" not in refused.json()
    assert "retry-after" not in refused.headers
    status = await api.status("demo")
    assert status is not None
    assert status["permanent"] is True
    assert status["lockouts"] == 2
    assert (await api.admin("POST", "/admin/accounts/demo/unlock")).status_code == 204
    assert await api.status("demo") is None
    assert (await api.login("demo", PASSWORD)).status_code == 200


async def test_a_permanent_lockout_also_stops_refresh(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, max_attempts=1, permanent_after=1)
    tokens = (await api.login("demo", PASSWORD)).json()
    await api.login("demo", "wrong")
    refreshed = await api.client().post(
        "/auth/refresh", json={"refreshToken": tokens["refreshToken"], "username": "demo"}
    )
    assert refreshed.status_code == 403
    assert refreshed.json()["error"] == "account_disabled"


async def test_a_temporary_lockout_lets_issued_sessions_refresh(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, max_attempts=1)
    tokens = (await api.login("demo", PASSWORD)).json()
    await api.login("demo", "wrong")
    assert (await api.login("demo", PASSWORD)).status_code == 429
    refreshed = await api.client().post(
        "/auth/refresh", json={"refreshToken": tokens["refreshToken"], "username": "demo"}
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["accessToken"] != tokens["accessToken"]


# 6. concurrency ----------------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_200_simultaneous_wrong_passwords_reach_cognito_at_most_max_attempts_times(
    api_factory: ApiFactory,
    clock: FakeClock,
    cognito_checks: CheckCounter,
    tmp_path: Path,
    store: str,
) -> None:
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path}/gate.db"
    api = api_factory(clock, store=url)
    answers = await asyncio.gather(*(api.login("demo", "wrong") for _ in range(200)))
    statuses = sorted(r.status_code for r in answers)
    print(
        f"\n200 at once ({store}): {cognito_checks.count} checks reached Cognito;"
        f" {statuses.count(401)} x 401, {statuses.count(429)} x 429"
    )
    assert cognito_checks.count <= 5
    assert cognito_checks.count >= 1
    assert statuses.count(401) == cognito_checks.count
    assert statuses.count(429) == 200 - cognito_checks.count
    assert (await api.login("demo", PASSWORD)).status_code == 429


async def test_two_gateways_sharing_one_sqlite_store_share_the_budget(
    api_factory: ApiFactory, clock: FakeClock, cognito_checks: CheckCounter, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    one, two = api_factory(clock, store=url), api_factory(clock, store=url)
    answers = await asyncio.gather(
        *(api.login("demo", "wrong") for api in (one, two) for _ in range(100))
    )
    print(f"\n2 x 100 at once, one SQLite file: {cognito_checks.count} checks reached Cognito")
    assert cognito_checks.count <= 5
    assert sum(r.status_code == 401 for r in answers) == cognito_checks.count
    assert (await two.login("demo", PASSWORD)).status_code == 429
    assert (await one.login("demo", PASSWORD)).status_code == 429


# 7. normalisation --------------------------------------------------------------------------------


async def test_case_and_whitespace_variants_share_one_counter(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock)
    for name in ("Demo", " demo", "DEMO ", "\tdemo\n", "dEmO"):
        assert (await api.login(name, "wrong")).status_code == 401
    assert (await api.login("demo", PASSWORD)).status_code == 429
    status = await api.status("  DEMO ")
    assert status is not None
    assert status["username"] == "demo"
    assert status["lockouts"] == 1


async def test_a_variant_of_the_name_logs_in_with_the_right_password(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock)
    answer = await api.login("  DeMo ", PASSWORD)
    assert answer.status_code == 200
    assert answer.json()["username"] == "demo"


async def test_a_case_sensitive_pool_keeps_case(
    api_factory: ApiFactory, clock: FakeClock, emulator: Any
) -> None:
    from cognito_gate.cognito.local import provision_pool

    sensitive = provision_pool(emulator.endpoint, case_sensitive=True)
    api = api_factory(clock, target=sensitive)
    for _ in range(5):
        await api.login("Demo", "wrong")
    assert (await api.login("Demo", PASSWORD)).status_code == 429
    assert (await api.login(" demo ", PASSWORD)).status_code == 200  # another account


# 8. enumeration ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["explicit", "opaque"])
async def test_unknown_and_real_users_answer_identically_and_both_lock(
    api_factory: ApiFactory, clock: FakeClock, mode: str
) -> None:
    api = api_factory(clock, lockout_response=mode)
    real = [shape(await api.login("demo", "wrong")) for _ in range(8)]
    ghost = [shape(await api.login("nobody-here", "wrong")) for _ in range(8)]
    assert real == ghost
    assert real[0][:3] == (401, "invalid_credentials", "Incorrect username or password.")
    for name in ("demo", "nobody-here"):
        status = await api.status(name)
        assert status is not None
        assert status["lockedUntil"] is not None
    if mode == "opaque":
        assert len(set(real)) == 1  # a locked account looks exactly like a wrong password
    else:
        assert real[5][:2] == (429, "account_locked")


# 9. user+ip scope and the per-address throttle -----------------------------------------------------


async def test_user_ip_scope_locks_the_account_only_from_the_attackers_address(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, lock_scope="user+ip")
    for _ in range(5):
        await api.login("demo", "wrong", ip=ATTACKER)
    assert (await api.login("demo", PASSWORD, ip=ATTACKER)).status_code == 429
    assert (await api.login("demo", PASSWORD, ip=USER_IP)).status_code == 200
    status = await api.status("demo")
    assert status is not None
    assert status["lockedUntil"] is not None


async def test_user_scope_locks_the_account_from_everywhere(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, lock_scope="user")
    for _ in range(5):
        await api.login("demo", "wrong", ip=ATTACKER)
    assert (await api.login("demo", PASSWORD, ip=USER_IP)).status_code == 429


async def test_an_address_spraying_many_accounts_is_throttled(
    api_factory: ApiFactory, clock: FakeClock, cognito_checks: CheckCounter
) -> None:
    api = api_factory(clock, ip_max_attempts=4, ip_window_seconds=120)
    for i in range(4):
        assert (await api.login(f"user{i}", "wrong", ip=ATTACKER)).status_code == 401
    checks = cognito_checks.count
    throttled = await api.login("demo", PASSWORD, ip=ATTACKER)
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "too_many_requests"
    assert throttled.json()["retryAfter"] == 120
    assert cognito_checks.count == checks
    assert (await api.login("demo", PASSWORD, ip=USER_IP)).status_code == 200
    clock.advance(120)
    assert (await api.login("demo", PASSWORD, ip=ATTACKER)).status_code == 200


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, lock_scope="user+ip", trusted_proxies="10.0.0.0/8")
    proxy = api.client("10.1.2.3")
    for _ in range(5):
        await proxy.post(
            "/auth/login",
            json={"username": "demo", "password": "wrong"},
            headers={"X-Forwarded-For": f"{ATTACKER}, 10.9.9.9"},
        )
    victim = await proxy.post(
        "/auth/login",
        json={"username": "demo", "password": PASSWORD},
        headers={"X-Forwarded-For": USER_IP},
    )
    assert victim.status_code == 200
    # From an untrusted peer the header is ignored: the peer itself is counted.
    spoof = api.client(ATTACKER)
    spoofed = await spoof.post(
        "/auth/login",
        json={"username": "demo", "password": PASSWORD},
        headers={"X-Forwarded-For": USER_IP},
    )
    assert spoofed.status_code == 429


# 10. admin status and unlock ---------------------------------------------------------------------


async def test_admin_status_is_accurate(api_factory: ApiFactory, clock: FakeClock) -> None:
    api = api_factory(clock)
    assert await api.status("demo") is None
    for _ in range(3):
        await api.login("demo", "wrong")
    assert await api.status("demo") == {
        "username": "demo",
        "failures": 3,
        "lockedUntil": None,
        "lockouts": 0,
        "permanent": False,
        "adminLocked": False,
    }
    for _ in range(2):
        await api.login("demo", "wrong")
    status = await api.status("demo")
    assert status is not None
    assert status["failures"] == 0
    assert status["lockouts"] == 1
    assert status["lockedUntil"] == "2027-01-15T08:15:00Z"  # fake clock 1_800_000_000 + 900
    clock.advance(900)
    status = await api.status("demo")
    assert status is not None
    assert status["lockedUntil"] is None


async def test_admin_unlock_and_lock(api_factory: ApiFactory, clock: FakeClock) -> None:
    api = api_factory(clock)
    tokens = (await api.login("demo", PASSWORD)).json()
    for _ in range(5):
        await api.login("demo", "wrong")
    assert (await api.admin("POST", "/admin/accounts/DEMO/unlock")).status_code == 204
    assert (await api.login("demo", PASSWORD)).status_code == 200
    assert (await api.admin("POST", "/admin/accounts/demo/lock")).status_code == 204
    locked = await api.login("demo", PASSWORD)
    assert locked.status_code == 429
    assert "retryAfter" not in locked.json()
    status = await api.status("demo")
    assert status is not None
    assert status["adminLocked"] is True
    refresh = await api.client().post(
        "/auth/refresh", json={"refreshToken": tokens["refreshToken"], "username": "demo"}
    )
    assert refresh.status_code == 403
    assert refresh.json()["error"] == "account_disabled"
    assert (await api.admin("POST", "/admin/accounts/demo/unlock")).status_code == 204
    assert (await api.login("demo", PASSWORD)).status_code == 200


async def test_admin_routes_need_the_token(api_factory: ApiFactory) -> None:
    api = api_factory()
    for method, path in [
        ("GET", "/admin/accounts/demo"),
        ("POST", "/admin/accounts/demo/unlock"),
        ("POST", "/admin/accounts/demo/lock"),
        ("GET", "/admin/events"),
    ]:
        for token in ("", "wrong-token"):
            answer = await api.admin(method, path, token=token)
            assert answer.status_code == 401
            assert answer.json()["error"] == "unauthorized"


async def test_admin_events_are_newest_first_and_hold_no_secret(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock)
    await api.login("demo", "wrong-Secret-1")
    clock.advance(1)
    await api.login("demo", PASSWORD)
    answer = await api.admin("GET", "/admin/events?username=demo&limit=5")
    events = answer.json()["events"]
    assert [(e["type"], e["outcome"]) for e in events] == [
        ("login", "success"),
        ("login", "failure"),
    ]
    assert "wrong-Secret-1" not in answer.text
    assert PASSWORD not in answer.text


async def test_several_users_are_counted_apart(
    api_factory: ApiFactory, clock: FakeClock, pool: LocalPool
) -> None:
    create_user(emulator_client(pool.endpoint), pool.user_pool_id, "alice", PASSWORD)
    api = api_factory(clock)
    for _ in range(5):
        await api.login("demo", "wrong")
    assert (await api.login("alice", PASSWORD)).status_code == 200
