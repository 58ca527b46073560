"""Redis for the tests: a fresh key prefix per test on the machine's Redis, and private servers.

:func:`store_url` uses ``COGNITO_GATE_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``);
when the default Redis is not running it starts one (``redis-server``, no persistence), and
otherwise fails saying what is missing. Each URL carries its own ``?prefix=``, and every key under
it is deleted afterwards. :func:`private_server` runs a ``redis-server`` of the test's own on a
free port, which the test may kill and start again (outage tests); ``persistent=True`` gives it an
append-only file synced on every write, so that what it acknowledged survives even a SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"
READY_SECONDS = 10.0
_NO_PERSISTENCE = ["--save", "", "--appendonly", "no"]
_EVERY_WRITE_DURABLE = ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]
_checked: set[str] = set()


def base_url() -> str:
    """The Redis the tests share."""
    return os.environ.get("COGNITO_GATE_TEST_REDIS_URL", DEFAULT_URL)


def answers(url: str) -> bool:
    """True when a Redis at ``url`` answers PING."""
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def wait_until_ready(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait for PING to answer, or fail the test."""
    deadline = time.monotonic() + READY_SECONDS
    while not answers(url):
        if process is not None and process.poll() is not None:
            pytest.fail(f"redis-server for {url} exited with status {process.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(f"Redis at {url} did not answer within {READY_SECONDS:.0f} s")
        time.sleep(0.05)


def ensure_running(url: str) -> None:
    """Make sure the shared Redis answers: start the default one if needed, else fail."""
    if url in _checked or answers(url):
        _checked.add(url)
        return
    if url != DEFAULT_URL:
        pytest.fail(f"Redis at COGNITO_GATE_TEST_REDIS_URL={url} does not answer")
    if shutil.which("redis-server") is None:
        pytest.fail("Redis is not running on 127.0.0.1:6379 and redis-server is not installed")
    subprocess.run(
        [
            "redis-server",
            "--port",
            "6379",
            "--bind",
            "127.0.0.1",
            *_NO_PERSISTENCE,
            "--daemonize",
            "yes",
        ],
        check=True,
        capture_output=True,
    )
    wait_until_ready(url)
    _checked.add(url)


def with_prefix(url: str, prefix: str) -> str:
    """``url`` with the store option ``?prefix=``."""
    return f"{url}{'&' if '?' in url else '?'}prefix={prefix}"


def delete_prefix(url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (``prefix:*``)."""
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        literal = "".join("\\" + c if c in "\\*?[]" else c for c in prefix)
        batch = list(client.scan_iter(match=f"{literal}:*", count=1000))
        for start in range(0, len(batch), 500):
            client.delete(*batch[start : start + 500])
    finally:
        client.close()


def split_prefix(url: str) -> tuple[str, str]:
    """(the Redis URL without the store's ``prefix`` option, that prefix) of a store URL."""
    parts = urlsplit(url)
    options = parse_qsl(parts.query, keep_blank_values=True)
    prefix = dict(options).get("prefix", "cognito-gate")
    rest = urlencode([(name, value) for name, value in options if name != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def raw_client(url: str) -> redis.Redis:
    """A plain synchronous client on the Redis of a store URL (to look behind the store)."""
    return redis.Redis.from_url(split_prefix(url)[0], decode_responses=True, socket_timeout=5)


@contextlib.contextmanager
def store_url() -> Iterator[str]:
    """A redis URL no other test uses; everything under it is removed afterwards."""
    url = base_url()
    ensure_running(url)
    prefix = f"cg-test-{uuid.uuid4().hex}"
    try:
        yield with_prefix(url, prefix)
    finally:
        delete_prefix(url, prefix)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateServer:
    """A redis-server of one test's own, on a fixed port, that can be killed and started again."""

    def __init__(
        self, directory: Path, password: str | None = None, persistent: bool = False
    ) -> None:
        self.directory = directory
        self.port = free_port()
        self.password = password
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or start again) on the same port, and wait until it answers."""
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += _EVERY_WRITE_DURABLE if self.persistent else _NO_PERSISTENCE
        args += ["--dir", str(self.directory)]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.directory
        )
        wait_until_ready(self.url, self.process)

    def kill(self) -> None:
        """SIGKILL: the server vanishes without a word, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the port accepts connections but nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def private_server(
    password: str | None = None, persistent: bool = False
) -> Iterator[PrivateServer]:
    """A running private redis-server in a temporary directory; killed afterwards."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="cg-redis-") as directory:
        server = PrivateServer(Path(directory), password, persistent)
        try:
            server.start()
            yield server
        finally:
            if server.process is not None and server.process.poll() is None:
                server.resume()
            server.kill()
