"""``sqlite:///PATH``: one machine, several processes. WAL mode; every update is one statement.

Where the time goes (profiled): a statement on a WAL file takes tens of microseconds, a hop to a
worker thread and back several times that. So each step is first tried right on the event loop, on
a connection that never waits (``busy_timeout=0``, no automatic checkpoint): a read never waits in
WAL mode, and a write waits only while another connection (another process) holds the write lock.
Then, and for whatever may take long (schema creation, checkpoints, sweeps), the step runs on the
store's own worker thread, whose connection waits up to ten seconds. Audit event batches go the
loop's way too: written by the worker, they held the write lock against the loop's own steps and
the GIL against its requests (a login on SQLite was 12% faster without that, measured).

An update (:meth:`SqliteStore.apply`) is one ``BEGIN IMMEDIATE`` transaction: read, apply the pure
policy change, write; so it needs no retry and one step instead of a read and a compare-and-swap.
Processes sharing the file are serialised by SQLite's write lock; :meth:`SqliteStore.swap` (the
versioned compare-and-swap, ``UPDATE ... WHERE version = ?``) remains for the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    Change,
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


def _apply(
    db: sqlite3.Connection,
    key: str,
    change: Callable[[AccountState], tuple[T, AccountState]],
    expires: Callable[[AccountState], float | None],
    now: float,
) -> T:
    row = db.execute(
        "SELECT state, version, expires_at FROM gate_state WHERE key = ?", (key,)
    ).fetchone()
    live = row is not None and (row[2] is None or row[2] > now)
    before = decode_state(row[0]) if live else AccountState()
    result, after = change(before)
    if live and after == before:
        return result
    if after == AccountState():
        if row is not None:
            db.execute("DELETE FROM gate_state WHERE key = ?", (key,))
        return result
    text = encode_state(after)
    if row is None:
        db.execute(
            "INSERT INTO gate_state (key, state, version, expires_at) VALUES (?, ?, ?, ?)",
            (key, text, first_version(), expires(after)),
        )
    else:
        db.execute(
            "UPDATE gate_state SET state = ?, version = version + 1, expires_at = ? WHERE key = ?",
            (text, expires(after), key),
        )
    return result


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
        # The event loop's own connection; the lock only keeps two threads' loops off it at once.
        self._fast_conn: sqlite3.Connection | None = None
        self._fast_lock = threading.Lock()

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

    async def _step(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on the loop's connection if it can go at once, else on the worker. ``work``
        must be safe to run again after it failed (one statement, or one transaction)."""
        if self._fast_lock.acquire(blocking=False):
            try:
                return work(self._fast())
            except sqlite3.Error:
                # Busy (another process writes), no schema yet, or broken: the worker decides.
                self._drop_fast()
            finally:
                self._fast_lock.release()
        return await self._run(work)

    def _fast(self) -> sqlite3.Connection:
        if self._fast_conn is None:
            conn = sqlite3.connect(
                self.path, timeout=0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint=0")  # the worker checkpoints
            self._fast_conn = conn
        return self._fast_conn

    def _drop_fast(self) -> None:
        if self._fast_conn is not None:
            if self._fast_conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._fast_conn.execute("ROLLBACK")
            self._fast_conn.close()
            self._fast_conn = None

    async def apply(
        self,
        key: str,
        change: Callable[[AccountState], tuple[T, AccountState]],
        expires: Callable[[AccountState], float | None],
    ) -> T:
        """Read, change and write the record under ``key`` in one transaction (see the module
        docstring); an empty state is deleted, an unchanged one not written."""
        now = self._clock()

        def work(db: sqlite3.Connection) -> T:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = _apply(db, key, change, expires, now)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

        result = await self._step(work)
        await self._count_write()
        return result

    async def apply_many(self, changes: Sequence[Change]) -> list[Any]:
        """:meth:`apply` for each change, in order, in one transaction."""
        now = self._clock()

        def work(db: sqlite3.Connection) -> list[Any]:
            db.execute("BEGIN IMMEDIATE")
            try:
                results = [
                    _apply(db, key, change, expires, now) for key, change, expires in changes
                ]
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return results

        results = await self._step(work)
        await self._count_write()
        return results

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

        return await self._step(work)

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

        ok = await self._step(work)
        await self._count_write()
        return ok

    async def _count_write(self) -> None:
        self._writes += 1
        if self._writes % 1000 == 0:
            await self._collect_garbage()

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
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # the loop's connection never does

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
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT INTO gate_events (username, data) VALUES (?, ?)", rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

        await self._step(work)

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
        await self._step(
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

        return await self._step(work)

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
            with self._fast_lock:
                self._drop_fast()

        await asyncio.get_running_loop().run_in_executor(self._worker, work)
