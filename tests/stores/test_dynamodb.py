"""What only the DynamoDB store has: its URL, its table, its layout, outages and real concurrency.

The conformance suite (test_stores.py) runs on it too. Everything here talks to moto: the
session's emulator, or one a test starts on its own port. Credentials are moto's dummy ones, put in
the environment by ``tests.services.dynamodb`` for as long as a test's URL is in use.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from cognito_gate.cognito.local import Emulator
from cognito_gate.errors import ConfigError, StoreUnavailable
from cognito_gate.policy import AccountState, LockoutPolicy, Verdict
from cognito_gate.stores import dynamodb as module
from cognito_gate.stores import open_store, update
from cognito_gate.stores.dynamodb import DynamoSettings, DynamoStore, split_key
from tests.services import dynamodb

pytestmark = pytest.mark.anyio
T0 = 1_800_000_000.0
ALICE = "us-east-1_abc\x1fuser\x1falice"


@pytest.fixture
def url(emulator: Emulator) -> Iterator[str]:
    with dynamodb.store_url(emulator.endpoint) as fresh:
        yield fresh


@pytest.fixture
async def store(url: str) -> AsyncIterator[DynamoStore]:
    opened = DynamoStore.from_url(url, clock=lambda: T0)
    yield opened
    await opened.close()


def _table(url: str) -> str:
    return url.split("://", 1)[1].split("?", 1)[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the URL -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("dynamodb://", "table name"),
        ("dynamodb://ab", "table name"),
        ("dynamodb://user:pw@table", "table name"),
        ("dynamodb://table/extra", "no path"),
        ("dynamodb://table?colour=red", "unknown dynamodb:// option 'colour'"),
        ("dynamodb://table?region=nowhere", "not an AWS region"),
        ("dynamodb://table?region=us-east-1&endpoint=ftp://x", "not an http"),
        ("dynamodb://table?region=us-east-1&create=maybe", "not true or false"),
        ("dynamodb://table?region=us-east-1&region=eu-west-1", "given twice"),
    ],
)
def test_a_bad_url_is_one_clear_config_error(url: str, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url)
    message = str(caught.value)
    assert message.startswith("COGNITO_GATE_STORE:")
    assert needle in message
    assert "\n" not in message


def test_the_region_defaults_to_the_pools_and_the_url_wins() -> None:
    store = DynamoStore.from_url("dynamodb://gate", region="eu-west-1")
    assert store.settings == DynamoSettings("gate", "eu-west-1", None, True)
    named = open_store(
        "dynamodb://gate.v2?region=ap-south-1&endpoint=http://localhost:8000&create=false",
        region="eu-west-1",
    )
    assert isinstance(named, DynamoStore)
    assert named.settings == DynamoSettings("gate.v2", "ap-south-1", "http://localhost:8000", False)


def test_no_region_anywhere_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    with pytest.raises(ConfigError, match=r"^COGNITO_GATE_STORE: dynamodb:// needs a region"):
        DynamoStore.from_url("dynamodb://gate")


# -- the table -----------------------------------------------------------------------------------


async def test_the_table_is_created_on_first_use_with_ttl_on(
    store: DynamoStore, url: str, emulator: Emulator
) -> None:
    await store.load(ALICE)
    client = dynamodb.client(emulator.endpoint)
    ttl = client.describe_time_to_live(TableName=_table(url))["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    table = client.describe_table(TableName=_table(url))["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-user"]


async def test_create_false_names_the_command_and_init_creates(url: str) -> None:
    store = DynamoStore.from_url(url + "&create=false", clock=lambda: T0)
    calls: list[Callable[[], Awaitable[object]]] = [store.ping, lambda: store.load(ALICE)]
    for call in calls:
        with pytest.raises(ConfigError, match=r"^COGNITO_GATE_STORE: .*cognito-gate store init"):
            await call()
    await store.init()
    await store.init()  # idempotent
    assert await store.swap(ALICE, None, AccountState(lockouts=1), None)
    assert await store.load(ALICE) is not None
    await store.close()


async def test_a_table_of_another_layout_is_a_config_error(url: str, emulator: Emulator) -> None:
    dynamodb.client(emulator.endpoint).create_table(
        TableName=_table(url),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    store = DynamoStore.from_url(url, clock=lambda: T0)
    with pytest.raises(ConfigError, match=r"^COGNITO_GATE_STORE: .* not made for cognito-gate"):
        await store.init()
    with pytest.raises(ConfigError, match="not made for cognito-gate"):
        await store.load(ALICE)
    await store.close()


async def test_concurrent_creators_share_one_table(url: str) -> None:
    stores = [DynamoStore.from_url(url, clock=lambda: T0) for _ in range(3)]
    await asyncio.gather(stores[0].init(), stores[1].init(), stores[2].load(ALICE))
    assert await stores[1].swap(ALICE, None, AccountState(lockouts=1), None)
    assert await stores[2].load(ALICE) is not None
    for opened in stores:
        await opened.close()


async def test_a_new_store_on_the_same_url_sees_everything(url: str) -> None:
    first = DynamoStore.from_url(url, clock=lambda: T0)
    assert await first.swap(ALICE, None, AccountState(lockouts=2), T0 + 60)
    await first.put_token_owner("digest", "alice", T0 + 60)
    await first.add_events([{"type": "login", "username": "alice", "n": 1}])
    await first.close()

    second = DynamoStore.from_url(url, clock=lambda: T0)
    record = await second.load(ALICE)
    assert record is not None
    assert record.state == AccountState(lockouts=2)
    assert await second.keys(ALICE) == [ALICE]
    assert await second.token_owner("digest", T0) == "alice"
    assert await second.events("alice", 5) == [{"type": "login", "username": "alice", "n": 1}]
    await second.close()


# -- the layout ----------------------------------------------------------------------------------


def test_keys_split_after_their_third_separator() -> None:
    assert split_key(ALICE) == (ALICE, "")
    assert split_key(ALICE + "\x1f203.0.113.0") == (ALICE, "\x1f203.0.113.0")
    assert split_key("user\x1fbob") == ("user\x1fbob", "")
    assert split_key("a\x1fb\x1fc\x1fd\x1fe") == ("a\x1fb\x1fc", "\x1fd\x1fe")


KEYS = [
    ALICE,
    ALICE + "\x1f203.0.113.0",
    ALICE + "\x1f203.0.113.7",
    ALICE + "\x1f\uffff",
    ALICE + "\x1f\U0001f600",
    "us-east-1_abc\x1fuser\x1falicia",
    "us-east-1_abc\x1fuser\x1falice_",
    "us-east-1_abc\x1faddr\x1f203.0.113.0",
    "user\x1fbob",
    "user\x1fbob\x1f198.51.100.1",
]


async def test_an_accounts_keys_share_one_partition(
    store: DynamoStore, url: str, emulator: Emulator
) -> None:
    for key in KEYS:
        assert await store.swap(key, None, AccountState(lockouts=1), None)
    client = dynamodb.client(emulator.endpoint)
    items = client.query(
        TableName=_table(url),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "s:" + ALICE}},
    )["Items"]
    assert len(items) == 5


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "us-east-1_abc\x1f",
        "us-east-1_abc\x1fuser\x1fali",
        ALICE,
        ALICE + "\x1f",  # a Query: three separators
        ALICE + "\x1f203.0.113.",
        ALICE + "\x1f\U0001f600",
        "user\x1fbob\x1f",
        "nothing",
    ],
)
async def test_keys_are_a_literal_sorted_prefix_match(store: DynamoStore, prefix: str) -> None:
    for key in KEYS:
        assert await store.swap(key, None, AccountState(lockouts=1), None)
    assert await store.keys(prefix) == sorted(k for k in KEYS if k.startswith(prefix))


async def test_expiry_is_exact_and_ttl_is_whole_seconds(
    store: DynamoStore, url: str, emulator: Emulator
) -> None:
    assert await store.swap(ALICE, None, AccountState(lockouts=1), T0 + 10.25)
    client = dynamodb.client(emulator.endpoint)
    item = client.get_item(TableName=_table(url), Key={"pk": {"S": "s:" + ALICE}, "sk": {"S": "#"}})
    assert item["Item"]["ttl"] == {"N": str(int(T0) + 11)}
    assert float(item["Item"]["exp_at"]["N"]) == T0 + 10.25
    later = DynamoStore.from_url(url, clock=lambda: T0 + 10.25)
    assert await later.load(ALICE) is None
    assert await later.keys(ALICE) == []
    await later.close()


async def test_an_expired_item_still_in_the_table_is_absent_to_writes(store: DynamoStore) -> None:
    assert await store.swap(ALICE, None, AccountState(lockouts=1), T0 - 1)
    old_version = 1
    assert await store.load(ALICE) is None
    assert await store.swap(ALICE, None, AccountState(lockouts=2), None)
    record = await store.load(ALICE)
    assert record is not None
    assert record.state == AccountState(lockouts=2)
    assert record.version > old_version  # versions keep counting over an expired item
    assert await store.swap(ALICE, record.version, AccountState(lockouts=3), T0 - 1)
    assert not await store.swap(ALICE, record.version + 1, None, None)  # expired: absent
    assert await store.swap(ALICE, None, None, None)  # deleting the absent succeeds


async def test_deleting_an_absent_key_fails_when_the_key_exists(store: DynamoStore) -> None:
    assert await store.swap(ALICE, None, None, None)
    assert await store.swap(ALICE, None, AccountState(lockouts=1), None)
    assert not await store.swap(ALICE, None, None, None)


# -- events and token owners ---------------------------------------------------------------------


async def test_the_ring_keeps_the_newest(
    store: DynamoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "EVENTS_KEPT", 5)
    await store.add_events([{"n": i, "username": "a" if i % 2 else "b"} for i in range(8)])
    await store.add_events([{"n": i, "username": "a" if i % 2 else "b"} for i in range(8, 12)])
    assert [e["n"] for e in await store.events(None, 100)] == [11, 10, 9, 8, 7]
    assert [e["n"] for e in await store.events("a", 100)] == [11, 9, 7]
    assert [e["n"] for e in await store.events("b", 1)] == [10]


async def test_a_large_batch_is_written_in_batches_of_25(store: DynamoStore) -> None:
    calls: list[int] = []
    original = store._batch_write

    def counted(requests: list[dict[str, Any]]) -> None:
        calls.append(len(requests))
        original(requests)

    store._batch_write = counted  # type: ignore[method-assign]
    await store.add_events([{"n": i, "username": "a"} for i in range(60)])
    assert calls == [25, 25, 10]
    assert [e["n"] for e in await store.events(None, 60)] == list(range(59, -1, -1))
    assert [e["n"] for e in await store.events("a", 30)] == list(range(59, 29, -1))


async def test_events_without_a_string_username_are_listed_only_unfiltered(
    store: DynamoStore,
) -> None:
    await store.add_events(
        [{"n": 0}, {"n": 1, "username": None}, {"n": 2, "username": ""}, {"n": 3, "username": 7}]
    )
    assert [e["n"] for e in await store.events(None, 10)] == [3, 2, 1, 0]
    assert [e["n"] for e in await store.events("", 10)] == [2]
    assert await store.events("7", 10) == []
    assert await store.events(None, 0) == []
    await store.add_events([])


async def test_a_token_owner_is_replaced_and_expires(store: DynamoStore) -> None:
    await store.put_token_owner("d", "alice", T0 + 10)
    await store.put_token_owner("d", "bob", T0 + 20)
    assert await store.token_owner("d", T0 + 15) == "bob"
    assert await store.token_owner("d", T0 + 20) is None


# -- outages -------------------------------------------------------------------------------------


def _calls(store: DynamoStore) -> list[Callable[[], Awaitable[object]]]:
    return [
        lambda: store.load(ALICE),
        lambda: store.swap(ALICE, 1, AccountState(lockouts=5), None),
        lambda: store.swap(ALICE + "\x1fx", None, AccountState(lockouts=5), None),
        lambda: store.keys(ALICE + "\x1f"),
        lambda: store.keys("us-east-1_abc"),
        lambda: store.add_events([{"username": "alice"}]),
        lambda: store.events(None, 5),
        lambda: store.events("alice", 5),
        lambda: store.put_token_owner("d", "alice", T0 + 60),
        lambda: store.token_owner("d", T0),
        store.ping,
    ]


async def _all_unavailable(calls: Sequence[Callable[[], Awaitable[object]]], within: float) -> None:
    for call in calls:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(call(), timeout=within + 5)
        assert time.monotonic() - started < within


async def test_a_stopped_server_is_a_quick_503_and_a_restarted_one_works() -> None:
    with Emulator(port=_free_port()) as emu, dynamodb.store_url(emu.endpoint) as url:
        store = DynamoStore.from_url(url, clock=lambda: T0)
        assert await store.swap(ALICE, None, AccountState(lockouts=1), None)
        emu.stop()
        await _all_unavailable(_calls(store), within=3)
        emu.start()  # the same port; moto's state is process-wide, so the table is there
        record = await store.load(ALICE)
        assert record is not None
        assert record.state == AccountState(lockouts=1)
        assert await store.swap(ALICE, record.version, AccountState(lockouts=2), None)
        await store.close()


async def test_a_table_never_reached_is_a_503_too() -> None:
    port = _free_port()  # nothing listens there
    with dynamodb.dummy_credentials():
        store = DynamoStore.from_url(
            f"dynamodb://gate?endpoint=http://127.0.0.1:{port}&region=us-east-1"
        )
        await _all_unavailable([store.init, store.ping, lambda: store.load(ALICE)], within=3)
        await store.close()


async def test_a_server_that_never_answers_is_a_503_not_a_hang() -> None:
    with socket.socket() as silent, dynamodb.dummy_credentials():
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # connections wait in the backlog; nothing ever answers
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        store = DynamoStore.from_url(
            f"dynamodb://gate?endpoint={endpoint}&region=us-east-1&create=false"
        )
        calls = [lambda: store.swap(ALICE, None, AccountState(lockouts=1), None)]
        await _all_unavailable(calls, within=5)  # conditional writes: one 3 s attempt
        await _all_unavailable([lambda: store.load(ALICE)], within=8)  # reads: two
        await store.close()


class _FailingSession:
    """A boto3 session whose clients fail every call with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def client(self, *args: object, **kwargs: object) -> Any:
        error = self.error

        class Client:
            def __getattr__(self, name: str) -> Callable[..., Any]:
                def fail(*args: object, **kwargs: object) -> Any:
                    if name == "close":
                        return None
                    raise error

                return fail

        return Client()


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "GetItem")


@pytest.mark.parametrize(
    "error",
    [
        _client_error("AccessDeniedException"),
        _client_error("ThrottlingException"),
        _client_error("InternalServerError"),
        _client_error("ValidationException"),
        ReadTimeoutError(endpoint_url="http://x"),
    ],
)
async def test_every_botocore_error_is_store_unavailable(error: Exception) -> None:
    settings = DynamoSettings("gate", "us-east-1", None, create=False)
    store = DynamoStore(settings, session=_FailingSession(error))
    await _all_unavailable(_calls(store), within=2)
    await store.close()


async def test_a_table_deleted_under_a_creating_store_is_created_again(
    store: DynamoStore, url: str, emulator: Emulator
) -> None:
    assert await store.swap(ALICE, None, AccountState(lockouts=1), None)
    dynamodb.drop_table(emulator.endpoint, _table(url))
    with pytest.raises(StoreUnavailable):
        await store.load(ALICE)
    assert await store.load(ALICE) is None  # created again on the next call


async def test_a_closed_store_opens_again_when_used(url: str) -> None:
    store = DynamoStore.from_url(url, clock=lambda: T0)
    await store.ping()
    await store.close()
    await store.close()  # twice is fine
    assert await store.load(ALICE) is None  # connections made again, as every store does
    await store.close()


# -- concurrency ---------------------------------------------------------------------------------


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each conditional write atomically; moto checks the condition and writes
    (in place) without a lock, so two of its request threads could both pass one condition. One
    lock over moto's item operations gives moto DynamoDB's guarantee, nothing more."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    for name in ("get_item", "put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


async def test_two_stores_hammering_one_key_never_over_admit(url: str, atomic_moto: None) -> None:
    policy = LockoutPolicy(max_attempts=7, reservation_seconds=3600)
    stores = [DynamoStore.from_url(url, clock=lambda: T0) for _ in range(2)]
    await stores[0].init()

    async def hammer(store: DynamoStore, tag: str) -> int:
        admitted = 0
        for i in range(20):
            reservation = f"{tag}-{i}"

            def admit(state: AccountState, r: str = reservation) -> tuple[Verdict, AccountState]:
                return policy.admit(state, T0, r)

            verdict = await update(store, ALICE, admit, policy.expires_at)
            admitted += verdict.allowed
        return admitted

    results = await asyncio.gather(*(hammer(s, f"s{n}") for n, s in enumerate(stores)))
    assert sum(results) == 7
    record = await stores[0].load(ALICE)
    assert record is not None
    assert len(record.state.pending) == 7
    for opened in stores:
        await opened.close()
