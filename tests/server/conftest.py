"""Driving the gateway over HTTP in-process (httpx + ASGI) in front of the emulator over HTTP."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from cognito_gate.cognito.local import LocalPool
from cognito_gate.gate import Gate
from cognito_gate.server.app import create_app
from tests.conftest import ADMIN_TOKEN, FakeClock, make_gate

PASSWORD = "Demo-passw0rd!"
ATTACKER = "203.0.113.66"
USER_IP = "198.51.100.7"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Api:
    """The gateway's HTTP API, called from a chosen client address."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.app = create_app(gate=gate)
        self._clients: dict[str, httpx.AsyncClient] = {}

    def client(self, ip: str = USER_IP) -> httpx.AsyncClient:
        if ip not in self._clients:
            transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
            self._clients[ip] = httpx.AsyncClient(transport=transport, base_url="http://gate.test")
        return self._clients[ip]

    async def login(self, username: str, password: str, ip: str = USER_IP) -> httpx.Response:
        return await self.client(ip).post(
            "/auth/login", json={"username": username, "password": password}
        )

    async def admin(self, method: str, path: str, token: str = ADMIN_TOKEN) -> httpx.Response:
        return await self.client().request(
            method, path, headers={"Authorization": f"Bearer {token}"}
        )

    async def status(self, username: str) -> dict[str, Any] | None:
        response = await self.admin("GET", f"/admin/accounts/{username}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()


@pytest.fixture
async def api_factory(pool: LocalPool) -> AsyncIterator[Callable[..., Api]]:
    """``api_factory(clock=None, pool=None, **settings) -> Api`` over a fresh gate."""
    made: list[Api] = []

    def make(
        clock: FakeClock | None = None, target: LocalPool | None = None, **settings: Any
    ) -> Api:
        api = Api(make_gate(target or pool, clock, **settings))
        made.append(api)
        return api

    yield make
    for api in made:
        await api.close()
        await api.gate.close()


class CheckCounter:
    """Counts the password checks that reach the emulator (AdminInitiateAuth calls it serves)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def hit(self) -> None:
        with self._lock:
            self.count += 1


@pytest.fixture
def cognito_checks(monkeypatch: pytest.MonkeyPatch) -> CheckCounter:
    """Wrap the emulator's AdminInitiateAuth handler to count the calls that reach it."""
    from moto.cognitoidp.models import CognitoIdpBackend

    counter = CheckCounter()
    original: Callable[..., Any] = CognitoIdpBackend.admin_initiate_auth

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter.hit()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CognitoIdpBackend, "admin_initiate_auth", counted)
    return counter
