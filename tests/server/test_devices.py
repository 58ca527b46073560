"""Remembered devices through the gateway's HTTP API, in front of the emulator (which keeps devices
as Cognito does): the gateway confirms a new device for the client and hands it over once, a
refresh needs that device's key, a later login relays the device challenges (the client computing
the SRP steps), and a device Cognito no longer knows is dropped."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cognito_gate.cognito.device_srp import DeviceSrpClient
from cognito_gate.cognito.jwt import unverified_claims
from cognito_gate.cognito.local import Emulator, LocalPool, emulator_client, provision_pool
from cognito_gate.cognito.local_devices import DEVICES
from tests.server.conftest import PASSWORD, Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]
TARGET = "AWSCognitoIdentityProviderService."
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) cognito-gate-test"


@pytest.fixture
def always(emulator: Emulator) -> LocalPool:
    return provision_pool(emulator.endpoint, remember_devices="always")


@pytest.fixture
def opt_in(emulator: Emulator) -> LocalPool:
    return provision_pool(emulator.endpoint, remember_devices="opt-in")


async def login(api: Api, **extra: Any) -> httpx.Response:
    body = {"username": "demo", "password": PASSWORD, **extra}
    return await api.client().post("/auth/login", json=body, headers={"User-Agent": BROWSER})


async def challenge(api: Api, name: str, session: str, responses: dict[str, str]) -> httpx.Response:
    body = {"username": "demo", "challengeName": name, "session": session, "responses": responses}
    return await api.client().post("/auth/challenge", json=body)


async def proxy(api: Api, target: str, body: dict[str, object]) -> httpx.Response:
    return await api.client().post(
        "/cognito/",
        content=json.dumps(body),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + target},
    )


async def failures(api: Api) -> int:
    status = await api.status("demo")
    return 0 if status is None else int(status["failures"])


async def device_sign_in(
    api: Api, device: dict[str, Any], answer: httpx.Response
) -> httpx.Response:
    """What a client does with DEVICE_SRP_AUTH: both SRP steps computed here, relayed there."""
    assert answer.status_code == 200, answer.text
    assert answer.json()["challengeName"] == "DEVICE_SRP_AUTH"
    srp = DeviceSrpClient(device["deviceKey"], device["deviceGroupKey"], device["devicePassword"])
    key = device["deviceKey"]
    step = await challenge(
        api,
        "DEVICE_SRP_AUTH",
        answer.json()["session"],
        {"USERNAME": "demo", "DEVICE_KEY": key, "SRP_A": srp.start()},
    )
    assert step.status_code == 200, step.text
    assert step.json()["challengeName"] == "DEVICE_PASSWORD_VERIFIER"
    params = step.json()["challengeParameters"]
    claim = srp.claim(params["SRP_B"], params["SALT"], params["SECRET_BLOCK"])
    return await challenge(
        api,
        "DEVICE_PASSWORD_VERIFIER",
        step.json()["session"],
        {"USERNAME": "demo", "DEVICE_KEY": key, **claim},
    )


# -- a new device ----------------------------------------------------------------------------------


async def test_the_gateway_confirms_a_new_device_and_hands_it_over_once(
    api_factory: ApiFactory, always: LocalPool
) -> None:
    api = api_factory(target=always)
    answer = await login(api)
    assert answer.status_code == 200, answer.text
    device = answer.json()["newDevice"]
    assert set(device) == {"deviceKey", "deviceGroupKey", "devicePassword", "remembered"}
    assert device["remembered"] is True
    assert "forgetDevice" not in answer.json()
    assert unverified_claims(answer.json()["accessToken"])["device_key"] == device["deviceKey"]

    # Confirmed at Cognito with the client's name for it, and remembered (an "Always" pool).
    registered = DEVICES.find(always.user_pool_id, device["deviceKey"], "demo")
    assert registered is not None
    assert registered.confirmed
    assert registered.remembered
    assert registered.name == BROWSER
    listed = emulator_client(always.endpoint).admin_list_devices(
        UserPoolId=always.user_pool_id, Username="demo"
    )["Devices"]
    assert [d["DeviceKey"] for d in listed] == [device["deviceKey"]]

    # Each login without the device's key is a new device: nothing is reused or kept.
    again = (await login(api)).json()["newDevice"]
    assert again["deviceKey"] != device["deviceKey"]
    assert again["devicePassword"] != device["devicePassword"]


async def test_refresh_works_only_with_the_devices_key(
    api_factory: ApiFactory, always: LocalPool
) -> None:
    api = api_factory(target=always)
    tokens = (await login(api)).json()
    key, refresh = tokens["newDevice"]["deviceKey"], tokens["refreshToken"]

    withheld = await api.client().post("/auth/refresh", json={"refreshToken": refresh})
    assert withheld.status_code == 401
    assert withheld.json()["error"] == "invalid_refresh_token"
    sent = await api.client().post(
        "/auth/refresh", json={"refreshToken": refresh, "deviceKey": key}
    )
    assert sent.status_code == 200, sent.text
    assert unverified_claims(sent.json()["accessToken"])["device_key"] == key

    # /cognito/: what Amplify v5 (InitiateAuth, DEVICE_KEY; null when it has none) and v6
    # (GetTokensFromRefreshToken, DeviceKey) send.
    v5 = {"ClientId": always.client_id, "AuthFlow": "REFRESH_TOKEN_AUTH"}
    nulled = await proxy(
        api,
        "InitiateAuth",
        {**v5, "AuthParameters": {"REFRESH_TOKEN": refresh, "DEVICE_KEY": None}},
    )
    assert nulled.status_code == 400
    assert nulled.json()["__type"] == "NotAuthorizedException"
    ok = await proxy(
        api, "InitiateAuth", {**v5, "AuthParameters": {"REFRESH_TOKEN": refresh, "DEVICE_KEY": key}}
    )
    assert ok.status_code == 200, ok.text
    v6 = {"ClientId": always.client_id, "RefreshToken": refresh}
    assert (await proxy(api, "GetTokensFromRefreshToken", v6)).status_code == 400
    ok = await proxy(api, "GetTokensFromRefreshToken", {**v6, "DeviceKey": key})
    assert ok.status_code == 200, ok.text


async def test_the_device_password_is_never_logged_nor_kept(
    api_factory: ApiFactory, always: LocalPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = api_factory(target=always)
    device = (await login(api)).json()["newDevice"]
    verified = await device_sign_in(api, device, await login(api, deviceKey=device["deviceKey"]))
    assert verified.status_code == 200
    text = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert device["devicePassword"] not in text
    events = (await api.admin("GET", "/admin/events")).json()["events"]
    assert device["devicePassword"] not in json.dumps(events)
    assert device["devicePassword"] not in repr(api.gate.devices.__dict__)


# -- a later login from the remembered device --------------------------------------------------------


async def test_a_later_login_relays_the_device_challenges(
    api_factory: ApiFactory, always: LocalPool
) -> None:
    api = api_factory(target=always)
    device = (await login(api)).json()["newDevice"]

    answer = await login(api, deviceKey=device["deviceKey"])
    assert answer.json()["challengeParameters"] == {}
    verified = await device_sign_in(api, device, answer)
    assert verified.status_code == 200, verified.text
    tokens = verified.json()
    assert "newDevice" not in tokens  # the same device, no new one
    assert unverified_claims(tokens["accessToken"])["device_key"] == device["deviceKey"]
    # Its refresh token is bound to the device too.
    body = {"refreshToken": tokens["refreshToken"], "deviceKey": device["deviceKey"]}
    assert (await api.client().post("/auth/refresh", json=body)).status_code == 200
    assert len(DEVICES.of_user(always.user_pool_id, "demo")) == 1
    assert await failures(api) == 0


async def test_a_wrong_device_claim_is_a_failed_attempt(
    api_factory: ApiFactory, always: LocalPool
) -> None:
    api = api_factory(target=always)
    device = (await login(api)).json()["newDevice"]
    wrong = {**device, "devicePassword": "not-the-device-password"}
    refused = await device_sign_in(api, wrong, await login(api, deviceKey=device["deviceKey"]))
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_credentials"
    assert await failures(api) == 1


async def test_the_device_steps_are_held_by_the_lock(
    api_factory: ApiFactory, always: LocalPool
) -> None:
    api = api_factory(target=always, max_attempts=2)
    device = (await login(api)).json()["newDevice"]
    wrong = {**device, "devicePassword": "guess"}
    for _ in range(2):
        refused = await device_sign_in(api, wrong, await login(api, deviceKey=device["deviceKey"]))
        assert refused.status_code == 401
    locked = await login(api, deviceKey=device["deviceKey"])
    assert locked.status_code == 429
    assert locked.json()["error"] == "account_locked"


async def test_a_device_cognito_no_longer_knows_is_forgotten(
    api_factory: ApiFactory, always: LocalPool
) -> None:
    api = api_factory(target=always)
    device = (await login(api)).json()["newDevice"]
    emulator_client(always.endpoint).admin_forget_device(
        UserPoolId=always.user_pool_id, Username="demo", DeviceKey=device["deviceKey"]
    )

    answer = await login(api, deviceKey=device["deviceKey"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["forgetDevice"] is True
    assert body["newDevice"]["deviceKey"] != device["deviceKey"]
    assert await failures(api) == 0  # one reservation, a success


async def test_a_wrong_password_with_a_device_is_one_failure(
    api_factory: ApiFactory, always: LocalPool
) -> None:
    api = api_factory(target=always)
    device = (await login(api)).json()["newDevice"]
    for key in (device["deviceKey"], "us-east-1_00000000-0000-0000-0000-000000000000"):
        refused = await login(api, password="Wrong-passw0rd!", deviceKey=key)
        assert refused.status_code == 401
    assert await failures(api) == 2


async def test_a_malformed_device_key_is_refused(
    api_factory: ApiFactory, always: LocalPool
) -> None:
    api = api_factory(target=always)
    for key in ("no-underscore", "x" * 60 + "_0", 12):
        answer = await login(api, deviceKey=key)
        assert answer.status_code == 422, key


# -- a pool that remembers devices on the user's choice ------------------------------------------


async def test_opt_in_confirms_every_device_and_remembers_only_when_asked(
    api_factory: ApiFactory, opt_in: LocalPool
) -> None:
    api = api_factory(target=opt_in)
    kept = (await login(api)).json()
    device = kept["newDevice"]
    assert device["remembered"] is False
    registered = DEVICES.find(opt_in.user_pool_id, device["deviceKey"])
    assert registered is not None
    assert registered.confirmed
    assert not registered.remembered

    # Confirmed, so the refresh works with its key; not remembered, so a login with it needs no
    # device challenge (and no new device either).
    body = {"refreshToken": kept["refreshToken"], "deviceKey": device["deviceKey"]}
    assert (await api.client().post("/auth/refresh", json=body)).status_code == 200
    plain = await login(api, deviceKey=device["deviceKey"])
    assert "idToken" in plain.json()
    assert "newDevice" not in plain.json()

    remembered = (await login(api, rememberDevice=True)).json()["newDevice"]
    assert remembered["remembered"] is True
    verified = await device_sign_in(
        api, remembered, await login(api, deviceKey=remembered["deviceKey"])
    )
    assert verified.status_code == 200
    listed = await proxy(api, "ListDevices", {"AccessToken": verified.json()["accessToken"]})
    assert [d["DeviceKey"] for d in listed.json()["Devices"]] == [remembered["deviceKey"]]


async def test_amplifys_device_calls_go_through_cognito_route(
    api_factory: ApiFactory, opt_in: LocalPool
) -> None:
    api = api_factory(target=opt_in)
    tokens = (await login(api)).json()
    access, key = tokens["accessToken"], tokens["newDevice"]["deviceKey"]
    update = {"AccessToken": access, "DeviceKey": key, "DeviceRememberedStatus": "remembered"}
    assert (await proxy(api, "UpdateDeviceStatus", update)).status_code == 200
    got = await proxy(api, "GetDevice", {"AccessToken": access, "DeviceKey": key})
    assert got.status_code == 200
    assert isinstance(got.json()["Device"]["DeviceCreateDate"], float)
    assert (
        await proxy(api, "ForgetDevice", {"AccessToken": access, "DeviceKey": key})
    ).status_code == 200
    gone = await proxy(api, "ForgetDevice", {"AccessToken": access, "DeviceKey": key})
    assert gone.status_code == 400
    assert gone.json()["__type"] == "ResourceNotFoundException"
    refused = await proxy(api, "ForgetDevice", {"AccessToken": "nope", "DeviceKey": key})
    assert refused.json()["__type"] == "NotAuthorizedException"
    # Forgotten: its refresh token no longer refreshes.
    body = {"refreshToken": tokens["refreshToken"], "deviceKey": key}
    assert (await api.client().post("/auth/refresh", json=body)).status_code == 401


async def test_config_says_how_the_pool_remembers_devices(
    api_factory: ApiFactory, pool: LocalPool, always: LocalPool, opt_in: LocalPool
) -> None:
    for target, mode in ((pool, "off"), (always, "always"), (opt_in, "opt-in")):
        body = (await api_factory(target=target).client().get("/auth/config")).json()
        assert body["deviceRemembering"] is (mode != "off")
        assert body["deviceRememberingMode"] == mode
        assert not any("device" in w.lower() for w in body["warnings"])


async def test_a_pool_without_remembering_answers_no_device_fields(
    api_factory: ApiFactory, pool: LocalPool
) -> None:
    api = api_factory()
    body = (await login(api, deviceKey="us-east-1_00000000-0000-0000-0000-000000000000")).json()
    assert "idToken" in body
    assert "newDevice" not in body
    assert "forgetDevice" not in body
