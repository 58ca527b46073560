"""Failing closed: a store or Cognito that cannot be reached is a 503, never a login let through,
and never a failure counted against the user."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from cognito_gate.cognito.idp import CognitoIdp
from cognito_gate.cognito.local import EMULATOR_CREDENTIALS, LocalPool
from tests.conftest import FakeClock
from tests.server.conftest import PASSWORD, Api, CheckCounter

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket closes


async def test_an_unreachable_store_refuses_logins_without_asking_cognito(
    api_factory: ApiFactory, clock: FakeClock, cognito_checks: CheckCounter, tmp_path: Path
) -> None:
    db = tmp_path / "state" / "gate.db"
    api = api_factory(clock, store=f"sqlite:///{db}")
    assert (await api.login("demo", "wrong")).status_code == 401
    checks = cognito_checks.count
    # The store goes away: its folder becomes a file, so SQLite cannot open it again.
    await api.gate.store.close()
    for path in db.parent.iterdir():
        path.unlink()
    db.parent.rmdir()
    db.parent.write_text("not a folder")
    for password in ("wrong", PASSWORD):
        answer = await api.login("demo", password)
        assert answer.status_code == 503
        assert answer.json() == {
            "error": "unavailable",
            "message": "The lockout store is unavailable.",
        }
        assert "idToken" not in answer.text
    assert cognito_checks.count == checks
    ready = await api.client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"] == "unavailable"


async def test_a_recorded_failure_survives_a_store_outage(
    api_factory: ApiFactory, clock: FakeClock, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/gate.db"
    api = api_factory(clock, store=url)
    for _ in range(3):
        await api.login("demo", "wrong")
    await api.gate.store.close()  # the connection drops; the file keeps what was recorded
    again = api_factory(clock, store=url)
    status = await again.status("demo")
    assert status is not None
    assert status["failures"] == 3


async def test_an_unreachable_cognito_is_503_and_not_the_users_failure(
    api_factory: ApiFactory, clock: FakeClock, pool: LocalPool, caplog: pytest.LogCaptureFixture
) -> None:
    api = api_factory(clock)
    assert (await api.login("demo", "wrong")).status_code == 401  # the gate reads the pool
    # Cognito goes away: the same pool and client, at an address where nothing listens.
    api.gate.idp = CognitoIdp(
        user_pool_id=pool.user_pool_id,
        client_id=pool.client_id,
        region=pool.region,
        endpoint=f"http://127.0.0.1:{closed_port()}",
        credentials=EMULATOR_CREDENTIALS,
    )
    caplog.set_level(logging.WARNING)
    for _ in range(10):
        answer = await api.login("demo", PASSWORD)
        assert answer.status_code == 503
        assert answer.json()["error"] == "unavailable"
    status = await api.status("demo")
    assert status is not None
    assert status["failures"] == 1  # only the real wrong password
    assert status["lockedUntil"] is None
    assert "EndpointConnectionError" in caplog.text
    ready = await api.client().get("/readyz")
    assert ready.status_code == 503


async def test_cognito_throttling_is_503_and_not_the_users_failure(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    from botocore.stub import Stubber

    api = api_factory(clock)
    await api.gate.start()
    with Stubber(api.gate.idp.client) as stub:
        for _ in range(6):
            stub.add_client_error(
                "admin_initiate_auth",
                service_error_code="TooManyRequestsException",
                service_message="Too many requests",
                http_status_code=400,
            )
        for _ in range(6):
            answer = await api.login("demo", "wrong")
            assert answer.status_code == 503
    assert await api.status("demo") is None
    assert (await api.login("demo", PASSWORD)).status_code == 200
