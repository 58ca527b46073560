"""Real ``cognito-gate serve`` processes for the replica tests, and the emulator that counts them.

Every gateway here is its own operating-system process (``python -m cognito_gate.cli serve``) on
its own free loopback port, pointed at a pool of the session's emulator and at one shared store.
The emulator runs in the test process, so :class:`CheckCounter` (a wrapper around moto's
``AdminInitiateAuth``) counts every password check that reaches Cognito, from every gateway, and
can hold one check at Cognito for as long as a test wants (a gateway then holds a reservation).

Each gateway writes its output to a log file, quoted when it fails to become ready. Teardown stops
every gateway still running (SIGTERM; then SIGKILL for the gateway and any worker of it that
lingers).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from cognito_gate.cognito.local import EMULATOR_CREDENTIALS, Emulator, LocalPool
from tests import leaks
from tests.conftest import ADMIN_TOKEN
from tests.services import redis, store_url_for

#: The stores several processes can share.
SHARED_STORES = ["redis", "postgresql", "dynamodb", "sqlite"]
READY_SECONDS = 45.0
STOP_SECONDS = 15.0
PASSWORD = "Demo-passw0rd!"
WRONG = "Wrong-passw0rd!"
_HIDDEN_ENV = ("COGNITO_GATE_", "_COGNITO_GATE_", "AWS_")
LANE = 10  # connections per HTTP client of a burst


# -- stores -----------------------------------------------------------------------------------------


def shared_store_url(name: str, tmp_path: Path, emulator: Emulator) -> Any:
    """A fresh URL of shared store ``name`` (one no other test uses), cleaned up afterwards."""
    return store_url_for(name, tmp_path, emulator.endpoint)


# -- counting (and holding) the checks that reach the emulator ---------------------------------------


class CheckCounter:
    """The AdminInitiateAuth calls the emulator serves for one pool; one can be held."""

    def __init__(self, user_pool_id: str) -> None:
        self.user_pool_id = user_pool_id
        self.count = 0
        self.delay = 0.0  # seconds each check takes at the emulator (a slower Cognito)
        self._lock = threading.Lock()
        self._hold_next = False
        self.held = threading.Event()  # set once a held check has arrived
        self._release = threading.Event()

    def hit(self) -> bool:
        """Count one check; True when this one is to be held."""
        with self._lock:
            self.count += 1
            hold, self._hold_next = self._hold_next, False
            return hold

    def hold_next(self) -> None:
        """The next check waits at the emulator until :meth:`release`."""
        with self._lock:
            self._hold_next = True

    def wait_held(self, seconds: float = 15.0) -> None:
        assert self.held.wait(seconds), "no check reached the emulator"

    def release(self) -> None:
        self._release.set()

    def block(self) -> None:
        self.held.set()
        self._release.wait(60)


@pytest.fixture
def cognito_checks(monkeypatch: pytest.MonkeyPatch, pool: LocalPool) -> Iterator[CheckCounter]:
    """Count (in the test process, where the emulator runs) the password checks of ``pool``."""
    from moto.cognitoidp.models import CognitoIdpBackend

    counter = CheckCounter(pool.user_pool_id)
    original: Callable[..., Any] = CognitoIdpBackend.admin_initiate_auth

    def counted(self: Any, user_pool_id: str, *args: Any, **kwargs: Any) -> Any:
        if user_pool_id == counter.user_pool_id:
            if counter.hit():
                counter.block()
            time.sleep(counter.delay)
        return original(self, user_pool_id, *args, **kwargs)

    monkeypatch.setattr(CognitoIdpBackend, "admin_initiate_auth", counted)
    yield counter
    counter.release()  # never leave an emulator thread waiting


# -- gateway processes ------------------------------------------------------------------------------


def free_port() -> int:
    return redis.free_port()


@dataclass
class Gateway:
    """One ``cognito-gate serve`` process (with its workers, if any)."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def workers(self) -> list[int]:
        """The pids of its worker processes (``serve --workers N``), from /proc."""
        return [pid for pid, _ in self._workers()]

    def _workers(self) -> list[tuple[int, str]]:
        """(pid, start time) of each worker: a pid alone may be reused once the worker is gone."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            fields = _stat(int(entry.name))
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if fields and int(fields[1]) == self.pid and b"spawn_main" in cmdline:
                found.append((int(entry.name), fields[19]))
        return found

    def stop(self) -> None:
        """SIGTERM (a graceful stop); SIGKILL for whatever of it lingers, workers included."""
        if self.process.poll() is not None:
            return
        workers = self._workers()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_SECONDS)
        for pid, started in workers:  # a worker its parent failed to stop
            fields = _stat(pid)
            if fields and fields[19] == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown, no release of anything it holds."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(STOP_SECONDS)


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, ...), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def gateway_env(pool: LocalPool | None, store: str | None, **settings: Any) -> dict[str, str]:
    """The environment of a gateway: ``pool`` on the emulator (None: the embedded default),
    ``store``, the admin token, and ``COGNITO_GATE_{NAME}`` for each of ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_HIDDEN_ENV)}
    env["COGNITO_GATE_ADMIN_TOKEN"] = ADMIN_TOKEN
    if store is not None:
        env["COGNITO_GATE_STORE"] = store
    if pool is not None:
        env.update(
            COGNITO_GATE_USER_POOL_ID=pool.user_pool_id,
            COGNITO_GATE_CLIENT_ID=pool.client_id,
            COGNITO_GATE_COGNITO_ENDPOINT=pool.endpoint,
            COGNITO_GATE_REGION=pool.region,
            AWS_ACCESS_KEY_ID=EMULATOR_CREDENTIALS["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=EMULATOR_CREDENTIALS["aws_secret_access_key"],
        )
    for name, value in settings.items():
        env[f"COGNITO_GATE_{name.upper()}"] = str(value)
    return env


class Gateways:
    """Starts gateway processes and stops every one of them at teardown."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[Gateway] = []

    def start(
        self,
        count: int = 1,
        *,
        pool: LocalPool | None,
        store: str | None,
        args: tuple[str, ...] = (),
        **settings: Any,
    ) -> list[Gateway]:
        """``count`` gateways at once, each on its own free port; returns once all are ready."""
        env = gateway_env(pool, store, **settings)
        command = [sys.executable, "-m", "cognito_gate.cli", "serve", "--host", "127.0.0.1"]
        made = []
        for _ in range(count):
            port = free_port()
            log = self.directory / f"gateway-{port}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [*command, "--port", str(port), *args],
                    env=env,
                    cwd=self.directory,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            gateway = Gateway(f"http://127.0.0.1:{port}", process, log)
            self.started.append(gateway)
            made.append(gateway)
        for gateway in made:
            wait_ready(gateway)
        return made

    def stop_all(self) -> None:
        for gateway in self.started:
            gateway.stop()


def wait_ready(gateway: Gateway) -> None:
    """Poll ``/healthz`` until it answers 200; fail with the gateway's output otherwise."""
    deadline = time.monotonic() + READY_SECONDS
    with httpx.Client(timeout=2) as client:
        while True:
            if gateway.process.poll() is not None:
                pytest.fail(
                    f"gateway {gateway.url} exited with status {gateway.process.returncode}:\n"
                    + gateway.output()[-3000:]
                )
            with contextlib.suppress(httpx.HTTPError):
                if client.get(gateway.url + "/healthz").status_code == 200:
                    return
            if time.monotonic() > deadline:
                pytest.fail(
                    f"gateway {gateway.url} not ready within {READY_SECONDS:.0f} s:\n"
                    + gateway.output()[-3000:]
                )
            time.sleep(0.1)


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[Gateways]:
    launcher = Gateways(tmp_path)
    yield launcher
    launcher.stop_all()
    for gateway in launcher.started:
        leaks.scan_output(gateway.log, f"serve at {gateway.url}")


@pytest.fixture
def shared_store(
    request: pytest.FixtureRequest, tmp_path: Path, emulator: Emulator, gateways: Gateways
) -> Iterator[str]:
    """A fresh URL of the store named by the test's parameter (``indirect=True``); every gateway
    is stopped before the store is cleaned up."""
    with shared_store_url(request.param, tmp_path, emulator) as url:
        try:
            yield url
        finally:
            gateways.stop_all()


# -- load -------------------------------------------------------------------------------------------


@dataclass
class Answers:
    """What a burst of logins was answered: (status, error code) per request, in send order."""

    replies: list[tuple[int, str | None]] = field(default_factory=list)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(status for status, _ in self.replies)

    @property
    def codes(self) -> Counter[str | None]:
        return Counter(code for _, code in self.replies)


def error_code(response: httpx.Response) -> str | None:
    """The ``error`` of an error answer (None for a success)."""
    if response.status_code < 400:
        return None
    try:
        return str(response.json().get("error"))
    except ValueError:
        return f"not JSON: {response.text[:80]!r}"


async def _burst(
    urls: list[str], username: str, password: str, total: int, concurrency: int
) -> Answers:
    answers: list[tuple[int, str | None]] = [(0, None)] * total
    body = {"username": username, "password": password}
    # Many small clients rather than one large one: httpx's connection pool spends time in
    # proportion to its size on every request, and the client, not the gateways, would be slow.
    lanes = max(1, concurrency // LANE)
    per_lane = max(1, concurrency // lanes)
    limits = httpx.Limits(max_connections=per_lane, max_keepalive_connections=per_lane)

    async def lane(k: int) -> None:
        gate = asyncio.Semaphore(per_lane)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:

            async def one(i: int) -> None:
                async with gate:
                    response = await client.post(f"{urls[i % len(urls)]}/auth/login", json=body)
                    answers[i] = (response.status_code, error_code(response))

            await asyncio.gather(*(one(i) for i in range(k, total, lanes)))

    await asyncio.gather(*(lane(k) for k in range(lanes)))
    return Answers(answers)


def burst(
    urls: list[str], username: str, password: str, total: int = 1000, concurrency: int = 200
) -> Answers:
    """``total`` logins at once (``concurrency`` in flight), spread round-robin over ``urls``."""
    return asyncio.run(_burst(urls, username, password, total, concurrency))


def login(url: str, username: str, password: str) -> httpx.Response:
    """One login (on a new connection)."""
    with httpx.Client(timeout=30) as client:
        return client.post(f"{url}/auth/login", json={"username": username, "password": password})


def account_status(url: str, username: str) -> dict[str, Any] | None:
    """``GET /admin/accounts/{username}`` on a gateway (None: nothing recorded)."""
    response = httpx.get(
        f"{url}/admin/accounts/{username}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
