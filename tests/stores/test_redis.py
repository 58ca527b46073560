"""What only the Redis store has to show: key layout and hash tags, expiry by the store's clock,
NOSCRIPT, outages and restarts, and no over-admission across store objects and processes.

The conformance suite (test_stores.py) runs on Redis too; these tests look behind the store with a
plain client (``raw``) and run private ``redis-server`` processes for outages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis as redis_py
from redis.crc import key_slot

from cognito_gate.errors import ConfigError, StoreUnavailable
from cognito_gate.policy import AccountState, LockoutPolicy, Verdict
from cognito_gate.stores import MemoryStore, open_store, read, update, update_many
from cognito_gate.stores import redis as redis_store
from cognito_gate.stores.redis import RedisStore
from tests.conftest import FakeClock
from tests.services import redis as service

pytestmark = pytest.mark.anyio
T0 = 1_800_000_000.0
ONE = AccountState(lockouts=1)
ACCOUNT = "us-east-1_abc\x1fuser\x1falice"
ACCOUNT_IP = ACCOUNT + "\x1f203.0.113.0"
ADDRESS = "us-east-1_abc\x1faddr\x1f203.0.113.7"
AWKWARD = [
    ACCOUNT,
    ACCOUNT_IP,
    ACCOUNT + "\x1f203.0.113.0\x1fmore",
    ADDRESS,
    "p\x1fuser\x1f{braces}",
    "p\x1fuser\x1f}{\x1f{x}",
    "p\x1fuser\x1f*?[a-z]\\",
    "p\x1fuser\x1fwith space\x1f10.0.0.1",
    "p\x1fuser\x1fÅsa ☃ 名前 🙂",
    "p\x1fuser",
    "p",
    "no separators at all",
]


@pytest.fixture
def url() -> Iterator[str]:
    with service.store_url() as fresh:
        yield fresh


@pytest.fixture
def raw(url: str) -> Iterator[redis_py.Redis]:
    client = service.raw_client(url)
    yield client
    client.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def store(url: str, clock: FakeClock) -> AsyncIterator[RedisStore]:
    opened = RedisStore.from_url(url, clock=clock)
    yield opened
    await opened.close()


def stored_keys(raw: redis_py.Redis, url: str) -> list[str]:
    prefix = service.split_prefix(url)[1]
    return sorted(raw.scan_iter(match=f"{prefix}:*", count=1000))


def admit(
    policy: LockoutPolicy, reservation: str, now: float = T0
) -> Callable[[AccountState], tuple[Verdict, AccountState]]:
    """The pure change that reserves one attempt."""
    return lambda state: policy.admit(state, now, reservation)


def record_key(raw: redis_py.Redis, url: str) -> str:
    """The one record key under the URL's prefix."""
    keys = [k for k in stored_keys(raw, url) if ":s:" in k]
    assert len(keys) == 1, keys
    return keys[0]


# -- keys ----------------------------------------------------------------------------------------


def test_open_store_dispatches_redis_urls(url: str) -> None:
    assert isinstance(open_store(url), RedisStore)
    assert isinstance(open_store(url.replace("redis://", "rediss://", 1)), RedisStore)


async def test_an_accounts_keys_share_one_cluster_slot(
    store: RedisStore, raw: redis_py.Redis, url: str
) -> None:
    for key in (ACCOUNT, ACCOUNT_IP, ADDRESS):
        assert await store.swap(key, None, ONE, None)
    keys = {key: store._record_key(key) for key in (ACCOUNT, ACCOUNT_IP, ADDRESS)}
    assert sorted(keys.values()) == stored_keys(raw, url)

    def tag(raw_key: str) -> str:
        return bytes.fromhex(raw_key[raw_key.index("{") + 1 : raw_key.index("}")]).decode()

    assert tag(keys[ACCOUNT]) == tag(keys[ACCOUNT_IP]) == ACCOUNT
    assert tag(keys[ADDRESS]) == ADDRESS
    assert key_slot(keys[ACCOUNT].encode()) == key_slot(keys[ACCOUNT_IP].encode())


async def test_awkward_keys_round_trip(store: RedisStore, raw: redis_py.Redis, url: str) -> None:
    for key in AWKWARD:
        assert await store.swap(key, None, ONE, None)
    for key in AWKWARD:
        record = await store.load(key)
        assert record is not None
        assert record.state == ONE
    assert await store.keys("") == sorted(AWKWARD)
    prefix = service.split_prefix(url)[1]
    raw.set(f"{prefix}:s:{{not-hex}}zz", "junk")  # not the store's: ignored
    assert await store.keys("") == sorted(AWKWARD)
    for key in stored_keys(raw, url):
        assert key.isascii()
        assert key.count("{") <= 1
        assert key.count("}") <= 1


async def test_keys_by_prefix_match_the_memory_store_for_every_prefix(store: RedisStore) -> None:
    oracle = MemoryStore(lambda: T0)
    for key in AWKWARD:
        assert await store.swap(key, None, ONE, None)
        assert await oracle.swap(key, None, ONE, None)
    prefixes = {key[:n] for key in AWKWARD for n in range(len(key) + 1)}
    prefixes |= {"p\x1fuser\x1f*", "p\x1fuser\x1f?", "p\x1fuser\x1f[", "p\x1fuser\x1f\\", "*"}
    for prefix in sorted(prefixes):
        assert await store.keys(prefix) == await oracle.keys(prefix), repr(prefix)


async def test_a_prefix_with_glob_characters_is_literal(url: str) -> None:
    base, _ = service.split_prefix(url)
    prefix = service.split_prefix(url)[1]
    starry = RedisStore.from_url(service.with_prefix(base, prefix + "*?["), clock=lambda: T0)
    plain = RedisStore.from_url(service.with_prefix(base, prefix + "x"), clock=lambda: T0)
    try:
        assert await plain.swap(ACCOUNT, None, ONE, None)
        assert await starry.keys("") == []
        assert await starry.swap(ADDRESS, None, ONE, None)
        assert await starry.keys("") == [ADDRESS]
        assert await plain.keys("") == [ACCOUNT]
    finally:
        await starry.close()
        await plain.close()
        service.delete_prefix(base, prefix + "x")
        service.delete_prefix(base, prefix + "*?[")


# -- expiry --------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", [1_000_000_000.0, T0, 4_000_000_000.0])
async def test_redis_ttl_is_the_remaining_life_by_the_store_clock(
    url: str, raw: redis_py.Redis, start: float
) -> None:
    """Whatever the clock's offset from real time, Redis keeps a record as long as the store's
    clock says it lives (never deleting it at once, never keeping it for years)."""
    store = RedisStore.from_url(url, clock=lambda: start)
    try:
        assert await store.swap(ACCOUNT, None, ONE, start + 60)
        assert await store.load(ACCOUNT) is not None
        assert 55_000 < raw.pttl(record_key(raw, url)) <= 60_000
        await store.put_token_owner("digest", "alice", start + 30)
        assert await store.token_owner("digest", start) == "alice"
        owner_ttl = [raw.pttl(k) for k in stored_keys(raw, url) if ":o:" in k]
        assert len(owner_ttl) == 1
        assert 25_000 < owner_ttl[0] <= 30_000
    finally:
        await store.close()


async def test_no_expiry_means_kept_forever(
    store: RedisStore, raw: redis_py.Redis, url: str
) -> None:
    assert await store.swap(ACCOUNT, None, ONE, T0 + 60)
    record = await store.load(ACCOUNT)
    assert record is not None
    admin_locked = AccountState(admin_locked=True)
    assert await store.swap(ACCOUNT, record.version, admin_locked, None)
    assert raw.pttl(record_key(raw, url)) == -1
    again = await store.load(ACCOUNT)
    assert again is not None
    assert again.state == admin_locked


async def test_a_record_already_expired_when_written_is_not_kept(
    store: RedisStore, raw: redis_py.Redis, url: str
) -> None:
    assert await store.swap(ACCOUNT, None, ONE, T0 - 1)
    assert stored_keys(raw, url) == []
    assert await store.load(ACCOUNT) is None
    assert await store.swap(ACCOUNT, None, ONE, T0 + 1)
    await store.put_token_owner("digest", "alice", T0)
    assert await store.token_owner("digest", T0 - 5) is None


async def test_a_record_lapsed_by_the_clock_counts_as_absent(
    store: RedisStore, clock: FakeClock, raw: redis_py.Redis, url: str
) -> None:
    assert await store.swap(ACCOUNT, None, ONE, T0 + 10)
    first = await store.load(ACCOUNT)
    assert first is not None
    clock.advance(11)
    assert raw.exists(record_key(raw, url))  # Redis has not forgotten it (real time stood still)
    assert await store.load(ACCOUNT) is None
    assert not await store.swap(ACCOUNT, first.version, AccountState(lockouts=2), T0 + 100)
    assert await store.swap(ACCOUNT, None, AccountState(lockouts=3), T0 + 100)
    record = await store.load(ACCOUNT)
    assert record is not None
    assert record.state == AccountState(lockouts=3)
    assert record.version == first.version + 1  # versions keep counting over a lapsed record


async def test_update_over_a_lapsed_record_starts_afresh(
    store: RedisStore, clock: FakeClock
) -> None:
    policy = LockoutPolicy(max_attempts=2, reservation_seconds=30)

    async def attempt(i: int) -> bool:
        verdict = await update(
            store, ACCOUNT, lambda s: policy.admit(s, clock(), f"r{i}"), policy.expires_at
        )
        return verdict.allowed

    assert [await attempt(i) for i in range(3)] == [True, True, False]
    clock.advance(31)  # the reservations lapse
    assert [await attempt(i) for i in range(3, 6)] == [True, True, False]


# -- events --------------------------------------------------------------------------------------


async def test_events_are_capped_by_the_append(
    store: RedisStore, raw: redis_py.Redis, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_store, "EVENTS_KEPT", 5)
    for start in (0, 4, 8):
        await store.add_events([{"username": "a", "n": n} for n in range(start, start + 4)])
    events_key = next(k for k in stored_keys(raw, url) if k.endswith(":events"))
    assert raw.xlen(events_key) == 5
    assert [e["n"] for e in await store.events(None, 100)] == [11, 10, 9, 8, 7]


async def test_events_for_one_user_page_through_the_log(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_store, "_EVENTS_PAGE", 3)
    events = [{"type": "login", "username": "a" if n % 5 == 0 else "b", "n": n} for n in range(40)]
    events.append({"type": "odd", "n": 40})  # no username: only in the unfiltered log
    await store.add_events(events)
    assert [e["n"] for e in await store.events("a", 100)] == [35, 30, 25, 20, 15, 10, 5, 0]
    assert [e["n"] for e in await store.events("a", 3)] == [35, 30, 25]
    assert [e["n"] for e in await store.events(None, 2)] == [40, 39]
    assert await store.events("nobody", 5) == []
    assert await store.events(None, 0) == []
    await store.add_events([])
    await store.add_events([{}])
    assert await store.events(None, 1) == [{}]


# -- scripts, durability, concurrency ------------------------------------------------------------


async def test_scripts_are_loaded_again_after_script_flush(
    store: RedisStore, raw: redis_py.Redis
) -> None:
    policy = LockoutPolicy(max_attempts=5)
    for i in range(2):
        await update(store, ACCOUNT, admit(policy, f"r{i}"), policy.expires_at)
    raw.script_flush()
    assert raw.script_exists(redis_store._SWAP_SCRIPT.sha) == [False]
    for i in range(2, 4):
        await update(store, ACCOUNT, admit(policy, f"r{i}"), policy.expires_at)
    raw.script_flush()
    await store.add_events([{"username": "a"}])
    record = await store.load(ACCOUNT)
    assert record is not None
    assert len(record.state.pending) == 4
    assert await store.events("a", 5) == [{"username": "a"}]


async def test_a_pipeline_of_swaps_loads_its_script_again_after_script_flush(
    store: RedisStore, raw: redis_py.Redis
) -> None:
    policy = LockoutPolicy(max_attempts=5)
    for key in (ACCOUNT, ACCOUNT_IP):
        await read(store, key)  # hints: the pair below goes in one pipeline
    raw.script_flush()
    changes = [(key, admit(policy, "r1"), policy.expires_at) for key in (ACCOUNT, ACCOUNT_IP)]
    verdicts = await update_many(store, changes)
    assert [v.allowed for v in verdicts] == [True, True]
    assert raw.script_exists(redis_store._SWAP_SCRIPT.sha) == [True]
    for key in (ACCOUNT, ACCOUNT_IP):
        record = await store.load(key)
        assert record is not None
        assert [r for r, _ in record.state.pending] == ["r1"]  # each written once, not twice


async def test_init_loads_the_scripts(store: RedisStore, raw: redis_py.Redis) -> None:
    raw.script_flush()
    await store.init()
    shas = [redis_store._SWAP_SCRIPT.sha, redis_store._ADD_EVENTS_SCRIPT.sha]
    assert raw.script_exists(*shas) == [True, True]


async def test_state_survives_a_new_store_object(url: str) -> None:
    first = RedisStore.from_url(url, clock=lambda: T0)
    assert await first.swap(ACCOUNT, None, ONE, T0 + 3600)
    await first.add_events([{"username": "alice", "type": "login"}])
    await first.put_token_owner("digest", "alice", T0 + 3600)
    await first.close()
    second = open_store(url, clock=lambda: T0)
    try:
        record = await second.load(ACCOUNT)
        assert record is not None
        assert record == await second.load(ACCOUNT)
        assert record.state == ONE
        assert await second.keys(ACCOUNT) == [ACCOUNT]
        assert await second.events("alice", 5) == [{"username": "alice", "type": "login"}]
        assert await second.token_owner("digest", T0) == "alice"
    finally:
        await second.close()


async def test_two_store_objects_never_over_admit(url: str) -> None:
    policy = LockoutPolicy(max_attempts=3)
    stores = [RedisStore.from_url(url, clock=lambda: T0) for _ in range(2)]

    async def attempt(i: int) -> bool:
        verdict = await update(
            stores[i % 2], ACCOUNT, lambda s: policy.admit(s, T0, f"r{i}"), policy.expires_at
        )
        return verdict.allowed

    try:
        admitted = await asyncio.gather(*(attempt(i) for i in range(60)))
        assert sum(admitted) == 3
        record = await stores[0].load(ACCOUNT)
        assert record is not None
        assert len(record.state.pending) == 3
    finally:
        for opened in stores:
            await opened.close()


# -- outages -------------------------------------------------------------------------------------


async def every_call_is_unavailable(store: RedisStore, within: float) -> None:
    calls = [
        lambda: store.load(ACCOUNT),
        lambda: store.swap(ACCOUNT, None, ONE, T0 + 60),
        lambda: store.keys(ACCOUNT),
        lambda: store.add_events([{"username": "alice"}]),
        lambda: store.events("alice", 5),
        lambda: store.put_token_owner("digest", "alice", T0 + 60),
        lambda: store.token_owner("digest", T0),
        store.init,
        store.ping,
    ]
    for call in calls:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await call()
        assert time.monotonic() - started < within


async def test_a_killed_server_is_unavailable_and_a_restarted_one_works_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with service.private_server(password="s3cret-pw") as server:
        store = RedisStore.from_url(server.url, clock=lambda: T0)
        assert "s3cret-pw" not in repr(store)
        assert await store.swap(ACCOUNT, None, ONE, T0 + 60)
        await store.ping()
        server.kill()
        await every_call_is_unavailable(store, within=3.0)
        server.start()  # same port, empty (no persistence)
        await store.ping()
        assert await store.load(ACCOUNT) is None
        assert await store.swap(ACCOUNT, None, ONE, T0 + 60)
        assert await store.load(ACCOUNT) is not None
        await store.close()
    assert "s3cret-pw" not in caplog.text
    assert "redis store" in caplog.text


async def test_a_server_that_stops_answering_times_out_quickly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "cognito_gate.stores")
    with service.private_server() as server:
        store = RedisStore.from_url(server.url, clock=lambda: T0)
        assert await store.swap(ACCOUNT, None, ONE, T0 + 60)
        server.pause()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.load(ACCOUNT)
        with pytest.raises(StoreUnavailable):
            await store.ping()
        assert time.monotonic() - started < 2 * redis_store.TIMEOUT + 2
        assert f"TimeoutError: no answer within {redis_store.TIMEOUT:g} s" in caplog.text
        server.resume()
        record = await store.load(ACCOUNT)
        assert record is not None
        assert record.state == ONE
        await store.close()


async def test_an_unreachable_address_is_unavailable() -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{service.free_port()}/0")
    await every_call_is_unavailable(store, within=3.0)
    await store.close()


async def test_a_wrong_password_is_unavailable_without_showing_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with service.private_server(password="right-pw") as server:
        store = RedisStore.from_url(server.url.replace("right-pw", "wrong-pw"))
        with pytest.raises(StoreUnavailable) as caught:
            await store.ping()
        await store.close()
    assert "wrong-pw" not in str(caught.value)
    assert "wrong-pw" not in caplog.text


async def test_close_releases_the_connections() -> None:
    with service.private_server() as server:
        watcher = redis_py.Redis.from_url(server.url)
        store = RedisStore.from_url(server.url)
        await asyncio.gather(*(store.load(f"k{i}") for i in range(5)))
        assert len(watcher.client_list()) > 1
        await store.close()
        deadline = time.monotonic() + 5
        while len(watcher.client_list()) > 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(watcher.client_list()) == 1
        watcher.close()


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("redis://:pw-secret@127.0.0.1:notaport/0", "port"),
        ("redis://:pw-secret@127.0.0.1:99999/0", "port"),
        ("redis://:pw-secret@/0", "host"),
        ("redis://:pw-secret@127.0.0.1:6379/zero", "database number"),
        ("redis://:pw-secret@127.0.0.1:6379/0?nosuch=1", "unknown redis URL option nosuch"),
        ("redis://:pw-secret@127.0.0.1:6379/0?decode_responses=no", "decode_responses"),
        ("redis://:pw-secret@127.0.0.1:6379/0?socket_timeout=soon", "invalid"),
        ("redis://:pw-secret@127.0.0.1:6379/0?prefix=a{b}", "prefix"),
        ("redis://:pw-secret@127.0.0.1:6379/0?prefix=", "prefix"),
    ],
)
def test_a_bad_url_is_one_clear_line_without_the_password(url: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as caught:
        RedisStore.from_url(url)
    message = str(caught.value)
    assert message.startswith("COGNITO_GATE_STORE: ")
    assert "\n" not in message
    assert "pw-secret" not in message


def test_url_options_reach_redis_py() -> None:
    store = RedisStore.from_url("redis://127.0.0.1:6379/3?socket_timeout=0.5&prefix=p")
    kwargs = store._made.connection_pool.connection_kwargs
    assert kwargs["db"] == 3
    assert kwargs["socket_timeout"] == 0.5
    assert kwargs["socket_connect_timeout"] == redis_store.TIMEOUT
    assert "prefix" not in kwargs
    assert repr(store) == "RedisStore(redis://127.0.0.1:6379/3, prefix='p')"


async def test_a_burst_beyond_the_pool_waits_for_a_connection(url: str) -> None:
    # 200 steps at once on two connections: they queue; none is refused (it was a 503 each).
    store = open_store(f"{url}&max_connections=2", clock=lambda: 1_800_000_000.0)
    try:
        # (past two connections in use, redis-py's pool raises: StoreUnavailable here)
        assert await asyncio.gather(*(store.load(f"k{i}") for i in range(200))) == [None] * 200
        assert isinstance(store, RedisStore)
        assert store._redis.connection_pool.max_connections == 2
    finally:
        await store.close()


async def test_every_connection_busy_too_long_is_a_503(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_store, "TIMEOUT", 0.05)
    store = open_store(f"{url}&max_connections=1", clock=lambda: 1_800_000_000.0)
    assert isinstance(store, RedisStore)
    try:
        permits = store._loop_permits()
        await permits.acquire()  # the only connection, held by a step that never ends
        with pytest.raises(StoreUnavailable):
            await store.load("k")
        permits.release()
        assert await store.load("k") is None  # and it answers again once freed
    finally:
        await store.close()
