"""Shared fixtures: the Cognito emulator over HTTP, fresh pools, and a fake clock; and the check
that no secret reaches any log of the run (tests/leaks.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from cognito_gate.cognito.local import EMULATOR_CREDENTIALS, Emulator, LocalPool, provision_pool
from cognito_gate.config import Settings, load_settings
from cognito_gate.gate import Gate
from tests import leaks


class FakeClock:
    """A clock the test moves by hand: call it for 'now' (epoch seconds), ``advance`` to move."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One moto server for the whole run; each test gets its own pool on it."""
    emu = Emulator()
    emu.start()
    yield emu
    emu.stop()


def provisioned(endpoint: str, **options: Any) -> LocalPool:
    """:func:`provision_pool`, its client secret (if any) registered with the leak check."""
    made = provision_pool(endpoint, **options)
    leaks.register_secret(made.client_secret, "a pool's client secret")
    return made


@pytest.fixture
def pool(emulator: Emulator) -> LocalPool:
    """A fresh case-insensitive pool, a safe client without secret, and user demo."""
    return provisioned(emulator.endpoint)


@pytest.fixture
def secret_pool(emulator: Emulator) -> LocalPool:
    """Like ``pool``, but the app client has a secret."""
    return provisioned(emulator.endpoint, with_secret=True)


# -- the gateway -----------------------------------------------------------------------------------

ADMIN_TOKEN = "test-admin-token-0123456789"
leaks.register_secret(ADMIN_TOKEN, "the admin token")


def gate_settings(pool: LocalPool, **overrides: Any) -> Settings:
    """Settings for a gate in front of ``pool`` on the emulator (memory store by default)."""
    values: dict[str, Any] = {
        "user_pool_id": pool.user_pool_id,
        "client_id": pool.client_id,
        "client_secret": pool.client_secret,
        "cognito_endpoint": pool.endpoint,
        "region": pool.region,
        "store": "memory://",
        "admin_token": ADMIN_TOKEN,
    }
    values.update(overrides)
    return load_settings(**values)


def make_gate(pool: LocalPool, clock: Callable[[], float] | None = None, **overrides: Any) -> Gate:
    """A Gate in front of ``pool``, with an injected clock when given."""
    settings = gate_settings(pool, **overrides)
    kwargs: dict[str, Any] = {"credentials": EMULATOR_CREDENTIALS}
    if clock is not None:
        kwargs["clock"] = clock
    return Gate.from_settings(settings, **kwargs)


@dataclass
class LiveGateway:
    """A gateway served by uvicorn on a free loopback port, in a thread."""

    url: str
    gate: Gate
    pool: LocalPool
    admin_token: str = ADMIN_TOKEN

    @property
    def settings(self) -> Settings:
        return self.gate.settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def gateway_factory(emulator: Emulator) -> Iterator[Callable[..., LiveGateway]]:
    """``gateway_factory(pool=None, clock=None, **settings) -> LiveGateway`` (stopped at teardown)."""
    from cognito_gate.server.app import create_app

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def make(
        pool: LocalPool | None = None, clock: Callable[[], float] | None = None, **overrides: Any
    ) -> LiveGateway:
        pool = pool or provisioned(emulator.endpoint)
        gate = make_gate(pool, clock, **overrides)
        port = _free_port()
        config = uvicorn.Config(
            create_app(gate=gate), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        servers.append((server, thread))
        return LiveGateway(url=f"http://127.0.0.1:{port}", gate=gate, pool=pool)

    yield make
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def gateway(gateway_factory: Callable[..., LiveGateway], pool: LocalPool) -> LiveGateway:
    """A live gateway in front of ``pool`` with the default policy and a memory store."""
    return gateway_factory(pool)


# -- no secret in any log of the run (tests/leaks.py) ----------------------------------------------

_LEAKS = pytest.StashKey[list[leaks.Leak]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    leaks.install()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    found = leaks.WATCH.finish(leaks.emulator_secrets())
    leaks.uninstall()
    session.config.stash[_LEAKS] = found
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    found = config.stash.get(_LEAKS, None)
    if found is None:
        return
    watch = leaks.WATCH
    if found:
        terminalreporter.section("secrets in the logs", sep="=", red=True, bold=True)
        for line in leaks.report(found):
            terminalreporter.write_line(line)
    else:
        terminalreporter.write_line(
            f"leak check: {watch.records} log records of {', '.join(leaks.SCANNED)} and"
            f" {watch.outputs} serve outputs scanned; no password, JWT or secret found"
        )
