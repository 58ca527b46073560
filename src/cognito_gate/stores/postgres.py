"""``postgresql://USER@HOST:PORT/DB[?schema=NAME]``: any number of processes on any number of
machines sharing one PostgreSQL database.

Design:

* **Connections.** psycopg 3 (async) through one ``psycopg_pool.AsyncConnectionPool`` per store,
  opened on first use (1 to 10 connections, autocommit, 3 s to connect or to get a connection,
  a 5 s ``statement_timeout``); every operation is also capped client-side
  (:data:`OPERATION_TIMEOUT`), so a server that stops answering is a 503, never a hang (an
  operation that overruns is cancelled in the background, where psycopg may take a while). An
  operation that meets a connection broken by an earlier outage has the pool check its idle
  connections, and tries once more if it is idempotent (not a swap nor an event batch); a dead server is a :class:`~cognito_gate.errors.StoreUnavailable` within a few
  seconds, and the pool reconnects by itself once the server is back.
* **Tables**, in schema ``public`` unless the URL says ``?schema=NAME`` (created if missing):
  ``cognito_gate_state (key, state, version, expires_at)``, ``cognito_gate_events (id, username,
  data)``, ``cognito_gate_token_owners (digest, username, expires_at)`` and ``cognito_gate_meta
  (name, value)``, which holds ``schema_version`` (:data:`SCHEMA_VERSION`) so that later versions
  migrate step by step. Keys are TEXT with the "C" collation (codepoint order, and a prefix
  ``LIKE`` can use the primary key); times are epoch seconds (double precision) of the injected
  clock.
* **Schema.** Created on first use, or by :meth:`PostgresStore.init` (``cognito-gate store
  init``), in one transaction under ``pg_advisory_xact_lock`` so that processes starting together
  do not collide. A role that may not create it gets a message telling the operator to run
  ``cognito-gate store init`` with a privileged role; the run-time role then needs only USAGE on
  the schema and SELECT, INSERT, UPDATE, DELETE on the four tables. A schema newer than this code
  is refused (upgrade cognito-gate).
* **One statement per swap** (several at once, a login's pair, in one pipeline on one
  connection: :meth:`PostgresStore.swap_many`, each answering the version it wrote), a
  compare-and-swap on ``version``: ``UPDATE ... WHERE key AND
  version``; for an absent record ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` the row there is
  a tombstone or expired; a delete leaves a tombstone (``state`` NULL, version + 1), so versions
  of a key only grow and a writer holding an old version can never write over a record deleted
  and created again since (no ABA). ``load`` treats expired rows and tombstones as absent.
* **Housekeeping**, one statement, run with a small probability per write (so short-lived
  processes such as Lambda functions take their share): it deletes state rows and tombstones
  expired for more than :data:`EXPIRED_GRACE` seconds, expired token owners, and all but the
  newest :data:`~cognito_gate.stores.base.EVENTS_KEPT` events.
* **Events**: a batch is one multi-row ``INSERT ... SELECT FROM unnest(...)``; ``events()`` reads
  newest first by id, by ``username`` through an index on (username, id).
* **Errors** are translated in one place (:meth:`PostgresStore._run`): every psycopg or pool error
  and every time-out becomes StoreUnavailable, logged without the URL's password; a malformed URL is
  a ConfigError on one line starting ``COGNITO_GATE_STORE:``.

PostgreSQL TEXT cannot hold NUL characters and psycopg cannot send lone surrogates: a key or event
containing one is refused as StoreUnavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from cognito_gate.errors import ConfigError, StoreUnavailable
from cognito_gate.policy import AccountState
from cognito_gate.stores import base
from cognito_gate.stores.base import Versioned, decode_state, encode_state

T = TypeVar("T")
Conn = AsyncConnection[TupleRow]
logger = logging.getLogger("cognito_gate.stores")

#: The schema this code writes; ``cognito_gate_meta.schema_version`` records what a database has.
SCHEMA_VERSION = 1
#: The schema used when the URL names none.
DEFAULT_SCHEMA = "public"
#: Seconds to open a connection (libpq ``connect_timeout``, unless the URL sets it).
CONNECT_TIMEOUT = 3
#: Seconds to wait for a connection from the pool.
POOL_TIMEOUT = 3.0
#: Seconds the pool keeps retrying a failed connection before it gives up (a later request
#: starts a fresh attempt at once, so the store recovers as soon as the server is back).
RECONNECT_TIMEOUT = 3.0
#: Server-side limit of one statement.
STATEMENT_TIMEOUT = "5s"
#: Client-side limit of one store operation, retries included.
OPERATION_TIMEOUT = 8.0
POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 10
#: Chance that a swap runs the housekeeping statement.
SWEEP_CHANCE = 1 / 1000
#: Housekeeping runs about once per this many events added.
TRIM_EVERY = 1000
#: Expired rows and tombstones are kept this long (seconds) before housekeeping deletes them, far
#: longer than a load-to-swap round, so that a version, once read, is never reused under a key.
EXPIRED_GRACE = 300.0

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SCHEMA_DENIED = (
    "The lockout store is not set up: run `cognito-gate store init` with a privileged role."
)


class _SchemaDenied(Exception):
    """The role may not create the schema or tables (PostgreSQL said insufficient privilege)."""


class _ConnectionLost(Exception):
    """The connection broke during the operation (it may have been stale: worth one retry)."""


# -- the URL ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a store lives: a libpq connection string (secret), its schema, and a safe label."""

    conninfo: str
    schema: str
    label: str

    def __repr__(self) -> str:
        return f"Target({self.label})"


def _bad_url(reason: str) -> ConfigError:
    return ConfigError(
        f"COGNITO_GATE_STORE: {reason} (expected postgresql://USER@HOST:PORT/DB[?schema=NAME])"
    )


def _secrets(url: str) -> list[str]:
    """The URL's password, as written and percent-decoded (userinfo or ``password=`` option)."""
    found = re.findall(r"://[^:/@?#]*:([^@/?#]*)@", url) + re.findall(r"[?&]password=([^&#]*)", url)
    return [s for raw in found if raw for s in {raw, unquote(raw)}]


def _redact(text: str, url: str) -> str:
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _split_schema(query: str) -> tuple[str, str]:
    """Take ``schema=NAME`` out of a raw query string; the rest stays as written for libpq."""
    schemas = [part for part in query.split("&") if part.split("=", 1)[0] == "schema"]
    rest = "&".join(part for part in query.split("&") if part and part not in schemas)
    if len(schemas) > 1:
        raise _bad_url("schema is given more than once")
    if not schemas:
        return DEFAULT_SCHEMA, rest
    name = unquote(schemas[0].partition("=")[2])
    if not _SCHEMA_NAME.fullmatch(name):
        raise _bad_url("schema must be a plain identifier (letters, digits, _; 63 at most)")
    return name, rest


def _check_ports(params: dict[str, Any]) -> None:
    for port in str(params.get("port") or "").split(","):
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise _bad_url(f"invalid port {port!r}")


def parse_url(url: str) -> Target:
    """The target of a ``postgresql://`` or ``postgres://`` URL; ConfigError when malformed."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise _bad_url("not a postgresql:// URL")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _bad_url("malformed URL") from None
    schema, query = _split_schema(parts.query)
    libpq_url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    try:
        params = conninfo_to_dict(libpq_url)
    except psycopg.Error as exc:
        raise _bad_url(_redact(str(exc).strip().splitlines()[0], url)) from None
    _check_ports(params)
    defaults: dict[str, str | int] = {
        "connect_timeout": CONNECT_TIMEOUT,
        "application_name": "cognito-gate",
    }
    extra = {k: v for k, v in defaults.items() if k not in params}
    return Target(make_conninfo(libpq_url, **extra), schema, _label(params, schema))


def _label(params: dict[str, Any], schema: str) -> str:
    """``postgresql://user@host:port/db?schema=s``: never the password."""
    user = f"{params['user']}@" if params.get("user") else ""
    host = params.get("host") or params.get("hostaddr") or ""
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{user}{host}{port}/{params.get('dbname') or ''}?schema={schema}"


# -- the statements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sql:
    """Every statement of one schema, rendered once."""

    version: str
    load: str
    insert: str
    update: str
    delete: str
    keys: str
    add_events: str
    events: str
    user_events: str
    put_owner: str
    owner: str
    housekeeping: str
    migrations: tuple[tuple[str, ...], ...]
    set_version: str
    meta_name: str


def _render(template: str, schema: str) -> str:
    names = {
        "state": sql.Identifier(schema, "cognito_gate_state"),
        "events": sql.Identifier(schema, "cognito_gate_events"),
        "owners": sql.Identifier(schema, "cognito_gate_token_owners"),
        "meta": sql.Identifier(schema, "cognito_gate_meta"),
        "schema": sql.Identifier(schema),
    }
    return sql.SQL(template).format(**names).as_string()


# Version 1: the first schema. A later version appends a tuple of statements here.
_MIGRATIONS = (
    (
        "CREATE TABLE IF NOT EXISTS {meta} (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        'CREATE TABLE IF NOT EXISTS {state} (key TEXT COLLATE "C" PRIMARY KEY, state TEXT,'
        " version BIGINT NOT NULL, expires_at DOUBLE PRECISION)",
        "CREATE INDEX IF NOT EXISTS cognito_gate_state_expiry ON {state} (expires_at)"
        " WHERE expires_at IS NOT NULL",
        "CREATE TABLE IF NOT EXISTS {events} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " username TEXT, data TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS cognito_gate_events_username ON {events} (username, id)",
        "CREATE TABLE IF NOT EXISTS {owners} (digest TEXT PRIMARY KEY, username TEXT NOT NULL,"
        " expires_at DOUBLE PRECISION NOT NULL)",
        "CREATE INDEX IF NOT EXISTS cognito_gate_token_owners_expiry ON {owners} (expires_at)",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION


def _statements(schema: str) -> _Sql:
    def r(template: str) -> str:
        return _render(template, schema)

    return _Sql(
        version=r("SELECT value FROM {meta} WHERE name = 'schema_version'"),
        load=r(
            "SELECT state, version FROM {state} WHERE key = %(key)s AND state IS NOT NULL"
            " AND (expires_at IS NULL OR expires_at > %(now)s)"
        ),
        insert=r(
            "INSERT INTO {state} AS r (key, state, version, expires_at)"
            " VALUES (%(key)s, %(state)s, 1, %(expires_at)s)"
            " ON CONFLICT (key) DO UPDATE SET state = excluded.state, version = r.version + 1,"
            " expires_at = excluded.expires_at"
            " WHERE r.state IS NULL OR r.expires_at <= %(now)s RETURNING version"
        ),
        update=r(
            "UPDATE {state} SET state = %(state)s, version = version + 1,"
            " expires_at = %(expires_at)s WHERE key = %(key)s AND version = %(version)s"
            " RETURNING version"
        ),
        delete=r(
            "UPDATE {state} SET state = NULL, version = version + 1, expires_at = %(now)s"
            " WHERE key = %(key)s AND version = %(version)s RETURNING version"
        ),
        keys=r(
            "SELECT key FROM {state} WHERE key LIKE %(pattern)s ESCAPE '\\' AND state IS NOT NULL"
            " AND (expires_at IS NULL OR expires_at > %(now)s) ORDER BY key"
        ),
        add_events=r(
            "INSERT INTO {events} (username, data) SELECT u, d"
            " FROM unnest(%(users)s::text[], %(data)s::text[]) WITH ORDINALITY AS e (u, d, n)"
            " ORDER BY n"
        ),
        events=r("SELECT data FROM {events} ORDER BY id DESC LIMIT %(limit)s"),
        user_events=r(
            "SELECT data FROM {events} WHERE username = %(username)s"
            " ORDER BY id DESC LIMIT %(limit)s"
        ),
        put_owner=r(
            "INSERT INTO {owners} (digest, username, expires_at)"
            " VALUES (%(digest)s, %(username)s, %(expires_at)s)"
            " ON CONFLICT (digest) DO UPDATE SET username = excluded.username,"
            " expires_at = excluded.expires_at"
        ),
        owner=r("SELECT username FROM {owners} WHERE digest = %(digest)s AND expires_at > %(now)s"),
        housekeeping=r(
            "WITH expired AS (DELETE FROM {state} WHERE expires_at <= %(cutoff)s),"
            " owners AS (DELETE FROM {owners} WHERE expires_at <= %(now)s)"
            " DELETE FROM {events} WHERE id <= (SELECT id FROM {events}"
            " ORDER BY id DESC OFFSET %(kept)s LIMIT 1)"
        ),
        migrations=tuple(tuple(r(stmt) for stmt in step) for step in _MIGRATIONS),
        set_version=r(
            "INSERT INTO {meta} (name, value) VALUES ('schema_version', %(version)s)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        ),
        meta_name=r("{meta}"),
    )


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern matching exactly the strings that start with ``prefix``."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def _configure(conn: Conn) -> None:
    """Per-connection settings: a statement time-out, and no transaction left idle for long."""
    await conn.execute(
        "SELECT set_config('statement_timeout', %s, false),"
        " set_config('idle_in_transaction_session_timeout', '30s', false)",
        (STATEMENT_TIMEOUT,),
    )


# -- the store -------------------------------------------------------------------------------------


class PostgresStore:
    """Lockout state, events and token owners in PostgreSQL tables."""

    def __init__(self, target: Target, clock: Callable[[], float] = time.time) -> None:
        self.target = target
        self._clock = clock
        self._sql = _statements(target.schema)
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._pool_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = False
        self._ready_lock = asyncio.Lock()
        self._check_lock = asyncio.Lock()
        self._orphans: set[asyncio.Future[Any]] = set()

    @classmethod
    def from_url(
        cls, url: str, *, clock: Callable[[], float] = time.time, region: str | None = None
    ) -> PostgresStore:
        """The store at ``url``; ``region`` is for AWS stores and ignored here."""
        del region
        return cls(parse_url(url), clock)

    def __repr__(self) -> str:
        return f"PostgresStore({self.target.label})"

    # -- the one place where errors are translated --------------------------------------------

    async def _run(self, work: Callable[[Conn], Awaitable[T]], *, retry: bool = True) -> T:
        """``work`` on a pooled connection, schema ready; any failure is StoreUnavailable.

        ``retry``: the work is idempotent, so a connection found broken (a stale one, after an
        outage) is worth a second try once the pool has dropped its other broken connections.
        """
        try:
            return await self._bounded(self._with_retry(work, retry))
        except (StoreUnavailable, ConfigError):
            raise
        except _SchemaDenied as exc:
            logger.error("postgres store %s: %s", self.target.label, exc)
            raise StoreUnavailable(_SCHEMA_DENIED) from exc
        except (psycopg.Error, _ConnectionLost, TimeoutError, OSError, ValueError) as exc:
            raise self._unavailable(exc) from exc

    async def _with_retry(self, work: Callable[[Conn], Awaitable[T]], retry: bool) -> T:
        try:
            return await self._attempt(work)
        except _ConnectionLost:
            await self._check_pool()
            if not retry:
                raise
            return await self._attempt(work)

    async def _bounded(self, operation: Coroutine[Any, Any, T]) -> T:
        """``operation`` within :data:`OPERATION_TIMEOUT`. One that overruns, or whose caller is
        cancelled, is cancelled and left to finish in the background: psycopg may spend seconds
        cancelling a query on a server that does not answer, and the caller must not wait."""
        task = asyncio.ensure_future(operation)
        try:
            return await asyncio.wait_for(asyncio.shield(task), OPERATION_TIMEOUT)
        except BaseException:
            if not task.done():
                task.cancel()
                self._orphans.add(task)
                task.add_done_callback(self._forget)
            raise

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._orphans.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("postgres store %s: abandoned operation ended", self.target.label)

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        cause = exc.__cause__ if isinstance(exc, _ConnectionLost) else exc
        if isinstance(cause, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName):
            self._ready = False  # dropped behind our back: create it again on the next call
        lines = str(cause).strip().splitlines()
        state = getattr(cause, "sqlstate", None)
        logger.warning(
            "postgres store %s: %s%s %s",
            self.target.label,
            type(cause).__name__,
            f" [{state}]" if state else "",
            lines[0][:200] if lines else "",
        )
        return StoreUnavailable("The lockout store is unavailable.")

    async def _attempt(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """The schema made ready, then ``work`` on one pooled connection."""
        await self._ensure_schema()
        async with self._connection() as conn:
            return await work(conn)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        """A pooled connection; its breaking is told apart from a statement's failure."""
        pool = await self._open_pool()
        async with pool.connection() as conn:
            try:
                yield conn
            except psycopg.OperationalError as exc:
                if conn.broken or conn.closed:
                    raise _ConnectionLost() from exc
                raise

    async def _open_pool(self) -> AsyncConnectionPool[Conn]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # psycopg's pool belongs to the loop that opened it: a store used from a new loop
            # (a CLI command after start-up, a test) opens a pool of its own there.
            self._loop, self._pool = loop, None
            self._pool_lock, self._check_lock = asyncio.Lock(), asyncio.Lock()
        if self._pool is not None:
            return self._pool
        async with self._pool_lock:
            if self._pool is None:
                pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
                    self.target.conninfo,
                    min_size=POOL_MIN_SIZE,
                    max_size=POOL_MAX_SIZE,
                    timeout=POOL_TIMEOUT,
                    reconnect_timeout=RECONNECT_TIMEOUT,
                    kwargs={"autocommit": True},
                    configure=_configure,
                    name="cognito-gate",
                    open=False,
                )
                await pool.open(wait=False)
                self._pool = pool
            return self._pool

    async def _check_pool(self) -> None:
        """Drop the pool's broken idle connections (one check at a time)."""
        if self._pool is None:
            return
        async with self._check_lock:
            await self._pool.check()

    # -- the schema ---------------------------------------------------------------------------

    async def _ensure_schema(self) -> None:
        if self._ready:
            return
        async with self._ready_lock:
            if not self._ready:
                async with self._connection() as conn:
                    await self._migrate(conn)
                self._ready = True

    async def _schema_version(self, conn: Conn) -> int:
        cur = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (self._sql.meta_name,))
        row = await cur.fetchone()
        if not row or not row[0]:
            return 0
        cur = await conn.execute(self._sql.version)
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self, conn: Conn) -> None:
        """Bring the schema to :data:`SCHEMA_VERSION`, once, whoever else is trying."""
        if await self._schema_version(conn) == SCHEMA_VERSION:
            return
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"cognito_gate:{self.target.schema}",),
                )
                await self._migrate_locked(conn)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise _SchemaDenied(
                f"this role may not create the cognito-gate tables in schema"
                f" {self.target.schema!r} ({type(exc).__name__}): run `cognito-gate store init`"
                " with a privileged role"
            ) from exc

    async def _migrate_locked(self, conn: Conn) -> None:
        current = await self._schema_version(conn)
        if current > SCHEMA_VERSION:
            logger.error(
                "postgres store %s: schema version %d is newer than this cognito-gate knows (%d)",
                self.target.label,
                current,
                SCHEMA_VERSION,
            )
            raise StoreUnavailable("The lockout store is newer than this gateway: upgrade it.")
        if current == 0:
            await self._create_schema(conn)
        for step in self._sql.migrations[current:]:
            for statement in step:
                await conn.execute(statement)
        if current < SCHEMA_VERSION:
            await conn.execute(self._sql.set_version, {"version": str(SCHEMA_VERSION)})
            logger.info(
                "postgres store %s: schema at version %d", self.target.label, SCHEMA_VERSION
            )

    async def _create_schema(self, conn: Conn) -> None:
        cur = await conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.target.schema,)
        )
        if await cur.fetchone() is None:
            await conn.execute(_render("CREATE SCHEMA IF NOT EXISTS {schema}", self.target.schema))

    # -- records ------------------------------------------------------------------------------

    async def load(self, key: str) -> Versioned | None:
        args = {"key": key, "now": self._clock()}

        async def work(conn: Conn) -> Versioned | None:
            cur = await conn.execute(self._sql.load, args)
            row = await cur.fetchone()
            return None if row is None else Versioned(decode_state(row[0]), int(row[1]))

        return await self._run(work)

    def _swap_statement(
        self, key: str, expected: int | None, state: AccountState | None, expires_at: float | None
    ) -> tuple[str, dict[str, Any]]:
        """The statement of one swap (answering the version it wrote), and its arguments."""
        args = {
            "key": key,
            "version": expected,
            "state": None if state is None else encode_state(state),
            "expires_at": expires_at,
            "now": self._clock(),
        }
        if expected is None:
            return self._sql.insert, args
        return (self._sql.update if state is not None else self._sql.delete), args

    async def swap(
        self, key: str, expected: int | None, state: AccountState | None, expires_at: float | None
    ) -> bool:
        if expected is None and state is None:
            return True
        return (await self.swap_many([(key, expected, state, expires_at)]))[0] is not None

    async def swap_many(self, swaps: Sequence[base.Swap]) -> list[int | None]:
        """The swaps on one connection in one pipeline: one round trip, and one connection taken
        from the pool instead of one each."""
        plan = [
            None  # absent stays absent: nothing to send
            if expected is None and state is None
            else self._swap_statement(key, expected, state, expires_at)
            for key, expected, state, expires_at in swaps
        ]

        async def work(conn: Conn) -> list[int | None]:
            async with conn.pipeline():
                cursors = [None if p is None else await conn.execute(*p) for p in plan]
            written: list[int | None] = []
            for (_, _, state, _), cur in zip(swaps, cursors, strict=True):
                row = None if cur is None else await cur.fetchone()
                if cur is not None and row is None:
                    written.append(None)  # the version did not match
                else:  # a delete leaves a tombstone: absent, as nothing to delete was
                    written.append(0 if state is None or row is None else int(row[0]))
            return written

        swapped = await self._run(work, retry=False)
        if random.random() < SWEEP_CHANCE:
            await self._housekeeping_quietly()
        return swapped

    async def keys(self, prefix: str) -> list[str]:
        args = {"pattern": _like_prefix(prefix), "now": self._clock()}

        async def work(conn: Conn) -> list[str]:
            cur = await conn.execute(self._sql.keys, args)
            return [str(row[0]) for row in await cur.fetchall()]

        return await self._run(work)

    async def housekeeping(self) -> None:
        """Delete long-expired records and token owners, and all but the newest events."""
        now = self._clock()
        args = {"now": now, "cutoff": now - EXPIRED_GRACE, "kept": base.EVENTS_KEPT}

        async def work(conn: Conn) -> None:
            await conn.execute(self._sql.housekeeping, args)

        await self._run(work)

    async def _housekeeping_quietly(self) -> None:
        """Housekeeping after a write: its failure (already logged) must not undo the write's
        answer, and the next round will do the work."""
        with contextlib.suppress(StoreUnavailable):
            await self.housekeeping()

    # -- events -------------------------------------------------------------------------------

    async def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        if not events:
            return
        users = [e.get("username") if isinstance(e.get("username"), str) else None for e in events]
        data = [json.dumps(e, separators=(",", ":"), default=str) for e in events]

        async def work(conn: Conn) -> None:
            await conn.execute(self._sql.add_events, {"users": users, "data": data})

        await self._run(work, retry=False)
        if random.random() < len(events) / TRIM_EVERY:
            await self._housekeeping_quietly()

    async def events(self, username: str | None, limit: int) -> list[dict[str, Any]]:
        args = {"username": username, "limit": max(0, limit)}
        statement = self._sql.events if username is None else self._sql.user_events

        async def work(conn: Conn) -> list[dict[str, Any]]:
            cur = await conn.execute(statement, args)
            return [json.loads(row[0]) for row in await cur.fetchall()]

        return await self._run(work)

    # -- refresh-token owners -----------------------------------------------------------------

    async def put_token_owner(self, digest: str, username: str, expires_at: float) -> None:
        args = {"digest": digest, "username": username, "expires_at": expires_at}

        async def work(conn: Conn) -> None:
            await conn.execute(self._sql.put_owner, args)

        await self._run(work)

    async def token_owner(self, digest: str, now: float) -> str | None:
        args = {"digest": digest, "now": now}

        async def work(conn: Conn) -> str | None:
            cur = await conn.execute(self._sql.owner, args)
            row = await cur.fetchone()
            return None if row is None else str(row[0])

        return await self._run(work)

    # -- life cycle ---------------------------------------------------------------------------

    async def init(self) -> None:
        """Create or migrate the schema now; ConfigError when this role may not."""
        self._ready = False
        try:
            await self.ping()
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, _SchemaDenied):
                raise ConfigError(f"COGNITO_GATE_STORE: {exc.__cause__}") from None
            raise

    async def ping(self) -> None:
        async def work(conn: Conn) -> None:
            await conn.execute("SELECT 1")

        await self._run(work)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None and self._loop is asyncio.get_running_loop():
            await pool.close()  # a pool of another (finished) loop went with its loop
