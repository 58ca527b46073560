"""Refusals remembered briefly (``cognito_gate.refusals``): fewer reads, never a login let through,
and an unlock seen at once in its own process and within ``REFUSAL_CACHE_SECONDS`` elsewhere.

Two gates on one shared store (SQLite, Redis, PostgreSQL, DynamoDB) stand for two replicas, each
with its own connections and memo, on one fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from cognito_gate import errors as e
from cognito_gate.admin import Admin
from cognito_gate.cognito.idp import ClientContext
from cognito_gate.cognito.local import LocalPool
from cognito_gate.gate import Gate
from cognito_gate.policy import Outcome, Verdict
from cognito_gate.refusals import Refusals
from tests.conftest import FakeClock, make_gate
from tests.server.conftest import PASSWORD
from tests.services import store_url_for

pytestmark = pytest.mark.anyio
_OK = Outcome.NEUTRAL
HOME = ClientContext(ip="192.0.2.10")


class CountedLoads:
    """Counts the store reads a gate makes."""

    def __init__(self, gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        load = gate.store.load

        async def counted(key: str) -> Any:
            self.count += 1
            return await load(key)

        monkeypatch.setattr(gate.store, "load", counted)


@pytest.fixture(params=["sqlite", "redis", "postgresql", "dynamodb"])
async def replicas(
    request: pytest.FixtureRequest, pool: LocalPool, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Callable[..., tuple[Gate, Gate]]]:
    """``replicas(**settings) -> (here, elsewhere)``: two gates on one shared store (each with its
    own connections and memo), ``settings`` for the first."""
    made: list[Gate] = []
    with store_url_for(request.param, tmp_path, pool.endpoint) as url:

        def make(**settings: Any) -> tuple[Gate, Gate]:
            here = make_gate(pool, clock, store=url, **settings)
            pair = (here, make_gate(pool, clock, store=url))
            made.extend(pair)
            return pair

        yield make
        for gate in made:
            await gate.close()


async def lock_demo(gate: Gate) -> None:
    # Five failures, each from its own address: the account locks, no address is throttled.
    for i in range(5):
        with pytest.raises(e.InvalidCredentials):
            await gate.login("demo", "wrong", ClientContext(ip=f"198.51.100.{i}"))


async def unlock_while_a_login_reads(
    gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> tuple[asyncio.Future[Any], asyncio.Event]:
    """demo locked; a login whose read of the account record is held (until the event is set)
    while this process unlocks demo. Returns that login and the event."""
    await lock_demo(gate)
    release = asyncio.Event()
    load = gate.store.load
    account_key = gate.identity.user_key(gate.identity.account_of("demo"))

    async def slow(key: str) -> Any:
        record = await load(key)
        if key == account_key:
            await release.wait()
        return record

    monkeypatch.setattr(gate.store, "load", slow)
    early = asyncio.ensure_future(gate.login("demo", PASSWORD, HOME))
    await asyncio.sleep(0.05)  # its read of the account is in flight, holding the locked record
    monkeypatch.setattr(gate.store, "load", load)
    await Admin(gate).unlock("demo")
    return early, release


async def test_a_refusal_read_once_is_answered_again_without_a_read(
    replicas: Callable[..., tuple[Gate, Gate]], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, _ = replicas()
    await lock_demo(gate)
    loads = CountedLoads(gate, monkeypatch)
    for _ in range(50):
        with pytest.raises(e.AccountLocked):
            await gate.login("demo", PASSWORD, HOME)
    # the first refusal reads the address and the account; the other 49 read nothing
    assert loads.count == 2


async def test_with_no_memo_every_refusal_reads(
    replicas: Callable[..., tuple[Gate, Gate]], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, _ = replicas(refusal_cache_seconds=0)
    await lock_demo(gate)
    loads = CountedLoads(gate, monkeypatch)
    for _ in range(10):
        with pytest.raises(e.AccountLocked):
            await gate.login("demo", PASSWORD, HOME)
    assert loads.count == 20


async def test_an_unlock_in_the_same_process_is_seen_at_once(
    replicas: Callable[..., tuple[Gate, Gate]],
) -> None:
    gate, _ = replicas()
    await lock_demo(gate)
    with pytest.raises(e.AccountLocked):
        await gate.login("demo", PASSWORD, HOME)
    await Admin(gate).unlock("demo")
    assert (await gate.login("demo", PASSWORD, HOME)).username == "demo"


async def test_an_unlock_elsewhere_is_seen_within_the_hold_and_not_before_the_lock_ends(
    replicas: Callable[..., tuple[Gate, Gate]], clock: FakeClock
) -> None:
    here, elsewhere = replicas()
    await lock_demo(here)
    with pytest.raises(e.AccountLocked) as first:
        await here.login("demo", PASSWORD, HOME)
    assert first.value.retry_after == pytest.approx(900)
    await Admin(elsewhere).unlock("demo")
    clock.advance(0.5)
    with pytest.raises(e.AccountLocked):  # remembered: stale for at most the hold
        await here.login("demo", PASSWORD, HOME)
    clock.advance(0.51)
    assert (await here.login("demo", PASSWORD, HOME)).username == "demo"


async def test_with_no_memo_an_unlock_elsewhere_is_seen_at_once(
    replicas: Callable[..., tuple[Gate, Gate]],
) -> None:
    here, elsewhere = replicas(refusal_cache_seconds=0)
    await lock_demo(here)
    with pytest.raises(e.AccountLocked):
        await here.login("demo", PASSWORD, HOME)
    await Admin(elsewhere).unlock("demo")
    assert (await here.login("demo", PASSWORD, HOME)).username == "demo"


async def test_a_lock_made_elsewhere_is_seen_at_once(
    replicas: Callable[..., tuple[Gate, Gate]],
) -> None:
    # Nothing "allowed" is remembered of an account: a lock always counts at once.
    here, elsewhere = replicas()
    assert (await here.login("demo", PASSWORD, HOME)).username == "demo"
    await Admin(elsewhere).lock("demo")
    with pytest.raises(e.AccountLocked) as refused:
        await here.login("demo", PASSWORD, HOME)
    assert refused.value.retry_after is None


async def test_an_address_remembered_open_is_still_refused_by_its_reservation(
    replicas: Callable[..., tuple[Gate, Gate]],
) -> None:
    here, elsewhere = replicas(ip_max_attempts=3)
    attacker = ClientContext(ip="203.0.113.9")
    with pytest.raises(e.InvalidCredentials):
        await here.login("ghost0", "wrong", attacker)  # the address is remembered open here
    for i in range(1, 3):
        with pytest.raises(e.InvalidCredentials):
            await elsewhere.login(f"ghost{i}", "wrong", attacker)
    # throttled at the store; "here" still remembers the address open, yet its reservation refuses
    with pytest.raises(e.TooManyRequests):
        await here.login("demo", PASSWORD, attacker)
    # and the account's place, reserved in the same step, was given back
    record = await here.store.load(here.identity.user_key(here.identity.account_of("demo")))
    assert record is None or record.state.pending == ()


async def test_a_read_that_raced_a_local_write_of_its_key_is_not_remembered(
    replicas: Callable[..., tuple[Gate, Gate]], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, _ = replicas()
    early, release = await unlock_while_a_login_reads(gate, monkeypatch)
    release.set()
    with pytest.raises(e.AccountLocked):
        await early  # answered by what it read
    # ... but that refusal was not remembered: the next login goes through at once
    assert (await gate.login("demo", PASSWORD, HOME)).username == "demo"


async def test_writes_to_other_keys_do_not_keep_a_refusal_from_being_remembered(
    replicas: Callable[..., tuple[Gate, Gate]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An attack on a locked account while others log in: their writes land during its reads.
    gate, _ = replicas()
    await lock_demo(gate)
    loads = CountedLoads(gate, monkeypatch)
    others = [gate.login("demo", PASSWORD, ClientContext(ip=f"203.0.113.{i}")) for i in range(20)]
    busy = [
        gate.guard.record(gate.guard.policy, f"{gate.identity.pool_id}\x1fuser\x1fx{i}", None, _OK)
        for i in range(20)
    ]
    answers = await asyncio.gather(*others, *busy, return_exceptions=True)
    assert all(isinstance(a, e.AccountLocked) for a in answers[:20])
    after = loads.count
    for _ in range(20):
        with pytest.raises(e.AccountLocked):
            await gate.login("demo", PASSWORD, HOME)
    assert loads.count == after + 1  # HOME's address, read once; the account remembered


async def test_the_memo_keeps_no_busy_verdict_and_nothing_past_its_bounds() -> None:
    memo = Refusals(1.0, max_entries=3)
    memo.put("busy", Verdict(False, 2.0, "busy"), 0.0)
    memo.put("open", Verdict(True), 0.0)  # not advisory: not kept
    assert memo.get("busy", 0.0) is None
    assert memo.get("open", 0.0) is None
    memo.put("short", Verdict(False, 0.2, "locked"), 0.0)
    assert memo.get("short", 0.19) is not None
    assert memo.get("short", 0.2) is None
    memo.put("admin", Verdict(False, None, "admin"), 0.0)
    assert memo.get("admin", 0.99) == Verdict(False, None, "admin")
    assert memo.get("admin", 1.0) is None  # the hold
    for i in range(10):
        memo.put(f"k{i}", Verdict(False, 60.0, "locked"), 0.0)
        assert len(memo) <= 3


async def test_concurrent_attempts_on_a_remembered_lock_reach_cognito_never(
    replicas: Callable[..., tuple[Gate, Gate]], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, _ = replicas()
    await lock_demo(gate)
    calls: list[str] = []
    original = gate.idp.password_auth

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("check")
        return await original(*args, **kwargs)

    monkeypatch.setattr(gate.idp, "password_auth", counted)
    answers = await asyncio.gather(
        *(gate.login("demo", PASSWORD, HOME) for _ in range(200)), return_exceptions=True
    )
    assert all(isinstance(a, e.AccountLocked) for a in answers)
    assert calls == []


async def test_a_herd_arriving_when_the_memo_runs_out_makes_one_read_per_key(
    replicas: Callable[..., tuple[Gate, Gate]], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, _ = replicas()
    await lock_demo(gate)
    with pytest.raises(e.AccountLocked):
        await gate.login("demo", PASSWORD, HOME)  # remembered
    clock.advance(2)  # past the memo's second: 200 attempts at once all miss it
    loads = CountedLoads(gate, monkeypatch)
    answers = await asyncio.gather(
        *(gate.login("demo", PASSWORD, HOME) for _ in range(200)), return_exceptions=True
    )
    assert all(isinstance(a, e.AccountLocked) for a in answers)
    assert loads.count == 2  # the address's record and the account's, each read once


async def test_a_check_arriving_after_a_local_write_does_not_share_an_older_read(
    replicas: Callable[..., tuple[Gate, Gate]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read in flight began before the unlock: a login after the unlock must not take its answer.
    gate, _ = replicas(refusal_cache_seconds=0)
    early, release = await unlock_while_a_login_reads(gate, monkeypatch)
    # (sharing the held read would wait for it: bounded, so that such a regression fails fast)
    assert (await asyncio.wait_for(gate.login("demo", PASSWORD, HOME), 10)).username == "demo"
    release.set()
    with pytest.raises(e.AccountLocked):  # it read before the unlock: refused, as it would be
        await early
