"""The Python client on pools that remember devices ("Always" and "User opt-in"), through a live
gateway whose every request body is kept: the client stores the device the gateway confirmed
under Amplify's keys, refreshes with its key (straight at the emulator, through ``/cognito/``
and through ``/auth/refresh``), fails to refresh without it, and at a later login proves the
device with SRP itself, the device password never reaching the gateway."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cognito_gate.client import FileStorage, MemoryStorage, RefreshFailed, current_user, login
from cognito_gate.client.login import alogin
from cognito_gate.cognito.jwt import unverified_claims
from cognito_gate.cognito.local import (
    Emulator,
    LocalPool,
    create_user,
    emulator_client,
    provision_pool,
)
from cognito_gate.cognito.local_devices import DEVICES
from tests.capture import CapturedGateway, captured_gateway
from tests.client.conftest import RefreshCounter

PASSWORD = "Demo-passw0rd!"
MODES = ["always", "opt-in"]
ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "web" / "node_modules"


@pytest.fixture(params=MODES)
def remembering(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[CapturedGateway]:
    pool = provision_pool(emulator.endpoint, remember_devices=request.param)
    with captured_gateway(pool) as gateway:
        yield gateway


@pytest.fixture
def always(emulator: Emulator) -> Iterator[CapturedGateway]:
    with captured_gateway(provision_pool(emulator.endpoint, remember_devices="always")) as gateway:
        yield gateway


def keys(pool: LocalPool, username: str = "demo") -> dict[str, str]:
    prefix = f"CognitoIdentityServiceProvider.{pool.client_id}.{username}"
    return {
        "deviceKey": f"{prefix}.deviceKey",
        "deviceGroupKey": f"{prefix}.deviceGroupKey",
        "randomPasswordKey": f"{prefix}.randomPasswordKey",
    }


def stored_device(storage: Any, pool: LocalPool, username: str = "demo") -> dict[str, str | None]:
    data = storage.snapshot()
    return {name: data.get(key) for name, key in keys(pool, username).items()}


def opt_in(gateway: CapturedGateway) -> bool:
    return gateway.gate.device_mode == "opt-in"


def test_login_stores_the_device_and_refresh_sends_its_key(
    remembering: CapturedGateway, refresh_counter: RefreshCounter
) -> None:
    gateway, pool = remembering, remembering.pool
    storage = MemoryStorage()
    user = login(gateway.url, "demo", PASSWORD, storage=storage)
    device = stored_device(storage, pool)
    assert all(device.values()), device
    registered = DEVICES.find(pool.user_pool_id, str(device["deviceKey"]), "demo")
    assert registered is not None
    assert registered.confirmed
    assert registered.remembered is not opt_in(gateway)

    # Straight at the emulator (REFRESH_TOKEN_AUTH with DEVICE_KEY, as amazon-cognito-identity-js).
    refreshed = user.refresh_session()
    assert unverified_claims(refreshed.access_token.jwt_token)["device_key"] == device["deviceKey"]
    assert refresh_counter.calls[-1]["body"]["AuthParameters"]["DEVICE_KEY"] == device["deviceKey"]

    # Through the gateway's /cognito/, as Amplify configured with it refreshes.
    proxied = current_user(storage, endpoint=f"{gateway.url}/cognito/")
    assert proxied.refresh_session().access_token.jwt_token
    sent = json.loads(gateway.capture.bodies("/cognito/")[-1])
    assert sent["AuthParameters"]["DEVICE_KEY"] == device["deviceKey"]

    # Through the gateway's /auth/refresh.
    via_gateway = current_user(storage, refresh_via="gateway")
    assert via_gateway.refresh_session().access_token.jwt_token
    assert (
        json.loads(gateway.capture.bodies("/auth/refresh")[-1])["deviceKey"] == device["deviceKey"]
    )

    # Without the device's key the refresh is refused (so these tests can fail).
    storage.remove_item(keys(pool)["deviceKey"])
    with pytest.raises(RefreshFailed):
        current_user(storage).refresh_session()


def test_a_later_login_proves_the_device_without_sending_its_password(
    remembering: CapturedGateway,
) -> None:
    gateway, pool = remembering, remembering.pool
    storage = MemoryStorage()
    first = login(gateway.url, "demo", PASSWORD, storage=storage, remember_device=True)
    device = stored_device(storage, pool)
    password = str(device["randomPasswordKey"])
    first.sign_out()
    assert stored_device(storage, pool) == device  # signing out keeps the device, as Amplify does

    user = login(gateway.url, "demo", PASSWORD, storage=storage, remember_device=True)
    session = user.get_session()
    assert unverified_claims(session.access_token.jwt_token)["device_key"] == device["deviceKey"]
    assert stored_device(storage, pool) == device  # the same device, no new one

    logins = [json.loads(b) for b in gateway.capture.bodies("/auth/login")]
    assert "deviceKey" not in logins[0]
    assert logins[1]["deviceKey"] == device["deviceKey"]
    steps = [json.loads(b) for b in gateway.capture.bodies("/auth/challenge")]
    assert [s["challengeName"] for s in steps] == ["DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"]
    assert set(steps[0]["responses"]) == {"USERNAME", "DEVICE_KEY", "SRP_A"}
    assert set(steps[1]["responses"]) == {
        "USERNAME",
        "DEVICE_KEY",
        "TIMESTAMP",
        "PASSWORD_CLAIM_SECRET_BLOCK",
        "PASSWORD_CLAIM_SIGNATURE",
    }
    assert not gateway.capture.saw(password)
    assert len(DEVICES.of_user(pool.user_pool_id, "demo")) == 1


def test_an_opt_in_device_not_remembered_signs_in_without_the_challenge(
    emulator: Emulator,
) -> None:
    with captured_gateway(provision_pool(emulator.endpoint, remember_devices="opt-in")) as gateway:
        storage = MemoryStorage()
        login(gateway.url, "demo", PASSWORD, storage=storage)
        device = stored_device(storage, gateway.pool)
        user = login(gateway.url, "demo", PASSWORD, storage=storage)
        assert gateway.capture.bodies("/auth/challenge") == []
        assert (
            json.loads(gateway.capture.bodies("/auth/login")[-1])["deviceKey"]
            == device["deviceKey"]
        )
        assert stored_device(storage, gateway.pool) == device
        assert user.refresh_session().access_token.jwt_token


def test_a_device_cognito_forgot_is_replaced(always: CapturedGateway) -> None:
    storage = MemoryStorage()
    login(always.url, "demo", PASSWORD, storage=storage)
    old = stored_device(storage, always.pool)
    emulator_client(always.pool.endpoint).admin_forget_device(
        UserPoolId=always.pool.user_pool_id, Username="demo", DeviceKey=old["deviceKey"]
    )
    user = login(always.url, "demo", PASSWORD, storage=storage)
    new = stored_device(storage, always.pool)
    assert new["deviceKey"] not in (None, old["deviceKey"])
    assert user.refresh_session().access_token.jwt_token


def test_a_device_whose_proof_is_refused_is_dropped_and_the_login_made_again(
    always: CapturedGateway,
) -> None:
    storage = MemoryStorage()
    login(always.url, "demo", PASSWORD, storage=storage)
    old = stored_device(storage, always.pool)
    storage.set_item(keys(always.pool)["randomPasswordKey"], "a-stale-device-password")

    user = login(always.url, "demo", PASSWORD, storage=storage)
    new = stored_device(storage, always.pool)
    assert new["deviceKey"] not in (None, old["deviceKey"])
    assert user.refresh_session().access_token.jwt_token
    logins = [json.loads(b) for b in always.capture.bodies("/auth/login")]
    assert ["deviceKey" in b for b in logins] == [False, True, False]


def test_a_login_by_email_finds_the_device_filed_under_the_username(emulator: Emulator) -> None:
    pool = provision_pool(
        emulator.endpoint,
        remember_devices="always",
        username_attributes=["email"],
        demo_username=None,
    )
    username = create_user(
        emulator_client(emulator.endpoint),
        pool.user_pool_id,
        "zed@example.com",
        PASSWORD,
        {"email": "zed@example.com", "email_verified": "true"},
    )
    with captured_gateway(pool) as gateway:
        storage = MemoryStorage()
        login(gateway.url, "zed@example.com", PASSWORD, storage=storage)
        device = stored_device(storage, pool, username)
        assert all(device.values())
        user = login(gateway.url, "zed@example.com", PASSWORD, storage=storage)
        assert [
            json.loads(b)["challengeName"] for b in gateway.capture.bodies("/auth/challenge")
        ] == [
            "DEVICE_SRP_AUTH",
            "DEVICE_PASSWORD_VERIFIER",
        ]
        assert user.username == username
        assert stored_device(storage, pool, username) == device


def test_the_asyncio_login_does_the_same(always: CapturedGateway) -> None:
    storage = MemoryStorage()

    async def twice() -> None:
        await alogin(always.url, "demo", PASSWORD, storage=storage)
        await alogin(always.url, "demo", PASSWORD, storage=storage)

    asyncio.run(twice())
    assert len(always.capture.bodies("/auth/challenge")) == 2
    assert len(DEVICES.of_user(always.pool.user_pool_id, "demo")) == 1


@pytest.mark.node
def test_amazon_cognito_identity_js_refreshes_with_the_device_python_stored(
    always: CapturedGateway, refresh_counter: RefreshCounter, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "amazon-cognito-identity-js").is_dir():
        pytest.skip("node or web/node_modules is missing (make test installs them)")
    path = tmp_path / "session.json"
    login(always.url, "demo", PASSWORD, storage=FileStorage(path))
    pool = always.pool
    proc = subprocess.run(
        [
            node,
            str(ROOT / "tests" / "client" / "js" / "read_session.js"),
            str(path),
            pool.user_pool_id,
            pool.client_id,
            pool.endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["refreshed"]["valid"] is True
    device_key = json.loads(path.read_text())[keys(pool)["deviceKey"]]
    assert refresh_counter.calls[-1]["body"]["AuthParameters"]["DEVICE_KEY"] == device_key
