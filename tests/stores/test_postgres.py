"""What only the PostgreSQL store has: URL parsing, its schema and grants, tombstones,
housekeeping, outages through a proxy, and several processes sharing one database."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from psycopg import sql

from cognito_gate.errors import ConfigError, StoreUnavailable
from cognito_gate.policy import AccountState, LockoutPolicy
from cognito_gate.stores import base as store_base
from cognito_gate.stores import open_store, update
from cognito_gate.stores import postgres as pgstore
from cognito_gate.stores.postgres import PostgresStore, parse_url
from tests.services import postgres as pg

pytestmark = pytest.mark.anyio
T0 = 1_800_000_000.0
ONE = AccountState(lockouts=1)


@pytest.fixture
def url() -> Iterator[str]:
    with pg.store_url() as fresh:
        yield fresh


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStore]:
    opened = PostgresStore.from_url(url, clock=lambda: T0)
    yield opened
    await opened.close()


def with_user(url: str, user: str, password: str | None = None) -> str:
    parts = url.split("://", 1)
    rest = parts[1].split("@", 1)[-1]
    secret = f":{password}" if password else ""
    return f"{parts[0]}://{user}{secret}@{rest}"


def query(url: str, statement: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run ``statement`` with ``{schema}`` standing for the URL's schema; its rows."""
    text = sql.SQL(statement).format(schema=sql.Identifier(parse_url(url).schema))
    with pg.connect() as conn:
        cur = conn.execute(text, args)
        return cur.fetchall() if cur.description else []


# -- URLs ------------------------------------------------------------------------------------------


async def test_both_schemes_open_a_postgres_store(url: str) -> None:
    for variant in (url, url.replace("postgresql://", "postgres://", 1)):
        store = open_store(variant, clock=lambda: T0)
        assert isinstance(store, PostgresStore)
        await store.ping()
        await store.close()


def test_the_schema_is_public_unless_the_url_names_one() -> None:
    assert parse_url("postgresql://gate@db:5432/gate").schema == "public"
    assert parse_url("postgresql://gate@db/gate?schema=lockout&sslmode=prefer").schema == "lockout"
    target = parse_url("postgres://gate:hunter2@db:6432/gate?schema=s&password=hunter3")
    assert target.label == "postgresql://gate@db:6432/gate?schema=s"
    assert "hunter" not in repr(target)
    assert "hunter" not in repr(PostgresStore(target))
    assert "connect_timeout=3" in target.conninfo


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("postgresql://u:hunter2@h:notaport/db", "invalid port"),
        ("postgresql://u:hunter2@h/db?nonsense=1", "nonsense"),
        ("postgresql://u:hunter2@h/db?schema=a;drop", "schema must be"),
        ("postgresql://u:hunter2@h/db?schema=", "schema must be"),
        ("postgresql://u:hunter2@h/db?schema=a&schema=b", "more than once"),
        ("postgresql://u:hun%zzter2@h/db", "percent"),
        ("postgresql://u:hunter2@[::1/db", "malformed"),
        ("postgresql://u@h/db?password=hun%zzter2", "percent"),
    ],
)
def test_a_bad_url_is_one_line_naming_the_setting_never_the_password(url: str, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url)
    message = caught.value.message
    assert message.startswith("COGNITO_GATE_STORE: ")
    assert needle in message
    assert "\n" not in message
    assert "hunter2" not in message
    assert "zzter2" not in message


# -- the schema ------------------------------------------------------------------------------------


async def test_init_creates_the_tables_in_the_urls_schema_with_a_version(
    url: str, store: PostgresStore
) -> None:
    await store.init()
    await store.init()  # idempotent
    tables = query(
        url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        parse_url(url).schema,
    )
    assert [t[0] for t in tables] == [
        "cognito_gate_events",
        "cognito_gate_meta",
        "cognito_gate_state",
        "cognito_gate_token_owners",
    ]
    assert query(url, "SELECT name, value FROM {schema}.cognito_gate_meta") == [
        ("schema_version", str(pgstore.SCHEMA_VERSION))
    ]


async def test_stores_starting_together_create_the_schema_once(url: str) -> None:
    stores = [PostgresStore.from_url(url, clock=lambda: T0) for _ in range(8)]
    try:
        await asyncio.gather(*(s.swap(f"k{i}", None, ONE, None) for i, s in enumerate(stores)))
        assert await stores[0].keys("k") == [f"k{i}" for i in range(8)]
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_a_schema_newer_than_the_code_is_refused(url: str, store: PostgresStore) -> None:
    await store.init()
    query(url, "UPDATE {schema}.cognito_gate_meta SET value = '99'")
    newer = PostgresStore.from_url(url, clock=lambda: T0)
    try:
        with pytest.raises(StoreUnavailable, match="upgrade"):
            await newer.load("k")
        with pytest.raises(StoreUnavailable, match="upgrade"):
            await newer.init()
    finally:
        await newer.close()


async def test_a_role_without_ddl_is_told_to_run_store_init_and_then_works(url: str) -> None:
    role = f"cg_test_role_{uuid.uuid4().hex[:10]}"
    schema = parse_url(url).schema
    query(url, f"CREATE ROLE {role} LOGIN")
    weak = PostgresStore.from_url(with_user(url, role), clock=lambda: T0)
    admin = PostgresStore.from_url(url, clock=lambda: T0)
    try:
        with pytest.raises(StoreUnavailable, match=r"run `cognito-gate store init`"):
            await weak.load("k")
        with pytest.raises(ConfigError, match=r"^COGNITO_GATE_STORE: .*cognito-gate store init"):
            await weak.init()
        await admin.init()
        query(url, f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        query(
            url, f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}"
        )
        assert await weak.swap("k", None, ONE, T0 + 60)
        assert await weak.swap("k", 1, None, None)
        await weak.add_events([{"type": "login", "username": "a"}])
        assert await weak.events("a", 5) == [{"type": "login", "username": "a"}]
        await weak.put_token_owner("d", "a", T0 + 1)
        assert await weak.token_owner("d", T0) == "a"
        await weak.housekeeping()
    finally:
        await weak.close()
        await admin.close()
        query(url, f"DROP OWNED BY {role}")
        query(url, f"DROP ROLE {role}")


async def test_a_schema_dropped_behind_the_stores_back_comes_back(
    url: str, store: PostgresStore
) -> None:
    assert await store.swap("k", None, ONE, None)
    pg.drop_schema(parse_url(url).schema)
    with pytest.raises(StoreUnavailable):
        await store.load("k")
    assert await store.load("k") is None
    assert await store.swap("k", None, ONE, None)


# -- records ---------------------------------------------------------------------------------------


async def test_an_expired_record_makes_way_and_its_version_keeps_counting(
    store: PostgresStore,
) -> None:
    assert await store.swap("k", None, ONE, T0 - 1)
    assert await store.load("k") is None
    assert await store.keys("k") == []
    assert await store.swap("k", None, AccountState(lockouts=2), None)
    record = await store.load("k")
    assert record is not None
    assert record.version == 2
    assert record.state.lockouts == 2


async def test_an_old_version_never_writes_over_a_record_deleted_and_created_again(
    store: PostgresStore,
) -> None:
    assert await store.swap("k", None, ONE, None)
    stale = await store.load("k")
    assert stale is not None
    assert await store.swap("k", stale.version, None, None)  # deleted: a tombstone remains
    assert await store.keys("k") == []
    assert await store.swap("k", None, AccountState(lockouts=2), None)  # created again
    assert not await store.swap("k", stale.version, AccountState(lockouts=9), None)
    record = await store.load("k")
    assert record is not None
    assert record.state.lockouts == 2


async def test_keys_come_in_codepoint_order(store: PostgresStore) -> None:
    names = ["user\x1fz", "user\x1fZ", "user\x1fé", "user\x1f中", "user\x1fa b", "user\x1fa"]
    for key in names:
        assert await store.swap(key, None, ONE, None)
    assert await store.keys("user\x1f") == sorted(names)


async def test_text_postgresql_cannot_hold_is_a_503_not_a_crash(store: PostgresStore) -> None:
    with pytest.raises(StoreUnavailable):
        await store.swap("user\x1fa\x00b", None, ONE, None)
    with pytest.raises(StoreUnavailable):
        await store.load("user\x1f\ud800")
    await store.ping()


async def test_events_of_one_batch_keep_their_order(store: PostgresStore) -> None:
    await store.add_events([{"n": i, "username": "u", "when": {"nested": [i]}} for i in range(50)])
    assert [e["n"] for e in await store.events("u", 100)] == list(range(49, -1, -1))
    assert await store.events(None, 0) == []
    assert await store.events(None, -1) == []
    await store.add_events([])


async def test_housekeeping_sweeps_what_expired_and_trims_the_events(
    url: str, store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_base, "EVENTS_KEPT", 5)
    long_ago = T0 - pgstore.EXPIRED_GRACE - 1
    assert await store.swap("gone", None, ONE, long_ago)
    assert await store.swap("recent", None, ONE, T0 - 1)  # expired, still within the grace
    assert await store.swap("live", None, ONE, T0 + 60)
    assert await store.swap("forever", None, ONE, None)
    await store.put_token_owner("old", "a", T0)
    await store.put_token_owner("new", "a", T0 + 1)
    await store.add_events([{"n": i} for i in range(12)])
    await store.housekeeping()
    assert query(url, "SELECT key FROM {schema}.cognito_gate_state ORDER BY key") == [
        ("forever",),
        ("live",),
        ("recent",),
    ]
    assert query(url, "SELECT digest FROM {schema}.cognito_gate_token_owners") == [("new",)]
    assert [e["n"] for e in await store.events(None, 100)] == [11, 10, 9, 8, 7]

    monkeypatch.setattr(pgstore, "TRIM_EVERY", 1)  # now every batch trims
    await store.add_events([{"n": i} for i in range(12, 20)])
    assert [e["n"] for e in await store.events(None, 100)] == [19, 18, 17, 16, 15]


async def test_a_new_store_on_the_same_url_sees_everything(url: str) -> None:
    first = PostgresStore.from_url(url, clock=lambda: T0)
    assert await first.swap("k", None, ONE, T0 + 60)
    await first.add_events([{"type": "login", "username": "a"}])
    await first.put_token_owner("d", "a", T0 + 60)
    await first.close()
    second = PostgresStore.from_url(url, clock=lambda: T0)
    try:
        record = await second.load("k")
        assert record is not None
        assert record.state == ONE
        assert await second.events("a", 5) == [{"type": "login", "username": "a"}]
        assert await second.token_owner("d", T0) == "a"
    finally:
        await second.close()


# -- outages ---------------------------------------------------------------------------------------


async def _fails_fast(call: Any, limit: float = 5.0) -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await call
    assert time.monotonic() - started < limit


async def test_an_outage_is_a_503_within_seconds_and_the_store_recovers_alone(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret_url = with_user(url, "postgres", "s3cret-pw")  # trust auth: any password will do
    with pg.TcpProxy.before(secret_url) as (proxy, through):
        store = PostgresStore.from_url(through, clock=lambda: T0)
        try:
            assert await store.swap("k", None, ONE, None)
            proxy.stop()
            await _fails_fast(store.load("k"))
            await _fails_fast(store.swap("k", 1, AccountState(lockouts=2), None))
            await _fails_fast(store.add_events([{"n": 1}]))
            await _fails_fast(store.ping())
            proxy.start()
            record = await store.load("k")
            assert record is not None
            assert record.state == ONE
            assert await store.swap("k", 1, AccountState(lockouts=2), None)
        finally:
            await store.close()
    assert "s3cret-pw" not in caplog.text


async def test_a_server_down_at_start_is_a_503_until_it_comes(url: str) -> None:
    with pg.TcpProxy.before(url) as (proxy, through):
        proxy.stop()
        store = PostgresStore.from_url(through, clock=lambda: T0)
        try:
            await _fails_fast(store.init())
            proxy.start()
            assert await store.swap("k", None, ONE, None)
        finally:
            await store.close()


async def test_a_short_blip_costs_a_read_nothing(url: str) -> None:
    with pg.TcpProxy.before(url) as (proxy, through):
        store = PostgresStore.from_url(through, clock=lambda: T0)
        try:
            await asyncio.gather(*(store.swap(f"k{i}", None, ONE, None) for i in range(5)))
            proxy.stop()
            proxy.start()  # every pooled connection is now dead, unbeknown to the pool
            record = await store.load("k1")
            assert record is not None
            assert await store.swap("k1", record.version, AccountState(lockouts=2), None)
        finally:
            await store.close()


async def test_a_server_that_hangs_is_a_503_not_a_hang(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgstore, "OPERATION_TIMEOUT", 1.5)
    with pg.TcpProxy.before(url) as (proxy, through):
        store = PostgresStore.from_url(through, clock=lambda: T0)
        try:
            assert await store.swap("k", None, ONE, None)
            proxy.freeze()
            await _fails_fast(store.load("k"), limit=4.0)
            await _fails_fast(store.ping(), limit=4.0)
            proxy.thaw()
            record = await store.load("k")
            assert record is not None
        finally:
            await store.close()


# -- concurrency -----------------------------------------------------------------------------------


async def test_two_stores_on_one_key_never_over_admit(url: str) -> None:
    policy = LockoutPolicy(max_attempts=3)
    stores = [PostgresStore.from_url(url, clock=lambda: T0) for _ in range(2)]

    async def attempt(i: int) -> bool:
        verdict = await update(
            stores[i % 2], "k", lambda s: policy.admit(s, T0, f"r{i}"), policy.expires_at
        )
        return verdict.allowed

    try:
        assert sum(await asyncio.gather(*(attempt(i) for i in range(40)))) == 3
    finally:
        await asyncio.gather(*(s.close() for s in stores))
