"""``sqlite:///PATH``: one machine, several processes. WAL mode; every update is one statement.

sqlite3 calls block, so they run in a worker thread; one connection per store, guarded by a lock,
is enough because SQLite serialises writers anyway. Processes sharing the file coordinate through
the versioned compare-and-swap (``UPDATE ... WHERE version = ?``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from cognito_gate.errors import StoreUnavailable
from cognito_gate.policy import AccountState
from cognito_gate.stores.base import (
    EVENTS_KEPT,
    Versioned,
    decode_state,
    encode_state,
    first_version,
)

T = TypeVar("T")
_SETUP_TRIES = 60  # about nine seconds in all
logger = logging.getLogger("cognito_gate.stores")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gate_state (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_at REAL
);
CREATE TABLE IF NOT EXISTS gate_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gate_events_username ON gate_events (username, id);
CREATE TABLE IF NOT EXISTS gate_token_owners (
    digest TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""


def _prepare(conn: sqlite3.Connection) -> None:
    """WAL mode and the schema. Several processes opening a new file at once race for the lock
    that switching to WAL takes, and SQLite reports that at once instead of waiting for the busy
    timeout: so try again, briefly, as the busy timeout would have."""
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA synchronous=NORMAL")
    for attempt in range(1, _SETUP_TRIES + 1):
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _SETUP_TRIES:
                raise
            time.sleep(0.005 * attempt)


class SqliteStore:
    """Lockout state in an SQLite file."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        # Its own worker: SQLite serialises writers anyway, and store steps must never queue
        # behind slow Cognito calls in the shared default executor.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cognito-gate-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._writes = 0

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            try:
                _prepare(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                try:
                    return work(self._connect())
                except (sqlite3.Error, OSError) as exc:
                    if self._conn is not None:
                        self._conn.close()
                        self._conn = None
                    logger.warning("sqlite store %s: %s", self.path, type(exc).__name__)
                    raise StoreUnavailable("The lockout store is unavailable.") from exc

        return await asyncio.get_running_loop().run_in_executor(self._worker, call)

    async def load(self, key: str) -> Versioned | None:
        now = self._clock()

        def work(db: sqlite3.Connection) -> Versioned | None:
            row = db.execute(
                "SELECT state, version, expires_at FROM gate_state WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            if row[2] is not None and row[2] <= now:
                db.execute("DELETE FROM gate_state WHERE key = ? AND version = ?", (key, row[1]))
                return None
            return Versioned(decode_state(row[0]), int(row[1]))

        return await self._run(work)

    async def swap(
        self, key: str, expected: int | None, state: AccountState | None, expires_at: float | None
    ) -> bool:
        text = None if state is None else encode_state(state)

        def work(db: sqlite3.Connection) -> bool:
            if expected is None:
                if text is None:
                    return True
                # A new record starts at a random version, not 1: a writer still holding the
                # version of a deleted record can never match the record created after it.
                cur = db.execute(
                    "INSERT INTO gate_state (key, state, version, expires_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (key) DO NOTHING",
                    (key, text, first_version(), expires_at),
                )
            elif text is None:
                cur = db.execute(
                    "DELETE FROM gate_state WHERE key = ? AND version = ?", (key, expected)
                )
            else:
                cur = db.execute(
                    "UPDATE gate_state SET state = ?, version = version + 1, expires_at = ?"
                    " WHERE key = ? AND version = ?",
                    (text, expires_at, key, expected),
                )
            return cur.rowcount == 1

        ok = await self._run(work)
        self._writes += 1
        if self._writes % 1000 == 0:
            await self._collect_garbage()
        return ok

    async def _collect_garbage(self) -> None:
        now = self._clock()

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "DELETE FROM gate_state WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
            )
            db.execute("DELETE FROM gate_token_owners WHERE expires_at <= ?", (now,))
            db.execute(
                "DELETE FROM gate_events WHERE id <= (SELECT MAX(id) FROM gate_events) - ?",
                (EVENTS_KEPT,),
            )

        await self._run(work)

    async def keys(self, prefix: str) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

        def work(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "SELECT key FROM gate_state WHERE key LIKE ? ESCAPE '\\' ORDER BY key",
                (escaped + "%",),
            ).fetchall()
            return [str(r[0]) for r in rows if str(r[0]).startswith(prefix)]

        return await self._run(work)

    async def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        rows = [(e.get("username"), json.dumps(e, separators=(",", ":"))) for e in events]
        if not rows:
            return

        def work(db: sqlite3.Connection) -> None:
            # One transaction for the batch: one fsync-free WAL commit instead of one per event.
            db.execute("BEGIN")
            try:
                db.executemany("INSERT INTO gate_events (username, data) VALUES (?, ?)", rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

        await self._run(work)

    async def events(self, username: str | None, limit: int) -> list[dict[str, Any]]:
        def work(db: sqlite3.Connection) -> list[dict[str, Any]]:
            if username is None:
                rows = db.execute(
                    "SELECT data FROM gate_events ORDER BY id DESC LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = db.execute(
                    "SELECT data FROM gate_events WHERE username = ? ORDER BY id DESC LIMIT ?",
                    (username, limit),
                ).fetchall()
            return [json.loads(r[0]) for r in rows]

        return await self._run(work)

    async def put_token_owner(self, digest: str, username: str, expires_at: float) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO gate_token_owners (digest, username, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (digest) DO UPDATE SET username = excluded.username,"
                " expires_at = excluded.expires_at",
                (digest, username, expires_at),
            )
        )

    async def token_owner(self, digest: str, now: float) -> str | None:
        def work(db: sqlite3.Connection) -> str | None:
            row = db.execute(
                "SELECT username FROM gate_token_owners WHERE digest = ? AND expires_at > ?",
                (digest, now),
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._run(work)

    async def init(self) -> None:
        await self.ping()

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        def work() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._worker, work)
