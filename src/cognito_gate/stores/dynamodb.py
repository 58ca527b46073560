"""``dynamodb://TABLE[?region=R&endpoint=URL&create=false]``: every machine, one DynamoDB table.

Driver: boto3 (the project's Cognito dependency) with every call run on the store's own small
thread pool, as ``cognito/idp.py`` does. Not aioboto3: it pins botocore to one release and would
fight boto3's. Calls time out fast (2 s connect, 3 s read): a hang is worse than a 503.
Reads and idempotent writes get one retry (botocore's). Conditional writes and the event counter
are tried again only when DynamoDB surely did not apply them (connection refused, throttled): a
retried write whose first attempt landed would fail its condition, and ``update()`` would then
apply the change twice. Every botocore error becomes StoreUnavailable, in one place
(:meth:`DynamoStore._run`); a table missing while creation is forbidden is a ConfigError.

One table, keys ``pk`` (S) and ``sk`` (S), several kinds of item told apart by ``pk``'s tag:

- ``s:HEAD`` / ``#TAIL``: a record. HEAD is the key up to its third ``\\x1f``, TAIL the rest
  (empty for shorter keys), so ``POOL\\x1fuser\\x1fNAME`` and all its ``...\\x1fIP`` records share a
  partition and ``keys()`` of such a prefix is one Query; shorter prefixes Scan (admin only).
  Attributes: ``state`` (``encode_state`` JSON), ``ver`` (N), ``exp_at`` (exact expiry, N) and
  ``ttl`` (epoch seconds rounded up: DynamoDB's TTL attribute). A record whose ``exp_at`` is at or
  before the clock is absent to every read and condition (TTL deletes it only eventually).
- ``swap`` is one conditional write: UpdateItem with ``attribute_not_exists(pk) OR exp_at <= now``
  to create (``ver`` keeps counting over an expired item rather than starting again), with
  ``ver = expected`` (and unexpired) to update, DeleteItem with the same conditions to delete;
  ConditionalCheckFailed is False.
- ``e:SLOT`` / ``#``: the event log, a ring of :data:`EVENTS_KEPT` slots. ``add_events`` takes
  sequence numbers with one atomic ``ADD`` on ``c:events`` and writes slot ``seq % EVENTS_KEPT``
  with BatchWriteItem (25 a call). Newest first: read the counter, then the slots below it with
  BatchGetItem, skipping a slot whose ``seq`` is not the one expected (a write lost mid-way). One
  user's: a Query, newest first, on the sparse index ``by-user`` (``user`` = ``u:NAME``, ``seq``),
  eventually consistent like every global secondary index.
- ``t:DIGEST`` / ``#``: a refresh token's owner, with ``exp_at`` and ``ttl``.

The table is created on first use (PAY_PER_REQUEST, TTL on ``ttl``) unless ``create=false``;
:meth:`DynamoStore.init` creates it explicitly (``cognito-gate store init``). Credentials come from
boto3's standard chain (environment, profile, instance or task role).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from cognito_gate.errors import ConfigError, GateError, StoreUnavailable
from cognito_gate.policy import AccountState
from cognito_gate.stores.base import (
    EVENTS_KEPT,
    Swap,
    Versioned,
    decode_state,
    encode_state,
    first_version,
    gather_all,
)

T = TypeVar("T")
logger = logging.getLogger("cognito_gate.stores")

SEP = "\x1f"
#: The name of the table's TTL attribute (a deployment template must enable TTL on it).
TTL_ATTRIBUTE = "ttl"
#: The sparse global secondary index of events by username.
EVENTS_INDEX = "by-user"
_HEAD_PARTS = 3
_BATCH_WRITE = 25
_BATCH_GET = 100
_BATCH_TRIES = 6
_WORKERS = 8
_THROTTLED = frozenset(
    {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"}
)
_ABSENT = "attribute_not_exists(#pk) OR #exp <= :now"
_NAMES = {
    "#pk": "pk",
    "#sk": "sk",
    "#state": "state",
    "#ver": "ver",
    "#exp": "exp_at",
    "#ttl": TTL_ATTRIBUTE,
}
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_OPTIONS = frozenset({"region", "endpoint", "create"})
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_URL_FORM = "dynamodb://TABLE[?region=R&endpoint=URL&create=false]"


@dataclass(frozen=True)
class DynamoSettings:
    """What a ``dynamodb://`` URL says."""

    table: str
    region: str
    endpoint: str | None = None
    create: bool = True


def _bad(reason: str) -> ConfigError:
    return ConfigError(f"COGNITO_GATE_STORE: {reason} (expected {_URL_FORM})")


def _options(query: str) -> dict[str, str]:
    pairs = parse_qsl(query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    unknown = sorted(set(names) - _OPTIONS)
    if unknown:
        raise _bad(f"unknown dynamodb:// option {unknown[0]!r}")
    if len(names) != len(set(names)):
        raise _bad("a dynamodb:// option is given twice")
    return dict(pairs)


def _endpoint(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _bad(f"endpoint {value!r} is not an http(s):// URL")
    return value


def _create(value: str | None) -> bool:
    if value is None:
        return True
    if value.lower() not in _BOOLEANS:
        raise _bad(f"create={value!r} is not true or false")
    return _BOOLEANS[value.lower()]


def _region(value: str | None, default: str | None) -> str:
    region = value or default or boto3.session.Session().region_name
    if not region:
        raise _bad("dynamodb:// needs a region: add ?region=R or set COGNITO_GATE_REGION")
    if not _REGION.fullmatch(region):
        raise _bad(f"{region!r} is not an AWS region")
    return str(region)


def parse_url(url: str, default_region: str | None = None) -> DynamoSettings:
    """The settings of a ``dynamodb://`` URL; ConfigError, one line, when it is malformed."""
    parts = urlsplit(url)
    if parts.scheme != "dynamodb" or parts.fragment:
        raise _bad(f"{url!r} is not a dynamodb:// URL")
    if parts.path not in ("", "/"):
        raise _bad("a dynamodb:// URL names one table and no path")
    if not _TABLE_NAME.fullmatch(parts.netloc):
        raise _bad("the table name must be 3 to 255 letters, digits, '_', '-' or '.'")
    options = _options(parts.query)
    return DynamoSettings(
        table=parts.netloc,
        region=_region(options.get("region"), default_region),
        endpoint=_endpoint(options.get("endpoint")),
        create=_create(options.get("create")),
    )


# -- item layout -------------------------------------------------------------------------------


def split_key(key: str) -> tuple[str, str]:
    """(HEAD, TAIL): the key up to its third separator, and the rest (starting with it)."""
    parts = key.split(SEP, _HEAD_PARTS)
    if len(parts) <= _HEAD_PARTS:
        return key, ""
    head = SEP.join(parts[:_HEAD_PARTS])
    return head, key[len(head) :]


def _record_key(key: str) -> dict[str, Any]:
    head, tail = split_key(key)
    return {"pk": {"S": "s:" + head}, "sk": {"S": "#" + tail}}


def _key_of(item: dict[str, Any]) -> str:
    return str(item["pk"]["S"])[2:] + str(item["sk"]["S"])[1:]


def _plain_key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "#"}}


def _slot_key(seq: int) -> dict[str, Any]:
    return _plain_key(f"e:{seq % EVENTS_KEPT}")


_COUNTER = _plain_key("c:events")
_PING = _plain_key("c:ping")


def _number(value: float) -> dict[str, str]:
    return {"N": f"{value:.6f}"}


def _expiry_attributes(expires_at: float | None) -> dict[str, Any]:
    """``exp_at`` (exact) and the TTL attribute (whole seconds, rounded up); none for None."""
    if expires_at is None or not math.isfinite(expires_at):
        return {}
    return {"exp_at": _number(expires_at), TTL_ATTRIBUTE: {"N": str(math.ceil(expires_at))}}


def _expired(item: dict[str, Any], now: float) -> bool:
    exp = item.get("exp_at")
    return exp is not None and float(exp["N"]) <= now


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _only(names: dict[str, str], *expressions: str) -> dict[str, str]:
    """The placeholders some expressions use (DynamoDB refuses unused ones)."""
    text = " ".join(expressions)
    return {k: v for k, v in names.items() if re.search(re.escape(k) + r"\b", text)}


def _table_definition(table: str) -> dict[str, Any]:
    return {
        "TableName": table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "user", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": EVENTS_INDEX,
                "KeySchema": [
                    {"AttributeName": "user", "KeyType": "HASH"},
                    {"AttributeName": "seq", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


class DynamoStore:
    """Lockout state in one DynamoDB table (see the module docstring for the layout)."""

    def __init__(
        self,
        settings: DynamoSettings,
        *,
        clock: Callable[[], float] = time.time,
        session: Any = None,
    ) -> None:
        self.settings = settings
        self.table = settings.table
        self._clock = clock
        self._session = session
        self._lock = threading.Lock()
        self._init_lock = threading.Lock()
        self._ready = False
        self._clients: tuple[Any, Any] | None = None
        self._workers: ThreadPoolExecutor | None = self._new_workers()

    @staticmethod
    def _new_workers() -> ThreadPoolExecutor:
        # Its own threads: store steps never queue behind slow Cognito calls, nor these behind
        # them; sized to each client's connection pool.
        return ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="cognito-gate-dynamodb")

    @classmethod
    def from_url(
        cls, url: str, *, clock: Callable[[], float] = time.time, region: str | None = None
    ) -> DynamoStore:
        """The store a ``dynamodb://`` URL names; ``region`` is the default region."""
        return cls(parse_url(url, region), clock=clock)

    # -- plumbing ----------------------------------------------------------------------------

    def _make_client(self, attempts: int) -> Any:
        config = Config(
            connect_timeout=2,
            read_timeout=3,
            retries={"total_max_attempts": attempts, "mode": "standard"},
            max_pool_connections=_WORKERS,
        )
        session = self._session or boto3.session.Session()
        self._session = session
        return session.client(
            "dynamodb",
            region_name=self.settings.region,
            endpoint_url=self.settings.endpoint,
            config=config,
        )

    def _pair(self) -> tuple[Any, Any]:
        """(client with one retry, client that sends once), made on first use."""
        with self._lock:
            if self._clients is None:
                self._clients = (self._make_client(2), self._make_client(1))
            return self._clients

    @property
    def _api(self) -> Any:
        """For reads, idempotent writes and table management (one retry)."""
        return self._pair()[0]

    @property
    def _once(self) -> Any:
        """For conditional writes and the event counter (sent once)."""
        return self._pair()[1]

    def _ensure(self) -> None:
        """Create the table on first use, where allowed (once, whichever thread comes first)."""
        if self._ready:
            return
        with self._init_lock:
            if not self._ready and self.settings.create:
                self._init_table()
            self._ready = True

    async def _run(self, work: Callable[[], T], *, ensure: bool = True) -> T:
        """Run ``work`` on the store's threads; every botocore error is translated here. A
        closed store opens again when used, as every store does."""
        workers = self._workers
        if workers is None:
            workers = self._workers = self._new_workers()

        def call() -> T:
            if ensure:
                self._ensure()
            return work()

        try:
            return await asyncio.get_running_loop().run_in_executor(workers, call)
        except ClientError as exc:
            raise self._client_error(exc) from exc
        except BotoCoreError as exc:
            logger.warning("dynamodb store %s: %s", self.table, type(exc).__name__)
            raise StoreUnavailable("The lockout store is unavailable.") from exc

    def _client_error(self, exc: ClientError) -> GateError:
        code = _error_code(exc)
        logger.warning("dynamodb store %s: %s %s", self.table, exc.operation_name, code)
        if code == "ResourceNotFoundException":
            self._ready = False
            if not self.settings.create:
                return self._missing()
        return StoreUnavailable("The lockout store is unavailable.")

    def _missing(self) -> ConfigError:
        return ConfigError(
            f"COGNITO_GATE_STORE: the DynamoDB table {self.table} does not exist in"
            f" {self.settings.region}; run `cognito-gate store init` to create it (or drop"
            " create=false from the URL)"
        )

    # -- the table ---------------------------------------------------------------------------

    def _init_table(self) -> None:
        """Create the table if missing, wait until it is ACTIVE, and turn TTL on."""
        try:
            table = self._api.describe_table(TableName=self.table)["Table"]
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
            status = self._create_table()
        else:
            self._check_layout(table)
            status = table["TableStatus"]
        if status != "ACTIVE":
            waiter = self._api.get_waiter("table_exists")
            waiter.wait(TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 90})
        self._enable_ttl()

    def _check_layout(self, table: dict[str, Any]) -> None:
        """A ConfigError unless an existing table has this store's keys and index."""
        wanted = _table_definition(self.table)
        keys = {(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])}
        indexes = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
        if keys != {(k["AttributeName"], k["KeyType"]) for k in wanted["KeySchema"]} or (
            EVENTS_INDEX not in indexes
        ):
            raise ConfigError(
                f"COGNITO_GATE_STORE: the DynamoDB table {self.table} exists but was not made for"
                f" cognito-gate (it needs keys pk/sk and the index {EVENTS_INDEX}); name another"
            )

    def _create_table(self) -> str:
        try:
            answer = self._api.create_table(**_table_definition(self.table))
        except ClientError as exc:
            if _error_code(exc) != "ResourceInUseException":
                raise
            return "CREATING"  # another process creates it at the same time
        logger.info("dynamodb store: created table %s", self.table)
        return str(answer["TableDescription"]["TableStatus"])

    def _ttl_status(self) -> tuple[str, str | None]:
        answer = self._api.describe_time_to_live(TableName=self.table)
        ttl = answer.get("TimeToLiveDescription", {})
        return str(ttl.get("TimeToLiveStatus", "DISABLED")), ttl.get("AttributeName")

    def _enable_ttl(self) -> None:
        status, attribute = self._ttl_status()
        if status == "DISABLED":
            try:
                self._api.update_time_to_live(
                    TableName=self.table,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
                )
                return
            except ClientError as exc:
                # A concurrent creator turned it on first; anything else is a real error.
                status, attribute = self._ttl_status()
                if status == "DISABLED":
                    raise exc from None
        if attribute != TTL_ATTRIBUTE:
            logger.warning(
                "dynamodb store: table %s has TTL on %r, not %r: expired records stay",
                self.table,
                attribute,
                TTL_ATTRIBUTE,
            )

    async def init(self) -> None:
        def work() -> None:
            self._init_table()
            self._ready = True

        await self._run(work, ensure=False)

    async def ping(self) -> None:
        await self._run(lambda: self._api.get_item(TableName=self.table, Key=_PING))

    async def close(self) -> None:
        workers, self._workers = self._workers, None
        if workers is None:
            return
        with self._lock:
            clients, self._clients = self._clients, None

        def work() -> None:
            for client in clients or ():
                client.close()

        await asyncio.get_running_loop().run_in_executor(workers, work)
        workers.shutdown(wait=False)

    # -- records -----------------------------------------------------------------------------

    async def load(self, key: str) -> Versioned | None:
        now = self._clock()

        def work() -> Versioned | None:
            item = self._api.get_item(
                TableName=self.table,
                Key=_record_key(key),
                ConsistentRead=True,
                ProjectionExpression="#state, #ver, #exp",
                ExpressionAttributeNames=_only(_NAMES, "#state #ver #exp"),
            ).get("Item")
            if item is None or _expired(item, now):
                return None
            return Versioned(decode_state(item["state"]["S"]), int(item["ver"]["N"]))

        return await self._run(work)

    async def swap(
        self, key: str, expected: int | None, state: AccountState | None, expires_at: float | None
    ) -> bool:
        return await self._swap(key, expected, state, expires_at) is not None

    async def swap_many(self, swaps: Sequence[Swap]) -> list[int | None]:
        """The swaps at once (DynamoDB has no pipeline; a transaction would make them all or
        nothing), each answering the version it wrote."""
        return await gather_all(*(self._swap(*swap) for swap in swaps))

    async def _swap(
        self, key: str, expected: int | None, state: AccountState | None, expires_at: float | None
    ) -> int | None:
        """One conditional write: the version it wrote (0: deleted), None if the version did
        not match."""
        now = self._clock()
        if state is None:
            request = self._delete_request(key, expected, now)
            write = "delete_item"
        else:
            request = self._write_request(key, expected, state, expires_at, now)
            request["ReturnValues"] = "UPDATED_NEW"
            write = "update_item"

        def work() -> int | None:
            try:
                answer = self._write_once(write, request)
            except ClientError as exc:
                if _error_code(exc) == "ConditionalCheckFailedException":
                    return None
                raise
            return 0 if state is None else int(answer["Attributes"]["ver"]["N"])

        return await self._run(work)

    def _write_once(self, operation: str, request: dict[str, Any]) -> Any:
        """A write that must not be applied twice: tried again only when DynamoDB surely did not
        apply it (the connection was refused, or the request was throttled)."""
        for attempt in range(2):
            try:
                return getattr(self._once, operation)(**request)
            except EndpointConnectionError:
                if attempt:
                    raise
            except ClientError as exc:
                if attempt or _error_code(exc) not in _THROTTLED:
                    raise
            time.sleep(0.05)
        raise AssertionError("unreachable")  # pragma: no cover

    def _condition(self, expected: int | None, now: float) -> tuple[str, dict[str, Any]]:
        values: dict[str, Any] = {":now": _number(now)}
        if expected is None:
            return _ABSENT, values
        values[":expected"] = {"N": str(expected)}
        return "#ver = :expected AND (attribute_not_exists(#exp) OR #exp > :now)", values

    def _delete_request(self, key: str, expected: int | None, now: float) -> dict[str, Any]:
        condition, values = self._condition(expected, now)
        return {
            "TableName": self.table,
            "Key": _record_key(key),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": _only(_NAMES, condition),
            "ExpressionAttributeValues": values,
        }

    def _write_request(
        self,
        key: str,
        expected: int | None,
        state: AccountState,
        expires_at: float | None,
        now: float,
    ) -> dict[str, Any]:
        condition, values = self._condition(expected, now)
        values.update(
            {
                ":state": {"S": encode_state(state)},
                # a new record starts at a random version: never one of a record deleted before
                ":first": {"N": str(first_version())},
                ":one": {"N": "1"},
            }
        )
        action = "SET #state = :state, #ver = if_not_exists(#ver, :first) + :one"
        expiry = _expiry_attributes(expires_at)
        if expiry:
            action += ", #exp = :exp, #ttl = :ttl"
            values.update({":exp": expiry["exp_at"], ":ttl": expiry[TTL_ATTRIBUTE]})
        else:
            action += " REMOVE #exp, #ttl"
        return {
            "TableName": self.table,
            "Key": _record_key(key),
            "UpdateExpression": action,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": _only(_NAMES, action, condition),
            "ExpressionAttributeValues": values,
        }

    async def keys(self, prefix: str) -> list[str]:
        now = self._clock()
        if prefix.count(SEP) >= _HEAD_PARTS:
            head, tail = split_key(prefix)
            return await self._run(lambda: self._query_keys(head, tail, now))
        return await self._run(lambda: self._scan_keys(prefix, now))

    def _query_keys(self, head: str, tail: str, now: float) -> list[str]:
        request = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :sk)",
            "ExpressionAttributeValues": {
                ":pk": {"S": "s:" + head},
                ":sk": {"S": "#" + tail},
                ":now": _number(now),
            },
        }
        return self._collect_keys("query", request)

    def _scan_keys(self, prefix: str, now: float) -> list[str]:
        request = {
            "TableName": self.table,
            "FilterExpression": "begins_with(#pk, :pk)",
            "ExpressionAttributeValues": {":pk": {"S": "s:" + prefix}, ":now": _number(now)},
        }
        return self._collect_keys("scan", request)

    def _collect_keys(self, operation: str, request: dict[str, Any]) -> list[str]:
        """Every unexpired record a Query or Scan finds, all pages, sorted by key."""
        unexpired = "(attribute_not_exists(#exp) OR #exp > :now)"
        if operation == "scan":
            request["FilterExpression"] += " AND " + unexpired
        else:
            request["FilterExpression"] = unexpired
        request["ProjectionExpression"] = "#pk, #sk"
        request["ConsistentRead"] = True
        request["ExpressionAttributeNames"] = _only(
            _NAMES,
            request["FilterExpression"],
            request.get("KeyConditionExpression", ""),
            "#pk #sk",
        )
        found: list[str] = []
        while True:
            page = getattr(self._api, operation)(**request)
            found += [_key_of(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return sorted(found)
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- events ------------------------------------------------------------------------------

    async def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        texts = [json.dumps(event, separators=(",", ":")) for event in events]
        users = [event.get("username") for event in events]
        if not texts:
            return

        def work() -> None:
            end = self._take_sequence(len(texts))
            first = end - len(texts) + 1
            items = [
                self._event_item(first + i, text, user)
                for i, (text, user) in enumerate(zip(texts, users, strict=True))
            ][-EVENTS_KEPT:]
            for chunk in _chunks(items, _BATCH_WRITE):
                self._batch_write([{"PutRequest": {"Item": item}} for item in chunk])

        await self._run(work)

    def _take_sequence(self, count: int) -> int:
        """The last of ``count`` new sequence numbers (one atomic ADD)."""
        answer = self._write_once(
            "update_item",
            {
                "TableName": self.table,
                "Key": _COUNTER,
                "UpdateExpression": "ADD #n :count",
                "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":count": {"N": str(count)}},
                "ReturnValues": "UPDATED_NEW",
            },
        )
        return int(answer["Attributes"]["n"]["N"])

    @staticmethod
    def _event_item(seq: int, text: str, user: object) -> dict[str, Any]:
        item = {**_slot_key(seq), "seq": {"N": str(seq)}, "data": {"S": text}}
        if isinstance(user, str):
            item["user"] = {"S": "u:" + user}
        return item

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for attempt in range(_BATCH_TRIES):
            if attempt:
                time.sleep(0.025 * 2**attempt)
            answer = self._api.batch_write_item(RequestItems={self.table: requests})
            requests = answer.get("UnprocessedItems", {}).get(self.table, [])
            if not requests:
                return
        raise StoreUnavailable("The lockout store is throttling event writes.")

    async def events(self, username: str | None, limit: int) -> list[dict[str, Any]]:
        limit = min(limit, EVENTS_KEPT)
        if limit <= 0:
            return []
        if username is None:
            return await self._run(lambda: self._recent(limit))
        return await self._run(lambda: self._recent_of(username, limit))

    def _recent(self, limit: int) -> list[dict[str, Any]]:
        """Walk the ring down from the counter, newest first."""
        counter = self._api.get_item(TableName=self.table, Key=_COUNTER, ConsistentRead=True)
        end = int(counter.get("Item", {}).get("n", {}).get("N", "0"))
        seqs = list(range(end, max(0, end - EVENTS_KEPT), -1))
        found: list[dict[str, Any]] = []
        size = min(limit, _BATCH_GET)
        while seqs and len(found) < limit:
            chunk, seqs = seqs[:size], seqs[size:]
            slots = self._batch_get([_slot_key(seq) for seq in chunk])
            for seq in chunk:
                item = slots.get(_slot_key(seq)["pk"]["S"])
                if item is not None and int(item["seq"]["N"]) == seq:
                    found.append(json.loads(item["data"]["S"]))
            size = _BATCH_GET
        return found[:limit]

    def _batch_get(self, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The items at ``keys`` by ``pk`` (a BatchGetItem of at most 100 keys)."""
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {
            self.table: {
                "Keys": keys,
                "ConsistentRead": True,
                "ProjectionExpression": "#pk, #seq, #data",
                "ExpressionAttributeNames": {"#pk": "pk", "#seq": "seq", "#data": "data"},
            }
        }
        for attempt in range(_BATCH_TRIES):
            if attempt:
                time.sleep(0.025 * 2**attempt)
            answer = self._api.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(self.table, []):
                found[item["pk"]["S"]] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise StoreUnavailable("The lockout store is throttling event reads.")

    def _recent_of(self, username: str, limit: int) -> list[dict[str, Any]]:
        """One user's events, newest first, from the ``by-user`` index."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": EVENTS_INDEX,
            "KeyConditionExpression": "#user = :user",
            "ExpressionAttributeNames": {"#user": "user", "#data": "data"},
            "ExpressionAttributeValues": {":user": {"S": "u:" + username}},
            "ProjectionExpression": "#data",
            "ScanIndexForward": False,
        }
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            page = self._api.query(**request, Limit=limit - len(found))
            found += [json.loads(item["data"]["S"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    # -- refresh-token owners ----------------------------------------------------------------

    async def put_token_owner(self, digest: str, username: str, expires_at: float) -> None:
        item = {
            **_plain_key("t:" + digest),
            "owner": {"S": username},
            **_expiry_attributes(expires_at),
        }
        await self._run(lambda: self._api.put_item(TableName=self.table, Item=item))

    async def token_owner(self, digest: str, now: float) -> str | None:
        def work() -> str | None:
            item = self._api.get_item(
                TableName=self.table,
                Key=_plain_key("t:" + digest),
                ConsistentRead=True,
                ProjectionExpression="#owner, #exp",
                ExpressionAttributeNames={"#owner": "owner", "#exp": "exp_at"},
            ).get("Item")
            if item is None or _expired(item, now):
                return None
            return str(item["owner"]["S"])

        return await self._run(work)
