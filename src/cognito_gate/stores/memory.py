"""``memory://``: one process, nothing kept across restarts. For tests and a single dev process.

Memory stays bounded: every :data:`SWEEP_EVERY` writes, expired records and token owners are
swept; the event log keeps the newest :data:`EVENTS_KEPT`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cognito_gate.policy import AccountState
from cognito_gate.stores.base import EVENTS_KEPT, Change, Versioned, first_version

#: Writes between two sweeps of what has expired.
SWEEP_EVERY = 1000
T = TypeVar("T")
_EMPTY = AccountState()


class MemoryStore:
    """A dict of versioned states. Safe within one event loop (no await between read and write)."""

    def __init__(self, clock: Any = time.time) -> None:
        self._records: dict[str, tuple[int, AccountState, float | None]] = {}
        self._events: deque[dict[str, Any]] = deque(maxlen=EVENTS_KEPT)
        self._owners: dict[str, tuple[str, float]] = {}
        self._clock = clock
        self._writes = 0

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % SWEEP_EVERY:
            return
        now = self._clock()
        for key in [k for k, e in self._records.items() if e[2] is not None and e[2] <= now]:
            del self._records[key]
        for digest in [d for d, e in self._owners.items() if e[1] <= now]:
            del self._owners[digest]

    def __len__(self) -> int:
        """Records and token owners held (expired ones included until the next sweep)."""
        return len(self._records) + len(self._owners)

    async def load(self, key: str) -> Versioned | None:
        entry = self._records.get(key)
        if entry is None:
            return None
        version, state, expires_at = entry
        if expires_at is not None and expires_at <= self._clock():
            del self._records[key]
            return None
        return Versioned(state, version)

    async def apply(
        self,
        key: str,
        change: Callable[[AccountState], tuple[T, AccountState]],
        expires: Callable[[AccountState], float | None],
    ) -> T:
        """Read, change and write the record under ``key`` with no await between: atomic in the
        event loop, as :class:`~cognito_gate.stores.base.Transactional` asks."""
        return self._apply(key, change, expires)

    def _apply(
        self,
        key: str,
        change: Callable[[AccountState], tuple[T, AccountState]],
        expires: Callable[[AccountState], float | None],
    ) -> T:
        entry = self._records.get(key)
        live = entry is not None and (entry[2] is None or entry[2] > self._clock())
        before = entry[1] if entry is not None and live else _EMPTY
        result, after = change(before)
        if live and after == before:
            return result
        if after == _EMPTY:
            if self._records.pop(key, None) is not None:
                self._wrote()
            return result
        version = entry[0] + 1 if entry is not None and live else first_version()
        self._records[key] = (version, after, expires(after))
        self._wrote()
        return result

    async def apply_many(self, changes: Sequence[Change]) -> list[Any]:
        """Each change in turn, with no await between: one step."""
        return [self._apply(key, change, expires) for key, change, expires in changes]

    async def swap(
        self, key: str, expected: int | None, state: AccountState | None, expires_at: float | None
    ) -> bool:
        entry = self._records.get(key)
        current = entry[0] if entry else None
        if current != expected:
            return False
        if state is None:
            self._records.pop(key, None)
        else:
            version = first_version() if current is None else current + 1
            self._records[key] = (version, state, expires_at)
        self._wrote()
        return True

    async def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self._records if k.startswith(prefix))

    async def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        self._events.extend(dict(event) for event in events)

    async def events(self, username: str | None, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for event in reversed(self._events):
            if username is None or event.get("username") == username:
                found.append(dict(event))
                if len(found) >= limit:
                    break
        return found

    async def put_token_owner(self, digest: str, username: str, expires_at: float) -> None:
        self._owners[digest] = (username, expires_at)
        self._wrote()

    async def token_owner(self, digest: str, now: float) -> str | None:
        entry = self._owners.get(digest)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    async def init(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
