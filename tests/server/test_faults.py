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
    await api.gate.audit.flush()  # the audit log is written off the request path
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
    await api.gate.audit.flush()  # the audit log is written off the request path
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


async def test_cognitos_own_lockout_is_hidden_in_opaque_mode_and_not_counted(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    from botocore.stub import Stubber

    api = api_factory(clock, lockout_response="opaque")
    await api.gate.start()
    with Stubber(api.gate.idp.client) as stub:
        stub.add_client_error(
            "admin_initiate_auth",
            service_error_code="NotAuthorizedException",
            service_message="Password attempts exceeded",
            http_status_code=400,
        )
        answer = await api.login("demo", PASSWORD)
    assert answer.status_code == 401
    assert answer.json() == {
        "error": "invalid_credentials",
        "message": "Incorrect username or password.",
    }
    assert await api.status("demo") is None


async def test_a_secret_clients_refresh_token_of_unknown_owner_is_refused_plainly(
    api_factory: ApiFactory, secret_pool: LocalPool, caplog: pytest.LogCaptureFixture
) -> None:
    from cognito_gate.cognito.jwt import secret_hash
    from cognito_gate.cognito.local import emulator_client

    assert secret_pool.client_secret is not None
    direct = emulator_client(secret_pool.endpoint).admin_initiate_auth(
        UserPoolId=secret_pool.user_pool_id,
        ClientId=secret_pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": "demo",
            "PASSWORD": PASSWORD,
            "SECRET_HASH": secret_hash(secret_pool.client_secret, "demo", secret_pool.client_id),
        },
    )["AuthenticationResult"]
    api = api_factory(target=secret_pool)
    caplog.set_level(logging.INFO)
    answer = await api.client().post("/auth/refresh", json={"refreshToken": direct["RefreshToken"]})
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_refresh_token"
    assert "COGNITO_GATE_CLIENT_SECRET" not in caplog.text  # not blamed on the configuration
    # Given the user, as the tokens object names it, the gateway can compute the hash.
    named = await api.client().post(
        "/auth/refresh", json={"refreshToken": direct["RefreshToken"], "username": "demo"}
    )
    assert named.status_code == 200
