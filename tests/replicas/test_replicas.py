"""Many replicas at speed (issue #9): real ``cognito-gate serve`` processes sharing one store.

The promise under test (SPEC "Policy semantics"): at most ``MAX_ATTEMPTS`` password checks of one
account reach Cognito per lockout cycle, even when a thousand attempts arrive at once on several
gateway processes sharing one store; a reservation of a crashed gateway is neither lost nor
permanent; the lock outlives every gateway; and when the store goes away the gateways fail closed
(503), then resume by themselves. Checks are counted where the emulator receives them, in this
process (see conftest): every gateway is a separate process.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path

import httpx
import pytest

from cognito_gate.cognito.local import LocalPool
from cognito_gate.identity import SEP
from cognito_gate.policy import AccountState, LockoutPolicy, Outcome
from cognito_gate.stores import open_store
from tests.replicas.conftest import (
    PASSWORD,
    SHARED_STORES,
    WRONG,
    Answers,
    CheckCounter,
    Gateway,
    Gateways,
    account_status,
    burst,
    error_code,
    login,
)
from tests.services import redis

MAX_ATTEMPTS = 5
ATTEMPTS = 1000
IN_FLIGHT = 200
#: How long each password check takes at the emulator during a burst: hundreds of attempts then
#: arrive while the first checks hold their reservations (the race the store must win).
SLOW_CHECK = 0.25


def assert_locked(gateway: Gateway, username: str = "demo") -> None:
    """The right password is refused with the lockout answer."""
    response = login(gateway.url, username, PASSWORD)
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "account_locked"
    assert int(response.headers["Retry-After"]) > 0


def assert_bounded(answers: Answers, checks: CheckCounter) -> None:
    """At most MAX_ATTEMPTS checks reached Cognito, each answered as the wrong password it was;
    every other attempt got a 429 (locked, or the budget full of checks in flight)."""
    assert len(answers.replies) == ATTEMPTS
    assert checks.count <= MAX_ATTEMPTS, answers.codes
    assert answers.statuses[401] == checks.count, answers.codes
    assert set(answers.statuses) <= {401, 429}, answers.codes
    assert set(answers.codes) <= {"invalid_credentials", "account_locked", "too_many_requests"}


# -- exactness across processes ----------------------------------------------------------------------


@pytest.mark.parametrize("shared_store", SHARED_STORES, indirect=True)
def test_a_thousand_wrong_passwords_on_three_replicas_reach_cognito_at_most_max_attempts_times(
    shared_store: str, pool: LocalPool, cognito_checks: CheckCounter, gateways: Gateways
) -> None:
    replicas = gateways.start(3, pool=pool, store=shared_store, max_attempts=MAX_ATTEMPTS)
    cognito_checks.delay = SLOW_CHECK

    answers = burst([g.url for g in replicas], "demo", WRONG, ATTEMPTS, IN_FLIGHT)
    print(
        f"\n{ATTEMPTS} at once, 3 replicas on {shared_store.split(':')[0]}:"
        f" {cognito_checks.count} checks reached Cognito; {dict(answers.codes)}"
    )

    assert_bounded(answers, cognito_checks)
    assert answers.codes["too_many_requests"] > 0  # attempts did arrive while checks were in flight
    for gateway in replicas:
        assert_locked(gateway)
    # The account locked, so exactly MAX_ATTEMPTS checks failed, on whichever replicas.
    assert cognito_checks.count == MAX_ATTEMPTS


def test_serve_workers_3_on_one_port_keeps_the_bound(
    pool: LocalPool, cognito_checks: CheckCounter, gateways: Gateways
) -> None:
    with redis.store_url() as store:
        (server,) = gateways.start(
            pool=pool, store=store, args=("--workers", "3"), max_attempts=MAX_ATTEMPTS
        )
        assert len(server.workers()) == 3, server.output()[-2000:]
        cognito_checks.delay = SLOW_CHECK

        answers = burst([server.url], "demo", WRONG, ATTEMPTS, IN_FLIGHT)
        print(
            f"\n{ATTEMPTS} at once, serve --workers 3 on redis:"
            f" {cognito_checks.count} checks reached Cognito; {dict(answers.codes)}"
        )

        assert_bounded(answers, cognito_checks)
        for _ in range(6):  # new connections, whichever worker takes them
            assert_locked(server)
        assert cognito_checks.count == MAX_ATTEMPTS
        assert server.output().count("cognito-gate starting on") == 1
        gateways.stop_all()


def test_serve_workers_on_the_embedded_default_share_the_parents_pool(gateways: Gateways) -> None:
    (server,) = gateways.start(pool=None, store=None, args=("--workers", "3"))
    workers = server.workers()
    assert len(workers) == 3
    out = server.output()
    assert out.count("cognito-gate starting on") == 1  # the summary, once, from the parent
    assert "workers      : 3 processes on one port" in out
    found = re.search(r"user pool id : (\S+)", out)
    assert found is not None, out
    with httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        pools = {client.get(f"{server.url}/auth/config").json()["userPoolId"] for _ in range(12)}
    assert pools == {found.group(1)}  # no worker made a pool (or an emulator) of its own

    assert login(server.url, "demo", PASSWORD).status_code == 200
    for _ in range(MAX_ATTEMPTS):
        assert login(server.url, "demo", WRONG).status_code == 401
    for _ in range(6):  # one pool, one store: locked on every worker
        assert_locked(server)

    server.stop()
    assert server.process.returncode == 0, out[-2000:]
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


# -- a replica killed while it holds a reservation ------------------------------------------------


def stored_state(store_url: str, pool: LocalPool, username: str) -> AccountState:
    """The account's record, read straight from the shared store."""

    async def read() -> AccountState:
        store = open_store(store_url)
        try:
            record = await store.load(f"{pool.user_pool_id}{SEP}user{SEP}{username}")
        finally:
            await store.close()
        assert record is not None
        return record.state

    return asyncio.run(read())


def test_a_replica_killed_while_it_holds_a_reservation_neither_frees_nor_loses_its_place(
    pool: LocalPool, cognito_checks: CheckCounter, gateways: Gateways
) -> None:
    with redis.store_url() as store:
        doomed, survivor = gateways.start(2, pool=pool, store=store, max_attempts=MAX_ATTEMPTS)
        cognito_checks.hold_next()
        outcome: dict[str, object] = {}

        def attempt() -> None:
            try:
                outcome["response"] = login(doomed.url, "demo", WRONG)
            except httpx.HTTPError as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=attempt, daemon=True)
        thread.start()
        cognito_checks.wait_held()  # doomed has reserved a place; its check is at Cognito
        killed_at = time.time()
        doomed.kill()
        cognito_checks.release()
        thread.join(30)
        assert "error" in outcome, outcome  # the attempt died with its gateway: nothing recorded
        assert cognito_checks.count == 1

        # Right after the kill the dead replica's place still counts: MAX_ATTEMPTS - 1 checks
        # remain, and not one more (a kill buys an attacker no extra guess).
        for _ in range(MAX_ATTEMPTS - 1):
            assert login(survivor.url, "demo", WRONG).status_code == 401
        held = login(survivor.url, "demo", PASSWORD)
        assert held.status_code == 429, held.text
        assert held.json()["error"] == "too_many_requests"  # busy, not locked
        assert cognito_checks.count == MAX_ATTEMPTS
        assert (account_status(survivor.url, "demo") or {})["lockedUntil"] is None

        # Nor is the place lost for good: the store holds it with an expiry, which the policy
        # honours (the reservation lifetime is 60 s and not a setting, so rather than wait, the
        # stored record is put to the policy at the time it expires).
        state = stored_state(store, pool, "demo")
        policy = LockoutPolicy(max_attempts=MAX_ATTEMPTS)
        assert len(state.failures) == MAX_ATTEMPTS - 1
        ((_, expires),) = state.pending
        assert killed_at < expires <= killed_at + policy.reservation_seconds
        assert policy.admit(state, expires - 1, "next")[0].reason == "busy"
        verdict, admitted = policy.admit(state, expires, "next")
        assert verdict.allowed  # the account is usable again once the dead reservation expires
        done = policy.record(admitted, expires, "next", Outcome.FAILURE)
        assert done.locked  # ... with exactly the one attempt it held, never more


# -- restart durability --------------------------------------------------------------------------------


@pytest.mark.parametrize("shared_store", SHARED_STORES, indirect=True)
def test_the_lock_survives_a_full_restart(
    shared_store: str, pool: LocalPool, cognito_checks: CheckCounter, gateways: Gateways
) -> None:
    (first,) = gateways.start(pool=pool, store=shared_store, max_attempts=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS):
        assert login(first.url, "demo", WRONG).status_code == 401
    assert_locked(first)

    gateways.stop_all()  # no gateway left running
    assert first.process.returncode is not None
    (second,) = gateways.start(pool=pool, store=shared_store, max_attempts=MAX_ATTEMPTS)

    assert_locked(second)
    status = account_status(second.url, "demo")
    assert status is not None
    assert status["lockouts"] == 1
    assert status["lockedUntil"] is not None
    assert cognito_checks.count == MAX_ATTEMPTS


# -- store outage through the gateway ------------------------------------------------------------


class Traffic:
    """Logins in the background (wrong and right password in turn), each answer timed."""

    def __init__(self, url: str, threads: int = 3) -> None:
        self.url = url
        self.replies: list[tuple[float, float, str, int, str | None]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                for kind, password in (("wrong", WRONG), ("right", PASSWORD)):
                    sent = time.monotonic()
                    try:
                        response = client.post(
                            f"{self.url}/auth/login",
                            json={"username": "demo", "password": password},
                        )
                        status, error = response.status_code, error_code(response)
                    except httpx.HTTPError as exc:  # kept, and refused by the assertions
                        status, error = 0, type(exc).__name__
                    self.replies.append((sent, time.monotonic(), kind, status, error))


def test_a_store_outage_answers_503_and_the_gateway_resumes_by_itself(
    pool: LocalPool, cognito_checks: CheckCounter, gateways: Gateways
) -> None:
    with redis.private_server() as server:
        (gateway,) = gateways.start(
            pool=pool, store=server.url, max_attempts=1000, ip_max_attempts=100_000
        )
        assert login(gateway.url, "demo", PASSWORD).status_code == 200
        assert login(gateway.url, "demo", WRONG).status_code == 401

        with Traffic(gateway.url) as traffic:
            time.sleep(0.5)
            server.kill()  # mid-run: requests in flight
            down_at = time.monotonic()
            time.sleep(0.3)  # what was at Cognito when the store died has come back by now
            checks = cognito_checks.count
            for password in (PASSWORD, WRONG, PASSWORD):
                response = login(gateway.url, "demo", password)
                assert response.status_code == 503, response.text
                assert response.json()["error"] == "unavailable"
            assert httpx.get(f"{gateway.url}/readyz", timeout=30).status_code == 503
            time.sleep(0.5)
            assert cognito_checks.count == checks  # fail closed: nothing reaches Cognito

            up_at = time.monotonic()
            server.start()  # the same port, an empty Redis: nobody restarts the gateway
            deadline = time.monotonic() + 15
            while (right := login(gateway.url, "demo", PASSWORD)).status_code != 200:
                assert right.status_code == 503, right.text
                assert time.monotonic() < deadline, "the gateway did not resume"
                time.sleep(0.1)
            healed_at = time.monotonic()
            time.sleep(1.0)

        assert login(gateway.url, "demo", WRONG).status_code == 401
        assert httpx.get(f"{gateway.url}/readyz", timeout=30).status_code == 200

    seen = {(kind, status, error) for _, _, kind, status, error in traffic.replies}
    assert seen <= {
        ("wrong", 401, "invalid_credentials"),
        ("wrong", 503, "unavailable"),
        ("right", 200, None),
        ("right", 503, "unavailable"),
    }, seen
    during = [r for r in traffic.replies if r[0] > down_at and r[1] < up_at]
    assert during, "no background login ran during the outage"
    assert {status for _, _, _, status, _ in during} == {503}
    after = [r for r in traffic.replies if r[0] > healed_at + 0.3]
    assert after, "no background login ran after the store came back"
    assert {status for _, _, _, status, _ in after} == {200, 401}
