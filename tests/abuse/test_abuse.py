"""Abuse, through a real ``cognito-gate serve`` process (issue #12, "Prove it holds").

- Password spraying: one password tried over 500 accounts from one address. No account sees more
  than one failure (no account lock helps), so the per-address throttle must stop it: the checks
  that reach Cognito are counted at the emulator, at most ``IP_MAX_ATTEMPTS``.
- Lockout as denial of service: in ``user+ip`` scope, an attacker hammering a victim's account
  from its address locks only itself out; the victim, from its own address, logs in throughout.
- A forged ``X-Forwarded-For`` from an untrusted peer changes nothing: proven against a real
  ``serve`` process in tests/server/test_addresses.py
  (``test_a_forged_forwarded_for_from_an_untrusted_peer_changes_nothing``), not repeated here.

Addresses are real peers (loopback aliases, see conftest), not headers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from cognito_gate.cognito.local import LocalPool
from tests.abuse.conftest import ATTACKER, VICTIM, client_from, logins, seed_accounts, status
from tests.conftest import ADMIN_TOKEN
from tests.processes import Served, pool_env, serve
from tests.replicas.conftest import CheckCounter

PASSWORD = "Demo-passw0rd!"
SPRAYED = "Spring2026-passw0rd!"  # the one password an attacker tries everywhere
ACCOUNTS = 500
IP_MAX_ATTEMPTS = 100
MAX_ATTEMPTS = 5
#: The accounts that do use the sprayed password: last in the attacker's list.
WEAK = {f"user{n:03d}" for n in range(ACCOUNTS - 3, ACCOUNTS)}


def login_from(url: str, address: str, username: str, password: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with client_from(address, 1) as client:
            return await client.post(
                f"{url}/auth/login", json={"username": username, "password": password}
            )

    return asyncio.run(go())


# -- password spraying --------------------------------------------------------------------------


@pytest.fixture
def spray_target(pool: LocalPool) -> Iterator[Served]:
    """500 accounts, three of them with the sprayed password; a gateway with the address limit."""
    seed_accounts(
        pool,
        (
            (name, SPRAYED if name in WEAK else f"Own-{n}-passw0rd!")
            for n in range(ACCOUNTS)
            for name in [f"user{n:03d}"]
        ),
    )
    env = pool_env(
        pool,
        store="memory://",
        max_attempts=str(MAX_ATTEMPTS),
        ip_max_attempts=str(IP_MAX_ATTEMPTS),
        ip_window_seconds="900",
        admin_token=ADMIN_TOKEN,
    )
    with serve(env) as served:
        yield served


def test_spraying_one_password_over_500_accounts_is_stopped_by_the_address_throttle(
    spray_target: Served, cognito_checks: CheckCounter
) -> None:
    url = spray_target.url
    attempts = [(f"user{n:03d}", SPRAYED) for n in range(ACCOUNTS)]
    started = time.monotonic()
    replies = asyncio.run(logins(url, ATTACKER, attempts, concurrency=50))
    took = time.monotonic() - started
    print(
        f"\nspraying: {ACCOUNTS} accounts, one password, 50 in flight, from one address:"
        f" {cognito_checks.count} checks reached Cognito (IP_MAX_ATTEMPTS {IP_MAX_ATTEMPTS});"
        f" answers {dict(replies.statuses)} {dict(replies.codes)} in {took:.1f} s"
    )

    assert cognito_checks.count <= IP_MAX_ATTEMPTS
    assert replies.statuses[401] == cognito_checks.count  # each check a wrong password
    assert set(replies.codes) == {"invalid_credentials", "too_many_requests"}
    assert replies.statuses[200] == 0  # the weak accounts, late in the list, were never reached
    assert cognito_checks.count >= IP_MAX_ATTEMPTS - 50  # the throttle, not luck, stopped it
    # One failure each: no account lock could have stopped this; the address limit did.
    assert (status(url, "user000") or {})["failures"] == 1
    assert (status(url, "user000") or {})["lockedUntil"] is None

    # The address stays throttled, whatever it tries next, with nothing reaching Cognito...
    checks = cognito_checks.count
    throttled = login_from(url, ATTACKER, "demo", PASSWORD)
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "too_many_requests"
    assert 0 < int(throttled.headers["Retry-After"]) <= 900
    assert cognito_checks.count == checks
    # ...while everyone else logs in, the weak accounts included.
    assert login_from(url, VICTIM, "demo", PASSWORD).status_code == 200
    assert login_from(url, VICTIM, sorted(WEAK)[0], SPRAYED).status_code == 200


# -- an attacker cannot lock a victim out (user+ip) ------------------------------------------------


@pytest.fixture
def per_address(pool: LocalPool) -> Iterator[Served]:
    env = pool_env(
        pool,
        store="memory://",
        lock_scope="user+ip",
        max_attempts=str(MAX_ATTEMPTS),
        admin_token=ADMIN_TOKEN,
    )
    with serve(env) as served:
        yield served


def test_in_user_ip_scope_an_attacker_locks_only_its_own_address_out(
    per_address: Served, cognito_checks: CheckCounter
) -> None:
    url = per_address.url
    victim: list[int] = []
    attack_over = threading.Event()

    def victim_logs_in() -> None:  # all through the attack, from the victim's own address
        while not attack_over.is_set() or not victim:
            victim.append(login_from(url, VICTIM, "demo", PASSWORD).status_code)

    thread = threading.Thread(target=victim_logs_in, daemon=True)
    thread.start()
    try:
        replies = asyncio.run(
            logins(url, ATTACKER, [("demo", "Wrong-passw0rd!")] * 200, concurrency=50)
        )
    finally:
        attack_over.set()
        thread.join(60)
    attacker_checks = cognito_checks.count - len(victim)
    print(
        f"\nuser+ip: 200 wrong passwords for demo from one address, 50 in flight:"
        f" {attacker_checks} checks reached Cognito; answers {dict(replies.codes)};"
        f" the victim logged in {victim.count(200)} of {len(victim)} times meanwhile"
    )

    assert victim
    assert set(victim) == {200}
    assert attacker_checks <= MAX_ATTEMPTS
    assert replies.statuses[401] == attacker_checks
    assert set(replies.codes) <= {"invalid_credentials", "account_locked", "too_many_requests"}
    # The attacker's address is locked out of the account, even with the right password; the
    # victim's successes did not clear it, and the victim still logs in afterwards.
    refused = login_from(url, ATTACKER, "demo", PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["error"] == "account_locked"
    assert login_from(url, VICTIM, "demo", PASSWORD).status_code == 200
    assert (status(url, "demo") or {})["lockedUntil"] is not None  # the operator sees the attack
