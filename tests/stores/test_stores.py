"""The conformance suite: every store test runs on every backend (see conftest.py)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cognito_gate.cognito.local import Emulator
from cognito_gate.errors import ConfigError, StoreUnavailable
from cognito_gate.policy import AccountState, LockoutPolicy, Outcome
from cognito_gate.stores import Store, open_store, read, update, update_many
from cognito_gate.stores.base import SwapsMany, Versioned
from tests.services import store_url_for

pytestmark = pytest.mark.anyio
T0 = 1_800_000_000.0


async def test_a_missing_key_loads_as_none(store: Store) -> None:
    assert await store.load("user\x1fnobody") is None


async def test_swap_writes_only_over_the_expected_version(store: Store) -> None:
    one = AccountState(lockouts=1)
    assert await store.swap("k", None, one, None)
    assert not await store.swap("k", None, one, None)  # someone else created it first
    record = await store.load("k")
    assert record is not None
    assert record.state == one
    two = AccountState(lockouts=2)
    assert await store.swap("k", record.version, two, None)
    assert not await store.swap("k", record.version, AccountState(lockouts=9), None)
    again = await store.load("k")
    assert again is not None
    assert again.state == two
    assert again.version == record.version + 1


async def test_swapping_in_none_deletes(store: Store) -> None:
    assert await store.swap("k", None, AccountState(lockouts=1), None)
    record = await store.load("k")
    assert record is not None
    assert await store.swap("k", record.version, None, None)
    assert await store.load("k") is None


async def test_expired_records_are_forgotten(store: Store) -> None:
    assert await store.swap("old", None, AccountState(lockouts=1), T0 - 1)
    assert await store.swap("new", None, AccountState(lockouts=1), T0 + 1)
    assert await store.load("old") is None
    assert await store.load("new") is not None


async def test_keys_by_prefix_treat_like_wildcards_literally(store: Store) -> None:
    for key in ("user\x1fa_b", "user\x1fa_b\x1f1.2.3.4", "user\x1faxb", "user\x1fa%"):
        assert await store.swap(key, None, AccountState(lockouts=1), None)
    assert await store.keys("user\x1fa_b") == ["user\x1fa_b", "user\x1fa_b\x1f1.2.3.4"]
    assert await store.keys("user\x1fa%") == ["user\x1fa%"]


async def test_update_applies_the_pure_policy_atomically(store: Store) -> None:
    policy = LockoutPolicy(max_attempts=3)

    async def attempt(i: int) -> bool:
        verdict = await update(
            store, "k", lambda s: policy.admit(s, T0, f"r{i}"), policy.expires_at
        )
        return verdict.allowed

    admitted = await asyncio.gather(*(attempt(i) for i in range(50)))
    assert sum(admitted) == 3
    record = await store.load("k")
    assert record is not None
    assert len(record.state.pending) == 3


async def test_events_are_kept_newest_first_and_filtered_by_user(store: Store) -> None:
    await store.add_events(
        [{"type": "login", "username": "a" if i % 2 else "b", "n": i} for i in range(5)]
    )
    assert [e["n"] for e in await store.events(None, 3)] == [4, 3, 2]
    assert [e["n"] for e in await store.events("a", 10)] == [3, 1]


async def test_token_owners_expire(store: Store) -> None:
    await store.put_token_owner("digest", "alice", T0 + 10)
    assert await store.token_owner("digest", T0) == "alice"
    assert await store.token_owner("digest", T0 + 10) is None
    assert await store.token_owner("other", T0) is None


async def test_ping_answers(store: Store) -> None:
    await store.ping()


async def test_update_many_applies_each_change_atomically_and_answers_in_order(
    store: Store,
) -> None:
    # A login reserves the address and the account in one step; 50 at once, on two keys with
    # their own budgets, and two of the changes on each key never interleave wrongly.
    wide, narrow = LockoutPolicy(max_attempts=10), LockoutPolicy(max_attempts=3)

    async def attempt(i: int) -> tuple[bool, bool]:
        first, second = await update_many(
            store,
            [
                ("addr", lambda s: wide.admit(s, T0, f"r{i}"), wide.expires_at),
                ("acct", lambda s: narrow.admit(s, T0, f"r{i}"), narrow.expires_at),
            ],
        )
        return first.allowed, second.allowed

    answers = await asyncio.gather(*(attempt(i) for i in range(50)))
    assert sum(a for a, _ in answers) == 10
    assert sum(b for _, b in answers) == 3
    for key, kept in (("addr", 10), ("acct", 3)):
        record = await store.load(key)
        assert record is not None
        assert len(record.state.pending) == kept
    # A release of both, in order: each change's result comes back in its place.
    released = await update_many(
        store,
        [
            ("acct", lambda s: (len(s.pending), replace(s, pending=())), narrow.expires_at),
            ("addr", lambda s: (len(s.pending), replace(s, pending=())), wide.expires_at),
        ],
    )
    assert released == [3, 10]
    assert await store.load("acct") is None
    assert await store.load("addr") is None


def _hammer(url: str, reservations: int, queue: multiprocessing.Queue[int]) -> None:
    """One process: ``reservations`` attempts to reserve on one key, each with its own store."""
    policy = LockoutPolicy(max_attempts=7, reservation_seconds=3600)

    async def run() -> int:
        store = open_store(url, clock=lambda: T0)
        try:
            verdicts = [
                await update(
                    store,
                    "shared",
                    lambda s, i=i: policy.admit(s, T0, f"{os.getpid()}-{i}"),
                    policy.expires_at,
                )
                for i in range(reservations)
            ]
        finally:
            await store.close()
        return sum(v.allowed for v in verdicts)

    queue.put(asyncio.run(run()))


# DynamoDB is left out here: moto checks a condition and writes without a lock of its own, so
# over HTTP from several processes it is moto's atomicity under test, not the store's (the
# DynamoDB tests give moto DynamoDB's guarantee with a lock in-process: test_dynamodb.py).
@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgresql"])
def test_processes_sharing_one_store_never_over_admit(
    backend: str, tmp_path: Path, emulator: Emulator
) -> None:
    with store_url_for(backend, tmp_path, emulator.endpoint) as url:
        ctx = multiprocessing.get_context("spawn")
        queue: multiprocessing.Queue[int] = ctx.Queue()
        procs = [ctx.Process(target=_hammer, args=(url, 20, queue)) for _ in range(4)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
            assert proc.exitcode == 0
        assert sum(queue.get() for _ in procs) == 7


async def test_an_unreachable_sqlite_file_is_a_503_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    store = open_store(f"sqlite:///{blocker}/gate.db")
    with pytest.raises(StoreUnavailable):
        await store.load("k")
    with pytest.raises(StoreUnavailable):
        await store.ping()


async def test_a_successful_outcome_deletes_the_record(store: Store) -> None:
    policy = LockoutPolicy()
    await update(store, "k", lambda s: policy.admit(s, T0, "r"), policy.expires_at)
    await update(
        store,
        "k",
        lambda s: (None, policy.record(s, T0, "r", Outcome.SUCCESS).state),
        policy.expires_at,
    )
    assert await store.load("k") is None


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("sqlite:///", "needs a path"),
        ("ftp://x", "expected memory://"),
    ],
)
def test_unsupported_store_urls_name_the_fix(url: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        open_store(url)


def test_a_missing_driver_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # as if `pip install redis` never ran
    with pytest.raises(ConfigError, match=r"pip install 'cognito-gate\[redis\]'"):
        open_store("redis://127.0.0.1:6379/0")


async def test_a_version_read_before_a_delete_never_matches_the_record_created_after(
    store: Store,
) -> None:
    assert await store.swap("k", None, AccountState(lockouts=1), None)
    stale = await store.load("k")
    assert stale is not None
    assert await store.swap("k", stale.version, None, None)  # deleted
    assert await store.swap("k", None, AccountState(lockouts=2), None)  # created again
    # a writer that read the first record must not overwrite the second one
    assert not await store.swap("k", stale.version, AccountState(lockouts=9), None)
    again = await store.load("k")
    assert again is not None
    assert again.state == AccountState(lockouts=2)


async def test_sqlite_waits_for_another_writer_instead_of_failing(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path}/gate.db"
    store = open_store(url, clock=lambda: T0)
    await store.ping()  # the schema exists
    policy = LockoutPolicy(max_attempts=3)
    other = sqlite3.connect(tmp_path / "gate.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    pending = asyncio.ensure_future(
        update(store, "k", lambda s: policy.admit(s, T0, "r1"), policy.expires_at)
    )
    await asyncio.sleep(0.2)
    assert not pending.done()  # not refused: it waits on the store's worker
    assert await store.load("k") is None  # reads never wait in WAL mode
    other.execute("COMMIT")
    verdict = await asyncio.wait_for(pending, 5)
    assert verdict.allowed
    record = await store.load("k")
    assert record is not None
    assert [p[0] for p in record.state.pending] == ["r1"]
    other.close()
    await store.close()


async def test_the_memory_store_sweeps_what_has_expired() -> None:
    from cognito_gate.stores.memory import SWEEP_EVERY, MemoryStore

    now = [T0]
    store = MemoryStore(clock=lambda: now[0])
    for i in range(3 * SWEEP_EVERY):
        assert await store.swap(f"k{i}", None, AccountState(lockouts=1), now[0] + 1)
        await store.put_token_owner(f"d{i}", "alice", now[0] + 1)
        now[0] += 2  # each record expires before the next is written
    # never more than one sweep's worth is held, however many were written
    assert len(store) <= 2 * SWEEP_EVERY
    assert await store.swap("kept", None, AccountState(lockouts=1), None)
    assert len(store) <= 2 * SWEEP_EVERY + 1


def test_a_store_used_from_a_new_event_loop_still_answers(store_url: str) -> None:
    """A CLI command, a test or an embedding app may check the gate in one loop and serve in
    another: the store connects again in the loop it is used from, it does not fail."""
    store = open_store(store_url, clock=lambda: T0)
    policy = LockoutPolicy(max_attempts=3)

    async def admit(reservation: str) -> bool:
        try:
            change = lambda s: policy.admit(s, T0, reservation)  # noqa: E731
            return (await update(store, "k", change, policy.expires_at)).allowed
        finally:
            await store.close()  # as Gate.close does when its loop ends

    async def pending() -> set[str]:
        try:
            record = await store.load("k")
            assert record is not None
            return {p[0] for p in record.state.pending}
        finally:
            await store.close()

    assert asyncio.run(admit("first"))
    assert asyncio.run(admit("second"))  # another loop, the same store object
    assert asyncio.run(pending()) == {"first", "second"}


async def _two_processes(store_url: str) -> tuple[Store, Store]:
    if store_url.startswith("memory"):
        pytest.skip("memory:// is one process's own")
    return open_store(store_url, clock=lambda: T0), open_store(store_url, clock=lambda: T0)


async def test_an_update_on_a_stale_hint_loses_nothing_written_elsewhere(store_url: str) -> None:
    here, elsewhere = await _two_processes(store_url)
    try:
        assert await read(here, "k") is None  # kept as a hint: "absent"
        await update(elsewhere, "k", lambda s: (None, AccountState(lockouts=5)), lambda s: None)
        await update(
            here, "k", lambda s: (None, replace(s, lockouts=s.lockouts + 1)), lambda s: None
        )
        record = await read(elsewhere, "k")
        assert record is not None
        assert record.state.lockouts == 6  # the swap on the hint failed, the retry read 5
        # the same on a hint of a present record, now stale
        await update(elsewhere, "k", lambda s: (None, replace(s, lockouts=10)), lambda s: None)
        await update(
            here, "k", lambda s: (None, replace(s, lockouts=s.lockouts + 1)), lambda s: None
        )
        again = await read(here, "k")
        assert again is not None
        assert again.state.lockouts == 11
    finally:
        await here.close()
        await elsewhere.close()


async def test_nothing_to_write_on_a_hint_is_made_sure_of_with_a_read(store_url: str) -> None:
    here, elsewhere = await _two_processes(store_url)
    try:
        assert await read(here, "k") is None  # hint: absent
        await update(elsewhere, "k", lambda s: (None, AccountState(lockouts=1)), lambda s: None)
        # "clear" judged on the hint alone would write nothing; the record must go
        cleared = await update(here, "k", lambda s: (s.lockouts, AccountState()), lambda s: None)
        assert cleared == 1
        assert await read(elsewhere, "k") is None
    finally:
        await here.close()
        await elsewhere.close()


async def test_an_update_after_a_read_or_an_update_of_its_key_reads_nothing_more(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A login reads an account, reserves a place on it, then records the outcome: one read.
    if not hasattr(store, "swap") or hasattr(store, "apply"):
        pytest.skip("a transactional store reads inside its own transaction")
    await update(store, "k", lambda s: (None, AccountState(lockouts=1)), lambda s: None)
    await read(store, "k")
    loads = 0
    load = store.load

    async def counted(key: str) -> object:
        nonlocal loads
        loads += 1
        return await load(key)

    monkeypatch.setattr(store, "load", counted)
    for n in (2, 3, 4):
        await update(store, "k", lambda s, n=n: (None, replace(s, lockouts=n)), lambda s: None)
    assert loads == 0
    monkeypatch.undo()
    record = await store.load("k")
    assert record is not None
    assert record.state.lockouts == 4


def _swapping(store: Store) -> SwapsMany:
    if not isinstance(store, SwapsMany):
        pytest.skip("this store updates several records in one transaction, not by swaps")
    return store


async def test_swap_many_answers_each_swap_by_the_version_it_wrote(store: Store) -> None:
    swapping = _swapping(store)
    first = await swapping.swap_many(
        [("a", None, AccountState(lockouts=1), None), ("b", None, AccountState(lockouts=2), None)]
    )
    a, b = await store.load("a"), await store.load("b")
    assert a is not None
    assert b is not None
    assert first == [a.version, b.version]
    # one written over its version, one lost (a stale version), one deleted: in order
    again = await swapping.swap_many(
        [
            ("a", a.version, AccountState(lockouts=3), None),
            ("b", b.version + 7, AccountState(lockouts=9), None),
            ("b", b.version, None, None),
        ]
    )
    assert again == [a.version + 1, None, 0]
    now_a = await store.load("a")
    assert now_a == Versioned(AccountState(lockouts=3), a.version + 1)
    assert await store.load("b") is None


async def test_a_logins_updates_after_its_reads_are_one_round_trip_each(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A login reads its two keys, reserves on both (creating them), settles both: no more reads.
    swapping = _swapping(store)
    policy = LockoutPolicy(max_attempts=5)
    for key in ("addr", "acct"):
        assert await read(store, key) is None
    calls: list[str] = []
    load, swap_many = store.load, swapping.swap_many

    async def counted_load(key: str) -> object:
        calls.append("load")
        return await load(key)

    async def counted_swap_many(swaps: list[object]) -> list[int | None]:
        calls.append(f"swap_many {len(swaps)}")
        return await swap_many(swaps)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "load", counted_load)
    monkeypatch.setattr(store, "swap_many", counted_swap_many)
    keys = ("addr", "acct")
    admitted = await update_many(
        store, [(k, lambda s: policy.admit(s, T0, "r1"), policy.expires_at) for k in keys]
    )
    assert [v.allowed for v in admitted] == [True, True]
    settled = await update_many(
        store,
        [
            (
                k,
                lambda s: (None, policy.record(s, T0, "r1", Outcome.SUCCESS).state),
                policy.expires_at,
            )
            for k in keys
        ],
    )
    assert settled == [None, None]
    assert calls == ["swap_many 2", "swap_many 2"]
    monkeypatch.undo()
    assert await store.load("addr") is None
    assert await store.load("acct") is None


async def test_a_pair_of_updates_on_a_stale_hint_loses_nothing_written_elsewhere(
    store_url: str,
) -> None:
    here, elsewhere = await _two_processes(store_url)
    try:
        _swapping(here)
        for key in ("x", "y"):
            await read(here, key)  # hints: absent
        await update(elsewhere, "y", lambda s: (None, AccountState(lockouts=5)), lambda s: None)
        bump = lambda s: (s.lockouts + 1, replace(s, lockouts=s.lockouts + 1))  # noqa: E731
        assert await update_many(
            here, [("x", bump, lambda s: None), ("y", bump, lambda s: None)]
        ) == [1, 6]  # y's swap on its stale hint lost; its retry read 5
        for key, lockouts in (("x", 1), ("y", 6)):
            record = await read(elsewhere, key)
            assert record is not None
            assert record.state.lockouts == lockouts
    finally:
        await here.close()
        await elsewhere.close()
