"""``redis://`` / ``rediss://``: any number of gateway processes sharing one Redis (redis-py asyncio).

Key layout (``P`` is the URL option ``?prefix=``, default ``cognito-gate``):

- ``P:s:{HEX(tag)}HEX(rest)``: one record, a hash ``v`` (version), ``s`` (state JSON), ``e``
  (``expires_at``, empty for never). A store key is opaque text with ``\\x1f`` separators; its
  *tag* is the text up to the third separator (the whole key if it has fewer) and *rest* the
  remainder. Only the tag is inside the braces, so an account key (``pool␟user␟alice``) and its
  account+address keys (``pool␟user␟alice␟203.0.113.0``) share a Redis Cluster slot. Both parts
  are hex-encoded UTF-8: any text (braces, glob characters, spaces, any Unicode) is safe, and hex
  keeps prefixes, so ``keys(prefix)`` is one SCAN with a literal ``MATCH`` pattern.
- ``P:events``: the audit log, a stream capped at the newest :data:`EVENTS_KEPT` by the same
  script that appends; ``events()`` pages it newest first with XREVRANGE.
- ``P:o:HEX(digest)``: a refresh token's owner, ``{"u": username, "e": expires_at}``, set with
  its TTL in one ``SET ... PX``.

Every update of a record is one Lua script, :data:`_SWAP`: "write this state if the version is
still N (empty: absent); no state deletes", which also sets the record's TTL and answers the
version it wrote, so that this process's next update of the record needs no read. Several swaps
(a login's two reservations, then their settling) go in one pipeline
(:meth:`RedisStore.swap_many`). Scripts run by EVALSHA and are loaded again after ``NOSCRIPT``
(:class:`_Script`).

Expiry: the store's injected clock decides. Each record keeps its ``expires_at``; ``load`` and the
swap script treat a record whose ``expires_at`` has passed by that clock as absent. Redis's own TTL
only makes Redis forget: it is the record's remaining life by the store's clock (``PEXPIRE
expires_at - clock()``, which with the real clock is ``PEXPIREAT expires_at`` up to host clock
skew), so Redis never drops a record the store still counts, whatever the clock's offset from
Redis's (tests run at a fake time far from now). A record already expired when written is deleted.

Errors: the client never retries by itself and has short timeouts, so an outage answers within
seconds; every redis-py error becomes StoreUnavailable in :meth:`RedisStore._guard`, the one place.
The URL's password is never logged or shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import URL_QUERY_ARGUMENT_PARSERS
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from cognito_gate.errors import ConfigError, StoreUnavailable
from cognito_gate.policy import AccountState
from cognito_gate.stores.base import (
    EVENTS_KEPT,
    Swap,
    Versioned,
    decode_state,
    encode_state,
    first_version,
)

logger = logging.getLogger("cognito_gate.stores")

SEP = "\x1f"
DEFAULT_PREFIX = "cognito-gate"
#: Seconds to connect and to wait for an answer; an outage answers StoreUnavailable this fast.
TIMEOUT = 2.0
#: Connections one process opens at most (the URL's ``?max_connections=`` overrides it).
MAX_CONNECTIONS = 64
#: Seconds a whole listing of keys (many SCAN pages; an admin's request) may take.
SCAN_TIMEOUT = 60.0
_SCAN_COUNT = 1000
_EVENTS_PAGE = 500
_MAX_TTL_MS = 2**47  # about 4,000 years: PEXPIRE refuses what would overflow
#: URL options passed to redis-py besides its typed ones; ``prefix`` is this store's own.
_STRING_OPTIONS = frozenset(
    {"client_name", "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_path", "ssl_certfile", "ssl_keyfile"}
)
_URL_OPTIONS = (
    set(URL_QUERY_ARGUMENT_PARSERS) - {"protocol", "legacy_responses"}
) | _STRING_OPTIONS
_URL_EXAMPLE = "e.g. redis://:PASSWORD@HOST:6379/0?prefix=cognito-gate"

#: KEYS[1] record; ARGV: expected version ("" absent), state JSON ("" deletes), expires_at ("" never),
#: now (the store's clock), TTL in ms ("" none; <= 0 already expired), a new record's first
#: version. Returns the version written ("0": deleted), or nil when the version did not match.
_SWAP = """
local stored = redis.call('HMGET', KEYS[1], 'v', 'e')
local version, current = stored[1], stored[1]
-- A record lapsed by the store's clock counts as absent (its version still counts up below).
if current and stored[2] and stored[2] ~= '' and tonumber(stored[2]) <= tonumber(ARGV[4]) then
  current = false
end
if (current or '') ~= ARGV[1] then return false end
local ttl = tonumber(ARGV[5])
-- Deleting, or writing what has already lapsed: nothing to keep.
if ARGV[2] == '' or (ttl and ttl <= 0) then
  redis.call('DEL', KEYS[1])
  return '0'
end
-- A new record starts at a random version (ARGV[6]): never the version of one deleted before it.
local next_version = string.format('%d', (tonumber(version) or tonumber(ARGV[6])) + 1)
redis.call('HSET', KEYS[1], 'v', next_version, 's', ARGV[2], 'e', ARGV[3])
if ttl then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return next_version
"""

#: KEYS[1] events stream; ARGV[1] how many to keep, ARGV[2..] events (JSON), oldest first.
_ADD_EVENTS = """
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'd', ARGV[i])
end
redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[1])
return #ARGV - 1
"""


class _Script:
    """A Lua script run by EVALSHA, loaded (again) when Redis answers NOSCRIPT."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def __call__(self, client: Redis, keys: Sequence[str], args: Sequence[str]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await self.load(client)
            return await client.evalsha(self.sha, len(keys), *keys, *args)

    async def many(
        self, client: Redis, calls: Sequence[tuple[Sequence[str], Sequence[str]]]
    ) -> list[Any]:
        """Several runs (keys, args) in one pipeline, their answers in order. Runs that found the
        script missing (a restarted or flushed Redis) are run again once it is loaded: only
        they, as the others have already run."""
        answers: list[Any] = [None] * len(calls)
        todo = list(range(len(calls)))
        for attempt in range(2):
            pipe = client.pipeline(transaction=False)
            for i in todo:
                keys, args = calls[i]
                pipe.evalsha(self.sha, len(keys), *keys, *args)
            done = await pipe.execute(raise_on_error=False)
            missing = []
            for i, answer in zip(todo, done, strict=True):
                if isinstance(answer, NoScriptError) and attempt == 0:
                    missing.append(i)
                elif isinstance(answer, Exception):
                    raise answer
                else:
                    answers[i] = answer
            if not missing:
                break
            await self.load(client)
            todo = missing
        return answers

    async def load(self, client: Redis) -> None:
        await client.script_load(self.source)


_SWAP_SCRIPT = _Script(_SWAP)
_ADD_EVENTS_SCRIPT = _Script(_ADD_EVENTS)


def _hex(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").hex()


def _unhex(text: str) -> str:
    return bytes.fromhex(text).decode("utf-8", "surrogatepass")


def _split_tag(key: str) -> tuple[str, str]:
    """(tag, rest): the tag is ``key`` up to its third separator, or all of it."""
    parts = key.split(SEP, 3)
    if len(parts) < 4:
        return key, ""
    tag = SEP.join(parts[:3])
    return tag, key[len(tag) :]


def _glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis MATCH pattern."""
    return "".join("\\" + c if c in "\\*?[]" else c for c in text)


def _ttl_ms(expires_at: float | None, now: float) -> int | None:
    """Redis's TTL for something the store's clock says lapses at ``expires_at`` (None: never)."""
    if expires_at is None or not math.isfinite(expires_at):
        return None
    return min(math.ceil((expires_at - now) * 1000), _MAX_TTL_MS)


class _Url:
    """A parsed, checked store URL: what redis-py gets, the key prefix, and a printable form."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.where = _where(parts)
        options = parse_qsl(parts.query, keep_blank_values=True)
        self.prefix = _check_prefix(dict(options).get("prefix", DEFAULT_PREFIX))
        _check_options(name for name, _ in options if name != "prefix")
        rest = urlencode([(name, value) for name, value in options if name != "prefix"])
        self.redis_url = urlunsplit(parts._replace(query=rest))
        self.password = unquote(parts.password or "")

    def scrub(self, text: str) -> str:
        """``text`` without the password, should redis-py ever have put it there."""
        return text.replace(self.password, "***") if self.password else text


def _where(parts: SplitResult) -> str:
    """``scheme://host:port/db`` of a checked URL: printable, without the password."""
    if parts.scheme not in ("redis", "rediss"):
        raise _bad("expected redis://HOST:PORT/DB or rediss://...")
    try:
        port = parts.port or 6379
    except ValueError:
        raise _bad("the redis URL's port must be a number from 0 to 65535") from None
    if not parts.hostname:
        raise _bad("the redis URL needs a host")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise _bad("the redis URL's path must be a database number, like /0")
    return f"{parts.scheme}://{parts.hostname}:{port}/{db}"


def _bad(problem: str) -> ConfigError:
    return ConfigError(f"COGNITO_GATE_STORE: {problem} ({_URL_EXAMPLE})")


def _check_prefix(prefix: str) -> str:
    if not prefix or "{" in prefix or "}" in prefix:
        raise _bad("the redis prefix must be non-empty, without { or }")
    return prefix


def _check_options(names: Iterable[str]) -> None:
    unknown = sorted(set(names) - _URL_OPTIONS)
    if unknown:
        raise _bad(f"unknown redis URL option {', '.join(unknown)}")


class RedisStore:
    """Lockout state in Redis; see the module docstring for the layout."""

    def __init__(
        self,
        make_pool: Callable[[], ConnectionPool],
        *,
        prefix: str = DEFAULT_PREFIX,
        clock: Callable[[], float] = time.time,
        url: _Url | None = None,
    ) -> None:
        self._make_pool = make_pool
        self._made = Redis.from_pool(make_pool())
        self._permits: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._prefix = _check_prefix(prefix)
        self._clock = clock
        self._url = url

    @property
    def _redis(self) -> Redis:
        """The client of the running event loop: redis-py's connections belong to the loop that
        opened them, so a store used from a new loop (a CLI command after start-up, a test)
        opens a pool of its own there instead of failing."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:
                self._made = Redis.from_pool(self._make_pool())
            self._permits = None
            self._loop = loop
        return self._made

    def _loop_permits(self) -> asyncio.Semaphore:
        """One permit per connection the pool may open, for the running loop's client."""
        client = self._redis
        if self._permits is None:
            self._permits = asyncio.Semaphore(client.connection_pool.max_connections)
        return self._permits

    @classmethod
    def from_url(
        cls, url: str, *, clock: Callable[[], float] = time.time, region: str | None = None
    ) -> RedisStore:
        """The store at ``url`` (``region`` is for DynamoDB and ignored here)."""
        parsed = _Url(url)

        def make_pool() -> ConnectionPool:
            return ConnectionPool.from_url(
                parsed.redis_url,
                max_connections=MAX_CONNECTIONS,
                # No per-command timeout: redis-py's costs a task per command sent (an eighth
                # of a command's CPU, measured); each store step has one deadline (_guard).
                socket_timeout=None,
                socket_connect_timeout=TIMEOUT,
                retry=Retry(NoBackoff(), 0),
                decode_responses=True,
            )

        try:
            make_pool()  # the URL's options are checked now, not at the first request
        except ValueError:
            raise _bad("invalid redis URL option value") from None
        return cls(make_pool, prefix=parsed.prefix, clock=clock, url=parsed)

    def __repr__(self) -> str:
        where = self._url.where if self._url else "redis"
        return f"RedisStore({where}, prefix={self._prefix!r})"

    @contextlib.asynccontextmanager
    async def _guard(self, seconds: float | None = None) -> AsyncIterator[None]:
        """The one place where a Redis failure becomes StoreUnavailable, and where a store step
        gets its deadline (``seconds``, TIMEOUT by default: a server that stops answering is
        unavailable that fast; redis-py drops a connection whose command was cut short). Also
        where a burst beyond the pool's connections waits for one (up to TIMEOUT), as a request
        waits for any store step. redis-py's pool raises at once when all its connections are
        in use (200 simultaneous logins on one process were answered 503), and its blocking
        pool costs a timer per command (a tenth of a login, profiled): a semaphore waits only
        when full."""
        permits = self._loop_permits()
        if permits.locked():
            try:
                await asyncio.wait_for(permits.acquire(), TIMEOUT)
            except TimeoutError:
                logger.warning("redis store %r: every connection busy for %.0f s", self, TIMEOUT)
                raise StoreUnavailable("The lockout store is unavailable.") from None
        else:
            await permits.acquire()
        deadline = TIMEOUT if seconds is None else seconds
        try:
            async with asyncio.timeout(deadline):
                yield
        except (RedisError, OSError) as exc:  # (asyncio's TimeoutError is an OSError)
            detail = self._url.scrub(str(exc)) if self._url else str(exc)
            if isinstance(exc, TimeoutError) and not detail:
                detail = f"no answer within {deadline:g} s"
            logger.warning("redis store %r: %s: %s", self, type(exc).__name__, detail)
            raise StoreUnavailable("The lockout store is unavailable.") from exc
        finally:
            permits.release()

    # -- keys ------------------------------------------------------------------------------------

    def _record_key(self, key: str) -> str:
        tag, rest = _split_tag(key)
        return f"{self._prefix}:s:{{{_hex(tag)}}}{_hex(rest)}"

    def _store_key(self, record_key: str) -> str | None:
        """Inverse of :meth:`_record_key` (None for a key this store did not write)."""
        tag, _, rest = record_key[len(self._prefix) + 4 :].partition("}")
        try:
            return _unhex(tag) + _unhex(rest)
        except ValueError:  # not hex, or not UTF-8 (UnicodeDecodeError is a ValueError)
            return None

    def _match(self, prefix: str) -> str:
        """The MATCH pattern of every record key whose store key starts with ``prefix``."""
        tag, rest = _split_tag(prefix)
        head = f"{_glob_escape(self._prefix)}:s:{{{_hex(tag)}"
        return f"{head}}}{_hex(rest)}*" if rest else f"{head}*"

    @property
    def _events_key(self) -> str:
        return f"{self._prefix}:events"

    def _owner_key(self, digest: str) -> str:
        return f"{self._prefix}:o:{_hex(digest)}"

    # -- records ---------------------------------------------------------------------------------

    async def load(self, key: str) -> Versioned | None:
        async with self._guard():
            version, state, expires = await self._redis.hmget(self._record_key(key), "v", "s", "e")
        if version is None or state is None:
            return None
        if expires and float(expires) <= self._clock():
            return None
        return Versioned(decode_state(state), int(version))

    def _swap_args(
        self, expected: int | None, state: AccountState | None, expires_at: float | None
    ) -> list[str]:
        now = self._clock()
        ttl = _ttl_ms(expires_at, now)
        return [
            "" if expected is None else str(expected),
            "" if state is None else encode_state(state),
            "" if expires_at is None else repr(float(expires_at)),
            repr(float(now)),
            "" if ttl is None else str(ttl),
            str(first_version()),
        ]

    async def swap(
        self, key: str, expected: int | None, state: AccountState | None, expires_at: float | None
    ) -> bool:
        args = self._swap_args(expected, state, expires_at)
        async with self._guard():
            written = await _SWAP_SCRIPT(self._redis, [self._record_key(key)], args)
        return written is not None

    async def swap_many(self, swaps: Sequence[Swap]) -> list[int | None]:
        """The swaps in one pipeline (one round trip, each script atomic by itself; not a
        transaction, so that the keys may live in different Redis Cluster slots)."""
        calls = [
            ([self._record_key(key)], self._swap_args(expected, state, expires_at))
            for key, expected, state, expires_at in swaps
        ]
        async with self._guard():
            written = await _SWAP_SCRIPT.many(self._redis, calls)
        return [None if version is None else int(version) for version in written]

    async def keys(self, prefix: str) -> list[str]:
        found: set[str | None] = set()
        async with self._guard(SCAN_TIMEOUT):
            async for record_key in self._redis.scan_iter(
                match=self._match(prefix), count=_SCAN_COUNT
            ):
                found.add(self._store_key(record_key))
        return sorted(k for k in found if k is not None and k.startswith(prefix))

    # -- events ----------------------------------------------------------------------------------

    async def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        if not events:
            return
        args = [str(EVENTS_KEPT)] + [json.dumps(e, separators=(",", ":")) for e in events]
        async with self._guard():
            await _ADD_EVENTS_SCRIPT(self._redis, [self._events_key], args)

    async def events(self, username: str | None, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = limit if username is None else max(limit, _EVENTS_PAGE)
        newest = "+"
        while len(found) < limit:
            entries = await self._events_page(newest, page)
            found += [
                e
                for _, e in entries
                if e is not None and (username is None or e.get("username") == username)
            ]
            if len(entries) < page:
                break
            newest = "(" + entries[-1][0]
        return found[: max(limit, 0)]

    async def _events_page(
        self, newest: str, count: int
    ) -> list[tuple[str, dict[str, Any] | None]]:
        """Up to ``count`` (id, event) pairs, newest first, from id ``newest`` down."""
        async with self._guard():
            entries = await self._redis.xrevrange(self._events_key, newest, "-", count=count)
        return [(str(i), json.loads(f["d"]) if f else None) for i, f in entries or []]

    # -- refresh-token owners --------------------------------------------------------------------

    async def put_token_owner(self, digest: str, username: str, expires_at: float) -> None:
        ttl = _ttl_ms(expires_at, self._clock())
        value = json.dumps({"u": username, "e": expires_at})
        async with self._guard():
            if ttl is not None and ttl <= 0:
                await self._redis.delete(self._owner_key(digest))
            else:
                await self._redis.set(self._owner_key(digest), value, px=ttl)

    async def token_owner(self, digest: str, now: float) -> str | None:
        async with self._guard():
            value = await self._redis.get(self._owner_key(digest))
        if value is None:
            return None
        owner = json.loads(value)
        return str(owner["u"]) if float(owner["e"]) > now else None

    # -- life cycle ------------------------------------------------------------------------------

    async def init(self) -> None:
        """Check that Redis answers and load the scripts."""
        async with self._guard():
            await _SWAP_SCRIPT.load(self._redis)
            await _ADD_EVENTS_SCRIPT.load(self._redis)

    async def ping(self) -> None:
        async with self._guard():
            await self._redis.ping()

    async def close(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._redis.aclose()
