"""The store protocol: versioned records, compare-and-swap, an event log, refresh-token owners.

The policy decides and the store counts: a store never interprets a lockout state, it only keeps
it and swaps it atomically (one statement: "write this if the version is still N"). Every backend
(memory, SQLite, Redis, PostgreSQL, DynamoDB) implements the same few operations, so that
:func:`update`, written once above them, gives every backend the same semantics. The conformance
suite (``tests/stores``) is the definition of a store: a backend that passes it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard, TypeVar, cast, runtime_checkable

from cognito_gate.errors import StoreUnavailable
from cognito_gate.policy import AccountState

T = TypeVar("T")

#: How many times :func:`update` retries a swap that lost a race before giving up (503).
MAX_SWAP_RETRIES = 200
#: How many auth events a store keeps.
EVENTS_KEPT = 10_000


@dataclass(frozen=True)
class Versioned:
    """A stored state and the version it was read at."""

    state: AccountState
    version: int


class Store(Protocol):
    """What every backend provides. All methods raise StoreUnavailable when the backend is down."""

    async def load(self, key: str) -> Versioned | None:
        """The record under ``key``, or None."""
        ...

    async def swap(
        self, key: str, expected: int | None, state: AccountState | None, expires_at: float | None
    ) -> bool:
        """Write ``state`` (None deletes) if the stored version is ``expected`` (None: absent).
        An update of version N stores version N + 1; a new record starts at
        :func:`first_version`.

        ``expires_at`` (epoch seconds) lets the backend forget the record; None keeps it.
        Returns False when another writer got there first.
        """
        ...

    async def keys(self, prefix: str) -> list[str]:
        """Every key that starts with ``prefix``."""
        ...

    async def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        """Append auth events, oldest first (never containing a secret); the log keeps the
        newest :data:`EVENTS_KEPT`."""
        ...

    async def events(self, username: str | None, limit: int) -> list[dict[str, Any]]:
        """Recent events, newest first, optionally for one ``username`` (the event's field)."""
        ...

    async def put_token_owner(self, digest: str, username: str, expires_at: float) -> None:
        """Remember who a refresh token (by its hash) belongs to, until ``expires_at``."""
        ...

    async def token_owner(self, digest: str, now: float) -> str | None:
        """Who the refresh token with this hash belongs to, if remembered and not expired."""
        ...

    async def init(self) -> None:
        """Create the schema or table now (``cognito-gate store init``); stores that may do it
        on first use do it then too. Raises StoreUnavailable or ConfigError."""
        ...

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the backend answers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class Transactional(Protocol):
    """A store that can apply a pure change to one record atomically in a single step (with the
    same meaning as :func:`update`'s compare-and-swap loop, in fewer round trips)."""

    async def apply(
        self,
        key: str,
        change: Callable[[AccountState], tuple[T, AccountState]],
        expires: Callable[[AccountState], float | None],
    ) -> T:
        """Read the record under ``key``, apply ``change``, write the result; return its value."""
        ...


#: One update of :func:`update_many`: the key, the pure change, the expiry of its result.
Change = tuple[
    str,
    Callable[[AccountState], tuple[Any, AccountState]],
    Callable[[AccountState], float | None],
]


@runtime_checkable
class TransactionalMany(Protocol):
    """A store that can apply pure changes to several records in one transaction."""

    async def apply_many(self, changes: Sequence[Change]) -> list[Any]:
        """:meth:`Transactional.apply` for each change, in order, in one transaction."""
        ...


#: One compare-and-swap of :meth:`SwapsMany.swap_many`: key, expected version (None: absent),
#: the state to write (None deletes), its ``expires_at``.
Swap = tuple[str, int | None, AccountState | None, float | None]


@runtime_checkable
class SwapsMany(Protocol):
    """A store that can send several compare-and-swaps in one round trip (each atomic by itself,
    as :meth:`Store.swap`), and tells the version each one wrote."""

    async def swap_many(self, swaps: Sequence[Swap]) -> list[int | None]:
        """For each swap, in order: the version of the record it wrote (0: it deleted the
        record), or None when another writer got there first."""
        ...


def first_version() -> int:
    """The version of a newly created record: random, so that a writer holding the version of a
    record deleted meanwhile never matches its successor (no ABA between delete and create)."""
    return random.getrandbits(52) + 1


def encode_state(state: AccountState) -> str:
    """The stored text of a state."""
    return json.dumps(state.to_json(), separators=(",", ":"))


def decode_state(text: str | bytes) -> AccountState:
    """Inverse of :func:`encode_state`."""
    return AccountState.from_json(json.loads(text))


class _KeyLocks:
    """One asyncio lock per (store, key) in flight, so that updates of one key inside one process
    queue up instead of racing; the compare-and-swap still settles races between processes."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[object, dict[str, tuple[asyncio.Lock, int]]] = (
            weakref.WeakKeyDictionary()
        )

    @contextlib.asynccontextmanager
    async def hold_all(self, store: object, keys: Sequence[str]) -> AsyncIterator[None]:
        """:meth:`hold` of every key, taken in one order (sorted) so that two callers holding
        overlapping keys never wait for each other."""
        async with contextlib.AsyncExitStack() as held:
            for key in sorted(set(keys)):
                await held.enter_async_context(self.hold(store, key))
            yield

    @contextlib.asynccontextmanager
    async def hold(self, store: object, key: str) -> AsyncIterator[None]:
        locks = self._locks.setdefault(store, {})
        lock, users = locks.get(key, (asyncio.Lock(), 0))
        locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = locks[key]
            if users == 1:
                del locks[key]
            else:
                locks[key] = (lock, users - 1)


_KEY_LOCKS = _KeyLocks()
_WATCHERS: weakref.WeakKeyDictionary[object, list[Callable[[str], None]]] = (
    weakref.WeakKeyDictionary()
)


def watch_writes(store: Store, written: Callable[[str], None]) -> None:
    """Call ``written(key)`` after every :func:`update` of ``key`` on ``store`` in this process
    (``cognito_gate.refusals`` forgets what it remembered of the key)."""
    _WATCHERS.setdefault(store, []).append(written)


async def update(
    store: Store,
    key: str,
    change: Callable[[AccountState], tuple[T, AccountState]],
    expires: Callable[[AccountState], float | None],
) -> T:
    """Apply ``change`` to the state under ``key`` atomically (optimistic compare-and-swap).

    ``change`` is pure and may run several times; its last result is returned. An unchanged state
    is not written. An empty state is deleted. A store that can run the whole read-change-write as
    one transaction of its own (:class:`Transactional`: memory, SQLite) does so in one step, with
    no lock of ours around it (its transaction is the lock).
    """
    try:
        if _transactional(store):
            return await store.apply(key, change, expires)
        async with _KEY_LOCKS.hold(store, key):
            return await _update(store, key, change, expires)
    finally:
        _wrote(store, (key,))


def _wrote(store: object, keys: Sequence[str]) -> None:
    for written in _WATCHERS.get(store, ()):
        for key in keys:
            written(key)


async def update_many(store: Store, changes: Sequence[Change]) -> list[Any]:
    """Several :func:`update` calls on distinct keys, independent of each other, in as few steps
    as the store allows: one transaction (:class:`TransactionalMany`: memory, SQLite), else each
    its own atomic compare-and-swap, sent together (:class:`SwapsMany`: one round trip for Redis
    and PostgreSQL) or all at once. Their results, in order. If one fails, the others may have
    been applied."""
    if len(changes) == 1:
        key, change, expires = changes[0]
        return [await update(store, key, change, expires)]
    keys = [key for key, _, _ in changes]
    if _many(store):
        try:
            return await store.apply_many(changes)
        finally:
            _wrote(store, keys)
    if _swaps_many(store):
        try:
            async with _KEY_LOCKS.hold_all(store, keys):
                return await _update_swapping(cast(Store, store), changes)
        finally:
            _wrote(store, keys)
    # Every update ends before any error is raised: a caller undoing them after an error never
    # races one still in flight.
    return await gather_all(*(update(store, *change) for change in changes))


async def gather_all(*steps: Awaitable[T]) -> list[T]:
    """Run ``steps`` at once and wait for every one; then raise the first error, if any (so that
    no step is still running when a caller hears of an error)."""
    done = await asyncio.gather(*steps, return_exceptions=True)
    for outcome in done:
        if isinstance(outcome, BaseException):
            raise outcome
    return cast(list[T], done)


async def _update_swapping(store: Store, changes: Sequence[Change]) -> list[Any]:
    """:func:`update_many` on a store with :meth:`SwapsMany.swap_many` (its keys held): every
    change whose key this process holds a hint for is swapped in one round trip; the others (no
    hint, a hint that changed nothing, a swap that lost) take :func:`_update`'s way, all at
    once. The login path's reservations and their settling are such pairs, hinted by the read
    before them and by the reservation's own write."""
    results: list[Any] = [None] * len(changes)
    rest: list[int] = []  # changes for _update
    batch: list[tuple[int, Swap, Any]] = []  # (index, swap, result if written)
    hints = _HINTS.get(store) or {}
    for i, (key, change, expires) in enumerate(changes):
        hint = hints.pop(key, None)
        result, swap = (None, None) if hint is None else _plan(key, hint[0], change, expires)
        if swap is None:  # no hint; or nothing to write, judged on a hint: _update reads
            rest.append(i)
        else:
            batch.append((i, swap, result))
    if batch:
        written = await cast(SwapsMany, store).swap_many([swap for _, swap, _ in batch])
        for (i, swap, result), version in zip(batch, written, strict=True):
            if version is None:
                rest.append(i)  # another writer got there first: read again
            else:
                _hint_written(store, swap, version)
                results[i] = result
    if rest:
        done = await gather_all(*(_update(store, *changes[i]) for i in rest))
        for i, result in zip(rest, done, strict=True):
            results[i] = result
    return results


_IMPLEMENTS: dict[tuple[type, type], bool] = {}


def _implements(store: Store, protocol: type) -> bool:
    """``isinstance(store, protocol)``, asked once per class (a runtime protocol check walks its
    attributes every time: measurable on the login path)."""
    known = _IMPLEMENTS.get((type(store), protocol))
    if known is None:
        known = _IMPLEMENTS[(type(store), protocol)] = isinstance(store, protocol)
    return known


def _transactional(store: Store) -> TypeGuard[Transactional]:
    return _implements(store, Transactional)


def _many(store: Store) -> TypeGuard[TransactionalMany]:
    return _implements(store, TransactionalMany)


def _swaps_many(store: Store) -> TypeGuard[SwapsMany]:
    return _implements(store, SwapsMany)


async def _update(
    store: Store,
    key: str,
    change: Callable[[AccountState], tuple[T, AccountState]],
    expires: Callable[[AccountState], float | None],
) -> T:
    hints = _HINTS.get(store)
    hint = hints.pop(key, None) if hints else None
    lost = 0
    while lost < MAX_SWAP_RETRIES:
        # What this process last read or wrote of the key saves a read: the swap checks it.
        record = hint[0] if hint else await store.load(key)
        hinted, hint = hint is not None, None
        result, swap = _plan(key, record, change, expires)
        if swap is None:
            if not hinted:
                return result
            continue  # nothing to write, judged on a hint: make sure with a read
        _, version, _, _ = swap
        if await store.swap(*swap):
            if version is not None:  # an update of version N wrote N + 1
                _hint_written(store, swap, version + 1)
            return result  # (a new record's first version is the store's own: no hint)
        # Another writer got there first: back off a little, with jitter, and read again.
        lost += 1
        await asyncio.sleep(random.uniform(0, 0.001 * min(lost, 20)))
    raise StoreUnavailable("The lockout store is too contended; try again.")


def _plan(
    key: str,
    record: Versioned | None,
    change: Callable[[AccountState], tuple[T, AccountState]],
    expires: Callable[[AccountState], float | None],
) -> tuple[T, Swap | None]:
    """``change`` applied to ``record``: its result, and the swap that would write it (None:
    nothing to write; an empty state is a delete)."""
    before = record.state if record else _EMPTY
    result, after = change(before)
    if after == before or (record is None and after == _EMPTY):
        return result, None
    target = None if after == _EMPTY else after
    return result, (key, record.version if record else None, target, expires(after))


def _hint_written(store: Store, swap: Swap, version: int) -> None:
    """What ``swap`` left as ``version`` (0: a delete), the hint for the key's next update."""
    key, _, target, _ = swap
    _hint(store, key, None if target is None or not version else Versioned(target, version))


#: Records remembered per store, at most, as hints for the next update (see :func:`read`).
HINTS_KEPT = 10_000
_HINTS: weakref.WeakKeyDictionary[object, dict[str, tuple[Versioned | None]]] = (
    weakref.WeakKeyDictionary()
)
_EMPTY = AccountState()


def _hint(store: Store, key: str, record: Versioned | None) -> None:
    hints = _HINTS.setdefault(store, {})
    if len(hints) >= HINTS_KEPT:
        hints.clear()
    hints[key] = (record,)


async def read(store: Store, key: str) -> Versioned | None:
    """``store.load(key)``, kept as a hint for this process's next :func:`update` of the key,
    which then tries its compare-and-swap on it without reading again. A hint is used once; a
    stale one (another process wrote meanwhile) only costs the swap it fails, never correctness:
    versions never repeat (:func:`first_version`)."""
    record = await store.load(key)
    if not _transactional(store):  # a transaction reads for itself
        _hint(store, key, record)
    return record
