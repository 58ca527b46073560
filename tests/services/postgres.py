"""PostgreSQL for the tests: a fresh schema per test, and a TCP proxy to simulate outages.

The server is the machine's (``COGNITO_GATE_TEST_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``). When it does not answer and it is the local
default, its Debian cluster is started (``pg_ctlcluster``); otherwise the test fails saying what is
missing. Each :func:`store_url` is that URL plus ``?schema=cg_test_<random>``, a schema the store
creates on first use and that is dropped (CASCADE) afterwards.

:class:`TcpProxy` listens on a free loopback port in front of the server, in its own thread:
``stop()`` closes the port and cuts every connection (an outage), ``start()`` listens on the same
port again, ``freeze()`` keeps connections open but stops relaying bytes (a server that hangs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

T = TypeVar("T")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
_server_checked = False


def server_url() -> str:
    """The tests' PostgreSQL server (no schema option)."""
    return os.environ.get("COGNITO_GATE_TEST_POSTGRES_URL", DEFAULT_URL)


def with_query(url: str, **options: str) -> str:
    """``url`` with ``name=value`` options appended to its query."""
    parts = urlsplit(url)
    extra = "&".join(f"{name}={value}" for name, value in options.items())
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def with_address(url: str, host: str, port: int) -> str:
    """``url`` pointing at ``host:port`` (user, password, database and options kept)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect(url: str | None = None) -> psycopg.Connection[Any]:
    """A plain autocommit connection to the tests' server, for setting up and checking."""
    return psycopg.connect(url or server_url(), autocommit=True, connect_timeout=3)


def _answers(url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        connect(url).close()
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0]
    return None


def _start_local_cluster() -> str:
    """Start the machine's Debian PostgreSQL cluster; what happened, for the failure message."""
    versions = (
        sorted(p.name for p in Path("/etc/postgresql").glob("*"))
        if Path("/etc/postgresql").is_dir()
        else []
    )
    if not versions:
        return "no cluster in /etc/postgresql (apt-get install postgresql)"
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{' '.join(command)} failed: {exc}"
    return f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[:300]}"


def ensure_server() -> None:
    """Make sure the tests' server answers (starting the local one if need be), else fail."""
    global _server_checked
    if _server_checked:
        return
    url = server_url()
    why = _answers(url)
    if why is not None and (urlsplit(url).hostname or "") in _LOCAL_HOSTS:
        started = _start_local_cluster()
        deadline = time.monotonic() + 30
        while (why := _answers(url)) is not None and time.monotonic() < deadline:
            time.sleep(0.5)
        why = None if why is None else f"{why}; tried: {started}"
    if why is not None:
        pytest.fail(
            f"PostgreSQL is needed at {url} (set COGNITO_GATE_TEST_POSTGRES_URL to use another"
            f" server): {why}",
            pytrace=False,
        )
    _server_checked = True


def drop_schema(name: str) -> None:
    with connect() as conn:
        conn.execute(
            psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(name))
        )


@contextlib.contextmanager
def store_url() -> Iterator[str]:
    """A postgres URL no other test uses; everything under it is removed afterwards."""
    ensure_server()
    schema = f"cg_test_{uuid.uuid4().hex[:12]}"
    try:
        yield with_query(server_url(), schema=schema)
    finally:
        drop_schema(schema)


# -- outages ---------------------------------------------------------------------------------------


class TcpProxy:
    """A TCP relay on a free loopback port to ``host:port``, run by its own thread's event loop."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-proxy", daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._call(self._set_flowing(True))

    @classmethod
    @contextlib.contextmanager
    def before(cls, url: str) -> Iterator[tuple[TcpProxy, str]]:
        """A started proxy in front of the server of ``url``, and ``url`` through it."""
        parts = urlsplit(url)
        proxy = cls(parts.hostname or "127.0.0.1", parts.port or 5432)
        try:
            proxy.start()
            yield proxy, with_address(url, "127.0.0.1", proxy.port)
        finally:
            proxy.close()

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(10)

    def start(self) -> None:
        """Listen (on the same port as before, if started before) and relay."""
        self._call(self._start())

    def stop(self) -> None:
        """Close the port and cut every relayed connection."""
        self._call(self._stop())

    def freeze(self) -> None:
        """Keep connections open but relay nothing: the server seems to hang."""
        self._call(self._set_flowing(False))

    def thaw(self) -> None:
        self._call(self._set_flowing(True))

    def close(self) -> None:
        self.stop()
        self._call(self._cancel_relays())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _set_flowing(self, flowing: bool) -> None:
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()
        self._flowing.set()  # let frozen relays notice their connections are gone
        if server is not None:
            await server.wait_closed()

    async def _cancel_relays(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._links.update((writer, up_writer))
        await asyncio.gather(self._relay(reader, up_writer), self._relay(up_reader, writer))

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                if writer.transport.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self._links.discard(writer)
            writer.transport.abort()
