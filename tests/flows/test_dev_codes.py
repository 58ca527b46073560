"""On the embedded default the codes are where a developer can read them: the server log and
``GET /dev/codes``; with a pool configured, that route does not exist."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from cognito_gate.config import load_settings
from cognito_gate.runtime import Runtime, build_runtime, summary
from cognito_gate.server.app import create_app
from tests.flows.conftest import post
from tests.server.conftest import Api

pytestmark = pytest.mark.anyio


@pytest.fixture
async def embedded() -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime = build_runtime(load_settings(store="memory://"))
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gate.test") as client:
        yield runtime, client
    await runtime.close()


async def test_sign_up_and_reset_codes_are_listed_at_dev_codes(
    embedded: tuple[Runtime, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    runtime, client = embedded
    caplog.set_level("INFO", logger="cognito_gate.cognito.local")
    body = {"username": "hana", "password": "Hana-passw0rd!", "attributes": {"email": "h@x.org"}}
    assert (await client.post("/auth/signup", json=body)).status_code == 201

    listed = await client.get("/dev/codes", params={"username": "HANA"})
    assert listed.status_code == 200
    [sent] = listed.json()["codes"]
    assert sent["username"] == "hana"
    assert sent["purpose"] == "signup"
    assert sent["destination"] == "h***@x***"
    assert f"sign-up code for hana (email h***@x***): {sent['code']}" in caplog.text

    confirm = {"username": "hana", "code": sent["code"]}
    assert (await client.post("/auth/confirm-signup", json=confirm)).status_code == 204
    assert (
        await client.post("/auth/forgot-password", json={"username": "hana"})
    ).status_code == 202
    newest = (await client.get("/dev/codes")).json()["codes"][0]
    assert newest["purpose"] == "reset"
    reset = {"username": "hana", "code": newest["code"], "newPassword": "Hana-passw0rd!2"}
    assert (await client.post("/auth/confirm-forgot-password", json=reset)).status_code == 204
    login = {"username": "hana", "password": "Hana-passw0rd!2"}
    assert (await client.post("/auth/login", json=login)).status_code == 200
    assert any("/dev/codes" in line for line in summary(runtime))


async def test_only_the_gates_own_pool_is_listed(
    embedded: tuple[Runtime, httpx.AsyncClient], api_factory: Callable[..., Api]
) -> None:
    _, client = embedded
    other = api_factory()  # another pool on another emulator server, same process
    body = {"username": "ivan", "password": "Ivan-passw0rd!", "attributes": {"email": "i@x.org"}}
    assert (await post(other, "/auth/signup", body)).status_code == 201
    listed = (await client.get("/dev/codes", params={"username": "ivan"})).json()
    assert listed == {"codes": []}


async def test_a_configured_pool_has_no_dev_codes(api_factory: Callable[..., Api]) -> None:
    answer = await api_factory().client().get("/dev/codes")
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"
