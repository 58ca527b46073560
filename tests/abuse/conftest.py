"""Attacks on a real ``cognito-gate serve`` process, from chosen loopback addresses.

Linux answers on all of 127.0.0.0/8, so a client socket bound to 127.0.0.66 reaches a gateway on
127.0.0.1 as peer 127.0.0.66: attacker and victim have addresses of their own without any proxy
header (the gateway trusts none). The emulator runs in this process, so the password checks that
reach it are counted where it serves them (``cognito_checks``, from tests/replicas).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from cognito_gate.cognito.local import LocalPool
from tests.replicas.conftest import account_status as status  # noqa: F401 (shared)
from tests.replicas.conftest import cognito_checks  # noqa: F401 (the fixture, shared)

ATTACKER = "127.0.0.66"
VICTIM = "127.0.0.7"


def seed_accounts(pool: LocalPool, accounts: Iterable[tuple[str, str]]) -> None:
    """Confirmed users (name, password) in ``pool``, made straight in the emulator's backend
    (this process's moto): 500 of them take a quarter of a second, not three over HTTP."""
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    backend = cognitoidp_backends[DEFAULT_ACCOUNT_ID][pool.region]
    for name, password in accounts:
        backend.admin_create_user(pool.user_pool_id, name, "SUPPRESS", None, [])
        backend.admin_set_user_password(pool.user_pool_id, name, password, True)


def client_from(address: str, connections: int = 20) -> httpx.AsyncClient:
    """An HTTP client whose connections leave from ``address`` (a loopback address)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    transport = httpx.AsyncHTTPTransport(local_address=address, limits=limits)
    return httpx.AsyncClient(transport=transport, timeout=30)


@dataclass
class Replies:
    """(status, error code, username) of each login, in send order."""

    replies: list[tuple[int, str | None, str]] = field(default_factory=list)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(code for code, _, _ in self.replies)

    @property
    def codes(self) -> Counter[str | None]:
        return Counter(code for _, code, _ in self.replies)


async def logins(
    url: str, address: str, attempts: list[tuple[str, str]], concurrency: int
) -> Replies:
    """``attempts`` (username, password) from ``address``, ``concurrency`` in flight."""
    replies: list[tuple[int, str | None, str]] = [(0, None, "")] * len(attempts)
    gate = asyncio.Semaphore(concurrency)
    async with client_from(address, concurrency) as client:

        async def one(i: int, username: str, password: str) -> None:
            async with gate:
                answer = await client.post(
                    f"{url}/auth/login", json={"username": username, "password": password}
                )
            code = answer.json().get("error") if answer.status_code >= 400 else None
            replies[i] = (answer.status_code, code, username)

        await asyncio.gather(*(one(i, u, p) for i, (u, p) in enumerate(attempts)))
    return Replies(replies)
