"""The admin API's gate (review #12): the token checked before anything else, usernames holding
``/``, and the throttle on addresses that keep failing the token."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from cognito_gate.cli import _quote as cli_quote
from cognito_gate.cognito.local import LocalPool, emulator_client
from cognito_gate.identity import SEP
from cognito_gate.server import deps
from tests.conftest import ADMIN_TOKEN, FakeClock, LiveGateway
from tests.server.conftest import ATTACKER, PASSWORD, USER_IP, Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- 1. no token: 401 before any parameter is looked at ---------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/admin/events?limit=0",
        "/admin/events?limit=not-a-number",
        "/admin/events?limit=100000",
        "/admin/accounts/%00",
    ],
)
async def test_an_admin_request_without_the_token_is_401_whatever_its_parameters(
    api_factory: ApiFactory, path: str
) -> None:
    api = api_factory()
    for token in ("", "wrong-token"):
        answer = await api.admin("GET", path, token=token)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"
    # With the token, the same parameters are the caller's mistake.
    assert (await api.admin("GET", "/admin/events?limit=0")).status_code == 422


async def test_with_the_admin_api_off_every_admin_request_is_401(api_factory: ApiFactory) -> None:
    api = api_factory(admin_token=None)
    for path in ("/admin/events?limit=0", "/admin/events", "/admin/accounts/demo"):
        answer = await api.admin("GET", path)
        assert answer.status_code == 401
        assert "COGNITO_GATE_ADMIN_TOKEN" in answer.json()["message"]


# -- 2. usernames holding "/" ---------------------------------------------------------------------


def add_user(pool: LocalPool, username: str) -> None:
    idp = emulator_client(pool.endpoint, pool.region)
    idp.admin_create_user(
        UserPoolId=pool.user_pool_id,
        Username=username,
        TemporaryPassword="Temp-passw0rd!",
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=pool.user_pool_id, Username=username, Password=PASSWORD, Permanent=True
    )


@pytest.mark.parametrize("name", ["a/b", "team/ops/100%"])
async def test_admin_routes_address_a_username_with_a_slash_percent_encoded(
    api_factory: ApiFactory, pool: LocalPool, name: str
) -> None:
    add_user(pool, name)
    add_user(pool, name.split("/")[0])  # "a": a different account the routes must not touch
    api = api_factory()
    encoded = quote(name, safe="")
    assert "%2F" in encoded
    assert (await api.login(name, "Wrong-passw0rd!")).status_code == 401

    status = await api.admin("GET", f"/admin/accounts/{encoded}")
    assert status.status_code == 200, status.text
    assert status.json()["username"] == name
    assert status.json()["failures"] == 1

    assert (await api.admin("POST", f"/admin/accounts/{encoded}/lock")).status_code == 204
    locked = await api.login(name, PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"] == "account_locked"
    assert (await api.admin("GET", f"/admin/accounts/{encoded}")).json()["adminLocked"] is True
    # The other account is untouched.
    assert (await api.login(name.split("/")[0], PASSWORD)).status_code == 200

    assert (await api.admin("POST", f"/admin/accounts/{encoded}/unlock")).status_code == 204
    assert (await api.login(name, PASSWORD)).status_code == 200
    # Unlocked and logged in: the store holds nothing more for that name.
    assert (await api.admin("GET", f"/admin/accounts/{encoded}")).status_code == 404


def test_a_live_server_takes_the_clis_encoded_name(
    gateway_factory: Callable[..., LiveGateway], pool: LocalPool
) -> None:
    # uvicorn decodes the path before routing and keeps the raw one: the CLI's --url quoting
    # (safe="") reaches the account.
    add_user(pool, "a/b")
    gateway = gateway_factory(pool)
    url = f"{gateway.url}/admin/accounts/{cli_quote('a/b')}"
    auth = bearer(gateway.admin_token)
    login = {"username": "a/b", "password": PASSWORD}
    assert httpx.post(f"{url}/lock", headers=auth, timeout=10).status_code == 204
    assert httpx.get(url, headers=auth, timeout=10).json()["adminLocked"] is True
    assert httpx.post(f"{gateway.url}/auth/login", json=login, timeout=10).status_code == 429
    assert httpx.post(f"{url}/unlock", headers=auth, timeout=10).status_code == 204
    assert httpx.post(f"{gateway.url}/auth/login", json=login, timeout=10).status_code == 200


async def test_an_encoded_slash_never_reads_as_a_route_of_its_own(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    add_user(pool, "a")
    api = api_factory()
    # "a%2Flock" is one name: posting to it is no lock of "a".
    assert (await api.admin("POST", "/admin/accounts/a%2Flock")).status_code in (404, 405)
    assert (await api.login("a", PASSWORD)).status_code == 200
    # An unencoded slash is no username: the name must be one segment.
    assert (await api.admin("GET", "/admin/accounts/a/b")).status_code == 404
    assert (await api.admin("GET", "/admin/accounts/")).status_code == 404


# -- 7. the token in constant time, and the throttle on failing addresses -------------------------


def test_the_token_is_compared_in_constant_time_over_fixed_length_digests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(deps.hmac, "compare_digest", spy)
    assert deps.token_matches(ADMIN_TOKEN, ADMIN_TOKEN)
    assert not deps.token_matches(ADMIN_TOKEN[:-1], ADMIN_TOKEN)
    assert not deps.token_matches(ADMIN_TOKEN + "x" * 500, ADMIN_TOKEN)
    assert not deps.token_matches(None, ADMIN_TOKEN)
    assert not deps.token_matches("", ADMIN_TOKEN)
    # Whatever the lengths given, what is compared has one length: the length does not leak.
    assert set(compared) == {(32, 32)}


async def test_ten_failed_admin_requests_throttle_the_address_for_fifteen_minutes(
    api_factory: ApiFactory, clock: FakeClock, pool: LocalPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = api_factory(clock)
    attacker = api.client(ATTACKER)
    for i in range(deps.ADMIN_MAX_FAILURES):
        clock.advance(1)
        guess = await attacker.get("/admin/events", headers=bearer(f"guess-{i}-secretish"))
        assert guess.status_code == 401, i
    # Now every admin request from there is refused, the right token too.
    for headers in (bearer("another-guess-secretish"), bearer(ADMIN_TOKEN)):
        refused = await attacker.get("/admin/events", headers=headers)
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_requests"
        assert refused.json()["retryAfter"] == 900
        assert refused.headers["retry-after"] == "900"
    # Another address is not concerned.
    assert (await api.admin("GET", "/admin/events")).status_code == 200

    record = await api.gate.store.load(f"{pool.user_pool_id}{SEP}admin-addr{SEP}{ATTACKER}")
    assert record is not None
    assert record.state.locked_until == clock.now + 900
    assert await api.gate.store.load(f"{pool.user_pool_id}{SEP}admin-addr{SEP}{USER_IP}") is None

    logged = [r for r in caplog.records if r.name == "cognito_gate.server"]
    warnings = [r.getMessage() for r in logged if r.levelno == logging.WARNING]
    assert sum("wrong admin token" in w and ATTACKER in w for w in warnings) == 10
    assert [w for w in warnings if "refused for 900 s" in w and ATTACKER in w] != []
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "secretish" not in everything
    assert ADMIN_TOKEN not in everything

    events = (await api.admin("GET", "/admin/events?limit=50")).json()["events"]
    admin = [(e["outcome"], e.get("count", 1)) for e in events if e["type"] == "admin"]
    # the refusals of a throttled address are one event with their count (audit.py merges them)
    assert admin[:2] == [("throttled", 2), ("unauthorized", 1)]

    clock.advance(900)
    assert (await attacker.get("/admin/events", headers=bearer(ADMIN_TOKEN))).status_code == 200


async def test_failures_older_than_the_window_no_longer_count(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock)
    attacker = api.client(ATTACKER)
    for _ in range(2):
        for _ in range(deps.ADMIN_MAX_FAILURES - 1):
            assert (await attacker.get("/admin/events", headers=bearer("x"))).status_code == 401
        clock.advance(901)
    assert (await attacker.get("/admin/events", headers=bearer(ADMIN_TOKEN))).status_code == 200


async def test_concurrent_guesses_compare_at_most_the_budget(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock)
    attacker = api.client(ATTACKER)
    answers = await asyncio.gather(
        *(attacker.get("/admin/events", headers=bearer(f"guess-{i}")) for i in range(30))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(401) == deps.ADMIN_MAX_FAILURES
    assert set(codes) == {401, 429}
