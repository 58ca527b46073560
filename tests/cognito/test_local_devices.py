"""Remembered devices on the embedded emulator: the offline experiment's cases
(research/remembered-devices.md §8, S0-S9) against ``local_devices``, and the device SRP math
(``device_srp``) it and the gateway share.

The math is checked against the real amazon-cognito-identity-js under Node (both ways: the SDK
signs in with a device whose verifier Python made, and Python signs in with a device the SDK
confirmed itself), so the emulator's verification is held to what works against real Cognito.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cognito_gate.cognito import device_srp as srp
from cognito_gate.cognito.jwt import unverified_claims
from cognito_gate.cognito.local import (
    SAFE_AUTH_FLOWS,
    Emulator,
    LocalPool,
    create_user,
    emulator_client,
    provision_pool,
)
from cognito_gate.cognito.local_devices import DEVICES

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "web" / "node_modules"
JS = Path(__file__).parent / "js"
PASSWORD = "Demo-passw0rd!"


# -- the math ------------------------------------------------------------------------------------


def _pi_times_two_to(bits: int) -> int:
    """⌊π·2^bits⌋, with Machin's formula in integers (a few guard bits)."""
    guard = 64
    one = 1 << (bits + guard)

    def arctan_inv(x: int) -> int:
        total = term = one // x
        n, sign = 1, -1
        while term:
            term //= x * x
            total += sign * (term // (2 * n + 1))
            n, sign = n + 1, -sign
        return total

    return (4 * (4 * arctan_inv(5) - arctan_inv(239))) >> guard


def test_the_group_is_rfc_5054s_3072_bit_prime() -> None:
    expected = 2**3072 - 2**3008 - 1 + 2**64 * (_pi_times_two_to(2942) + 1690314)
    assert expected == srp.N
    assert srp.G == 2


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "00"), (0x0F, "0f"), (0x7F, "7f"), (0x80, "0080"), (0xFF, "00ff"), (0x100, "0100")],
)
def test_pad_hex_never_reads_as_negative(value: int, text: str) -> None:
    assert srp.pad_hex(value) == text


@pytest.mark.parametrize("first", [b"\x0f", b"\x00\x80", b"\x7f", b"\x00\xff"])
def test_salts_in_pad_hex_form_are_taken(first: bytes) -> None:
    salt = first + bytes(range(1, 16))
    secret = srp.device_verifier("-group", "us-east-1_device", "pw", salt)
    assert base64.b64decode(secret.salt) == salt


@pytest.mark.parametrize("salt", [b"\x00\x0f" + bytes(15), b"\x80" + bytes(15)])
def test_salts_that_would_read_otherwise_are_refused(salt: bytes) -> None:
    with pytest.raises(srp.SrpError):
        srp.device_verifier("-group", "us-east-1_device", "pw", salt)


def test_a_new_secret_is_fresh_and_hidden() -> None:
    one = srp.new_device_secret("-group", "us-east-1_device")
    two = srp.new_device_secret("-group", "us-east-1_device")
    assert one.password != two.password
    assert one.salt != two.salt
    assert len(base64.b64decode(one.password)) == 40
    assert len(base64.b64decode(one.salt)) in (16, 17)
    assert one.password not in repr(one)


@pytest.mark.parametrize("day", range(1, 10))
def test_timestamps_do_not_pad_the_day(day: int) -> None:
    when = datetime(2026, 3, day, 9, 5, 7, tzinfo=UTC)
    text = srp.timestamp(when)
    assert text.startswith(f"{srp.DAYS[when.weekday()]} Mar {day} 09:05:07 UTC 2026")
    assert srp.parse_timestamp(text) == when


@pytest.mark.parametrize(
    "text",
    [
        "Tue Mar 03 09:05:07 UTC 2026",  # zero-padded day
        "Wed Mar 3 09:05:07 UTC 2026",  # the wrong weekday
        "Tue Mar 3 9:05:07 UTC 2026",
        "Tue Mar 3 09:05:07 GMT 2026",
        "Di Mär 3 09:05:07 UTC 2026",  # a locale's names
        "",
    ],
)
def test_timestamps_not_in_cognitos_format_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        srp.parse_timestamp(text)


def test_each_sign_in_has_a_fresh_secret() -> None:
    assert srp.DeviceSrpClient("k", "g", "p").start() != srp.DeviceSrpClient("k", "g", "p").start()


def test_the_client_and_the_server_agree_only_on_the_right_password() -> None:
    secret = srp.new_device_secret("-group", "us-east-1_device")
    salt, verifier = base64.b64decode(secret.salt), base64.b64decode(secret.verifier)
    for password, expected in ((secret.password, True), ("a guess", False)):
        client = srp.DeviceSrpClient("us-east-1_device", "-group", password)
        server = srp.DeviceSrpServer("-group", "us-east-1_device", salt, verifier, client.start())
        block = base64.b64encode(os.urandom(64)).decode()
        claim = client.claim(server.challenge()["SRP_B"], server.challenge()["SALT"], block)
        stamp, signature = claim["TIMESTAMP"], claim["PASSWORD_CLAIM_SIGNATURE"]
        assert server.verify(base64.b64decode(block), stamp, signature) is expected
        assert server.verify(os.urandom(64), stamp, signature) is False
    assert secret.password not in repr(client)


@pytest.mark.parametrize("bad", ["0", format(srp.N, "x"), "not hex"])
def test_a_degenerate_a_is_refused(bad: str) -> None:
    with pytest.raises(srp.SrpError):
        srp.DeviceSrpServer("-g", "k", b"\x01", b"\x02", bad)


# -- the emulator ------------------------------------------------------------------------------------


@pytest.fixture
def idp(emulator: Emulator) -> Any:
    return emulator_client(emulator.endpoint)


@pytest.fixture
def always(emulator: Emulator) -> LocalPool:
    return provision_pool(emulator.endpoint, remember_devices="always")


@pytest.fixture
def opt_in(emulator: Emulator) -> LocalPool:
    return provision_pool(emulator.endpoint, remember_devices="opt-in")


def admin_login(idp: Any, pool: LocalPool, user: str = "demo", **params: str) -> dict[str, Any]:
    answer: dict[str, Any] = idp.admin_initiate_auth(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": PASSWORD, **params},
    )
    return answer


def refresh(idp: Any, pool: LocalPool, token: str, device_key: str | None = None) -> str:
    params = {"REFRESH_TOKEN": token, **({"DEVICE_KEY": device_key} if device_key else {})}
    answer = idp.initiate_auth(
        ClientId=pool.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters=params
    )
    return str(answer["AuthenticationResult"]["AccessToken"])


def refused(code: str, message: str | None = None) -> Any:
    """``pytest.raises`` for a Cognito error ``code`` (and exact ``message``)."""

    class Check:
        def __enter__(self) -> None:
            self.raises = pytest.raises(ClientError)
            self.info = self.raises.__enter__()

        def __exit__(self, *exc: Any) -> bool:
            handled = bool(self.raises.__exit__(*exc))
            error = self.info.value.response["Error"]
            assert error["Code"] == code, error
            if message is not None:
                assert error["Message"] == message, error
            return handled

    return Check()


def confirm(idp: Any, tokens: dict[str, Any]) -> dict[str, str]:
    """ConfirmDevice as the gateway does it; the device's keys and password."""
    meta = tokens["NewDeviceMetadata"]
    secret = srp.new_device_secret(meta["DeviceGroupKey"], meta["DeviceKey"])
    idp.confirm_device(
        AccessToken=tokens["AccessToken"],
        DeviceKey=meta["DeviceKey"],
        DeviceSecretVerifierConfig=secret.verifier_config(),
        DeviceName="test",
    )
    return {"key": meta["DeviceKey"], "group": meta["DeviceGroupKey"], "password": secret.password}


def device_sign_in(
    idp: Any,
    pool: LocalPool,
    device: dict[str, str],
    password: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A login with the device's key, both device challenges answered."""
    first = admin_login(idp, pool, DEVICE_KEY=device["key"])
    assert first["ChallengeName"] == "DEVICE_SRP_AUTH"
    client = srp.DeviceSrpClient(device["key"], device["group"], password or device["password"])
    second = respond(
        idp,
        pool,
        "DEVICE_SRP_AUTH",
        first["Session"],
        {"USERNAME": "demo", "DEVICE_KEY": device["key"], "SRP_A": client.start()},
    )
    assert second["ChallengeName"] == "DEVICE_PASSWORD_VERIFIER"
    params = second["ChallengeParameters"]
    assert params["USERNAME"] == "demo"
    claim = client.claim(params["SRP_B"], params["SALT"], params["SECRET_BLOCK"], now)
    return respond(
        idp,
        pool,
        "DEVICE_PASSWORD_VERIFIER",
        second["Session"],
        {"USERNAME": "demo", "DEVICE_KEY": device["key"], **claim},
    )


def respond(
    idp: Any, pool: LocalPool, name: str, session: str, responses: dict[str, str]
) -> dict[str, Any]:
    answer: dict[str, Any] = idp.admin_respond_to_auth_challenge(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        ChallengeName=name,
        Session=session,
        ChallengeResponses=responses,
    )
    return answer


# S0: the pitfall, reproduced ------------------------------------------------------------------------


def test_s0_a_sign_in_gets_a_new_device_and_refresh_without_it_fails(
    idp: Any, always: LocalPool
) -> None:
    tokens = admin_login(idp, always)["AuthenticationResult"]
    meta = tokens["NewDeviceMetadata"]
    assert meta["DeviceKey"].startswith("us-east-1_")
    assert unverified_claims(tokens["AccessToken"])["device_key"] == meta["DeviceKey"]
    with refused("NotAuthorizedException", "Invalid Refresh Token"):
        refresh(idp, always, tokens["RefreshToken"])
    # The device's key alone does not do either, while nobody confirmed the device.
    with refused("NotAuthorizedException", "Invalid Refresh Token"):
        refresh(idp, always, tokens["RefreshToken"], meta["DeviceKey"])


# S1, S2: the gateway confirms, refresh works with the key (v5's InitiateAuth, v6's call) ---------


def test_s1_once_confirmed_refresh_works_with_the_devices_key(idp: Any, always: LocalPool) -> None:
    tokens = admin_login(idp, always)["AuthenticationResult"]
    device = confirm(idp, tokens)
    access = refresh(idp, always, tokens["RefreshToken"], device["key"])
    assert unverified_claims(access)["device_key"] == device["key"]
    admin = idp.admin_initiate_auth(
        UserPoolId=always.user_pool_id,
        ClientId=always.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"], "DEVICE_KEY": device["key"]},
    )
    assert admin["AuthenticationResult"]["AccessToken"]
    with refused("NotAuthorizedException"):
        refresh(idp, always, tokens["RefreshToken"])
    other = confirm(idp, admin_login(idp, always)["AuthenticationResult"])
    with refused("NotAuthorizedException"):  # another device's key
        refresh(idp, always, tokens["RefreshToken"], other["key"])


def test_s2_get_tokens_from_refresh_token_needs_the_key_too(idp: Any, always: LocalPool) -> None:
    tokens = admin_login(idp, always)["AuthenticationResult"]
    device = confirm(idp, tokens)
    with refused("NotAuthorizedException", "Invalid Refresh Token"):
        idp.get_tokens_from_refresh_token(
            ClientId=always.client_id, RefreshToken=tokens["RefreshToken"]
        )
    answer = idp.get_tokens_from_refresh_token(
        ClientId=always.client_id, RefreshToken=tokens["RefreshToken"], DeviceKey=device["key"]
    )["AuthenticationResult"]
    assert unverified_claims(answer["AccessToken"])["device_key"] == device["key"]
    assert "RefreshToken" not in answer  # no rotation


# S3: device SRP at the next sign-in ------------------------------------------------------------------


def test_s3_a_remembered_device_signs_in_with_device_srp(idp: Any, always: LocalPool) -> None:
    first = admin_login(idp, always)["AuthenticationResult"]
    device = confirm(idp, first)
    answer = device_sign_in(idp, always, device)["AuthenticationResult"]
    assert "NewDeviceMetadata" not in answer
    assert unverified_claims(answer["AccessToken"])["device_key"] == device["key"]
    assert refresh(idp, always, answer["RefreshToken"], device["key"])
    with refused("NotAuthorizedException"):
        refresh(idp, always, answer["RefreshToken"])


def test_s3_a_wrong_device_password_is_refused(idp: Any, always: LocalPool) -> None:
    device = confirm(idp, admin_login(idp, always)["AuthenticationResult"])
    with refused("NotAuthorizedException", "Incorrect username or password."):
        device_sign_in(idp, always, device, password="not-the-device-password")


def test_s3_a_wrong_password_is_refused_before_the_device_is_looked_at(
    idp: Any, always: LocalPool
) -> None:
    with refused("NotAuthorizedException"):
        admin_login(idp, always, PASSWORD="Wrong-passw0rd!", DEVICE_KEY="us-east-1_0000-0000")


def test_s3_an_unknown_or_another_users_device_does_not_exist(
    emulator: Emulator, idp: Any, always: LocalPool
) -> None:
    with refused("ResourceNotFoundException", "Device does not exist."):
        admin_login(idp, always, DEVICE_KEY="us-east-1_00000000-0000-0000-0000-000000000000")
    create_user(idp, always.user_pool_id, "bob", PASSWORD)
    bobs = confirm(idp, admin_login(idp, always, "bob")["AuthenticationResult"])
    with refused("ResourceNotFoundException", "Device does not exist."):
        admin_login(idp, always, DEVICE_KEY=bobs["key"])


def test_s3_each_sign_in_without_the_key_mints_a_device(idp: Any, always: LocalPool) -> None:
    confirm(idp, admin_login(idp, always)["AuthenticationResult"])
    tokens = admin_login(idp, always)["AuthenticationResult"]
    confirm(idp, tokens)
    devices = idp.list_devices(AccessToken=tokens["AccessToken"])["Devices"]
    assert len(devices) == 2


def test_s3_a_device_challenge_is_answered_once_in_time_and_format(
    idp: Any, always: LocalPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = confirm(idp, admin_login(idp, always)["AuthenticationResult"])
    stale = datetime.fromtimestamp(DEVICES.clock() - 3600, UTC)
    with refused("InvalidParameterException"):
        device_sign_in(idp, always, device, now=stale)

    first = admin_login(idp, always, DEVICE_KEY=device["key"])
    srp_a = srp.DeviceSrpClient(device["key"], device["group"], device["password"]).start()
    step = {"USERNAME": "demo", "DEVICE_KEY": device["key"], "SRP_A": srp_a}
    respond(idp, always, "DEVICE_SRP_AUTH", first["Session"], step)
    with refused("NotAuthorizedException"):  # the session is spent
        respond(idp, always, "DEVICE_SRP_AUTH", first["Session"], step)

    later = admin_login(idp, always, DEVICE_KEY=device["key"])
    monkeypatch.setattr(DEVICES, "clock", lambda: datetime.now(UTC).timestamp() + 181)
    with refused("NotAuthorizedException"):  # three minutes later
        respond(idp, always, "DEVICE_SRP_AUTH", later["Session"], step)


def test_s3_a_device_after_another_challenge(idp: Any, always: LocalPool) -> None:
    device = confirm(idp, admin_login(idp, always)["AuthenticationResult"])
    idp.admin_set_user_password(
        UserPoolId=always.user_pool_id, Username="demo", Password=PASSWORD, Permanent=False
    )
    first = admin_login(idp, always, DEVICE_KEY=device["key"])
    assert first["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    answer = respond(
        idp,
        always,
        "NEW_PASSWORD_REQUIRED",
        first["Session"],
        {"USERNAME": "demo", "NEW_PASSWORD": PASSWORD},
    )
    assert answer["ChallengeName"] == "DEVICE_SRP_AUTH"  # the device, after the password's change


# S7: forgetting a device ----------------------------------------------------------------------------


def test_s7_a_forgotten_device_no_longer_refreshes_nor_signs_in(
    idp: Any, always: LocalPool
) -> None:
    tokens = admin_login(idp, always)["AuthenticationResult"]
    device = confirm(idp, tokens)
    idp.forget_device(AccessToken=tokens["AccessToken"], DeviceKey=device["key"])
    with refused("NotAuthorizedException", "Invalid Refresh Token"):
        refresh(idp, always, tokens["RefreshToken"], device["key"])
    with refused("ResourceNotFoundException", "Device does not exist."):
        admin_login(idp, always, DEVICE_KEY=device["key"])
    other = confirm(idp, admin_login(idp, always)["AuthenticationResult"])
    idp.admin_forget_device(UserPoolId=always.user_pool_id, Username="demo", DeviceKey=other["key"])
    assert idp.admin_list_devices(UserPoolId=always.user_pool_id, Username="demo")["Devices"] == []


# S8: a pool that asks the user ------------------------------------------------------------------------


def test_s8_opt_in_confirmed_but_not_remembered_until_the_user_says(
    idp: Any, opt_in: LocalPool
) -> None:
    tokens = admin_login(idp, opt_in)["AuthenticationResult"]
    meta = tokens["NewDeviceMetadata"]
    secret = srp.new_device_secret(meta["DeviceGroupKey"], meta["DeviceKey"])
    confirmed = idp.confirm_device(
        AccessToken=tokens["AccessToken"],
        DeviceKey=meta["DeviceKey"],
        DeviceSecretVerifierConfig=secret.verifier_config(),
    )
    assert confirmed["UserConfirmationNecessary"] is True
    assert idp.list_devices(AccessToken=tokens["AccessToken"])["Devices"] == []
    assert refresh(idp, opt_in, tokens["RefreshToken"], meta["DeviceKey"])
    device = {
        "key": meta["DeviceKey"],
        "group": meta["DeviceGroupKey"],
        "password": secret.password,
    }

    # Tracked, not remembered: tokens at once, bound to it, no new device.
    plain = admin_login(idp, opt_in, DEVICE_KEY=device["key"])["AuthenticationResult"]
    assert "NewDeviceMetadata" not in plain
    assert refresh(idp, opt_in, plain["RefreshToken"], device["key"])

    idp.update_device_status(
        AccessToken=tokens["AccessToken"],
        DeviceKey=device["key"],
        DeviceRememberedStatus="remembered",
    )
    [listed] = idp.list_devices(AccessToken=tokens["AccessToken"])["Devices"]
    assert listed["DeviceKey"] == device["key"]
    assert {"Name": "dev:device_remembered_status", "Value": "remembered"} in listed[
        "DeviceAttributes"
    ]
    assert device_sign_in(idp, opt_in, device)["AuthenticationResult"]["AccessToken"]

    idp.admin_update_device_status(
        UserPoolId=opt_in.user_pool_id,
        Username="demo",
        DeviceKey=device["key"],
        DeviceRememberedStatus="not_remembered",
    )
    again = admin_login(idp, opt_in, DEVICE_KEY=device["key"])
    assert "AuthenticationResult" in again


def test_confirming_is_for_the_owner_once(emulator: Emulator, idp: Any, always: LocalPool) -> None:
    tokens = admin_login(idp, always)["AuthenticationResult"]
    meta = tokens["NewDeviceMetadata"]
    config = srp.new_device_secret(meta["DeviceGroupKey"], meta["DeviceKey"]).verifier_config()
    create_user(idp, always.user_pool_id, "eve", PASSWORD)
    eves = admin_login(idp, always, "eve")["AuthenticationResult"]
    with refused("ResourceNotFoundException", "Device does not exist."):
        idp.confirm_device(
            AccessToken=eves["AccessToken"],
            DeviceKey=meta["DeviceKey"],
            DeviceSecretVerifierConfig=config,
        )
    with refused("NotAuthorizedException"):
        idp.confirm_device(
            AccessToken="not-a-token",
            DeviceKey=meta["DeviceKey"],
            DeviceSecretVerifierConfig=config,
        )
    idp.confirm_device(
        AccessToken=tokens["AccessToken"],
        DeviceKey=meta["DeviceKey"],
        DeviceSecretVerifierConfig=config,
    )
    with refused("DeviceKeyExistsException"):
        idp.confirm_device(
            AccessToken=tokens["AccessToken"],
            DeviceKey=meta["DeviceKey"],
            DeviceSecretVerifierConfig=config,
        )
    got = idp.get_device(AccessToken=tokens["AccessToken"], DeviceKey=meta["DeviceKey"])
    assert got["Device"]["DeviceKey"] == meta["DeviceKey"]


def test_a_pool_without_remembering_is_as_before(idp: Any, pool: LocalPool) -> None:
    tokens = admin_login(idp, pool, DEVICE_KEY="us-east-1_ignored-0")["AuthenticationResult"]
    assert "NewDeviceMetadata" not in tokens
    assert "device_key" not in unverified_claims(tokens["AccessToken"])
    assert refresh(idp, pool, tokens["RefreshToken"])
    with pytest.raises(ClientError) as missing:  # still missing there (local.py)
        idp.get_tokens_from_refresh_token(ClientId=pool.client_id, RefreshToken="x")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


# S4, S5: the real amazon-cognito-identity-js, both ways ------------------------------------------


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed (make test installs it)")
    if not (NODE_MODULES / "amazon-cognito-identity-js").is_dir():
        pytest.skip("web/node_modules lacks amazon-cognito-identity-js (make test installs it)")
    return path


@pytest.fixture
def public_pool(emulator: Emulator) -> LocalPool:
    """A pool that remembers devices, whose client also lets Amplify sign in by itself."""
    return provision_pool(
        emulator.endpoint,
        remember_devices="always",
        auth_flows=[*SAFE_AUTH_FLOWS, "ALLOW_USER_PASSWORD_AUTH"],
    )


def amplify_v5(node: str, pool: LocalPool, action: str, storage: dict[str, str]) -> dict[str, Any]:
    payload = {
        "endpoint": pool.endpoint,
        "userPoolId": pool.user_pool_id,
        "clientId": pool.client_id,
        "username": "demo",
        "password": PASSWORD,
        "storage": storage,
        "action": action,
    }
    proc = subprocess.run(
        [node, str(JS / "v5_device.js")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.node
def test_s4_amplify_signs_in_with_a_device_python_confirmed(
    node: str, idp: Any, public_pool: LocalPool
) -> None:
    device = confirm(idp, admin_login(idp, public_pool)["AuthenticationResult"])
    prefix = f"CognitoIdentityServiceProvider.{public_pool.client_id}.demo"
    storage = {
        f"{prefix}.deviceKey": device["key"],
        f"{prefix}.deviceGroupKey": device["group"],
        f"{prefix}.randomPasswordKey": device["password"],
    }
    signed = amplify_v5(node, public_pool, "signIn", storage)
    assert signed.get("ok"), signed
    assert [c["challenge"] for c in signed["calls"]] == [
        None,
        "DEVICE_SRP_AUTH",
        "DEVICE_PASSWORD_VERIFIER",
    ]
    assert signed["calls"][0]["auth"]["DEVICE_KEY"] == device["key"]
    assert unverified_claims(signed["accessToken"])["device_key"] == device["key"]
    refreshed = amplify_v5(node, public_pool, "refresh", signed["storage"])
    assert refreshed.get("ok"), refreshed
    assert refreshed["calls"][0]["auth"]["DEVICE_KEY"] == device["key"]


@pytest.mark.node
def test_s5_python_signs_in_with_a_device_amplify_confirmed(
    node: str, idp: Any, public_pool: LocalPool
) -> None:
    signed = amplify_v5(node, public_pool, "signIn", {})
    assert signed.get("ok"), signed
    assert [c["target"] for c in signed["calls"]] == ["InitiateAuth", "ConfirmDevice"]
    prefix = f"CognitoIdentityServiceProvider.{public_pool.client_id}.demo"
    stored = signed["storage"]
    device = {
        "key": stored[f"{prefix}.deviceKey"],
        "group": stored[f"{prefix}.deviceGroupKey"],
        "password": stored[f"{prefix}.randomPasswordKey"],
    }
    answer = device_sign_in(idp, public_pool, device)["AuthenticationResult"]
    assert unverified_claims(answer["AccessToken"])["device_key"] == device["key"]
    # Forgotten, the device is refused with the words the SDKs match on. (v5 retries without it
    # on its SRP path only; on this plain-password path it hands the error to the app, which is
    # why the gateway retries by itself and answers forgetDevice.)
    idp.admin_forget_device(
        UserPoolId=public_pool.user_pool_id, Username="demo", DeviceKey=device["key"]
    )
    again = amplify_v5(node, public_pool, "signIn", stored)
    assert again["error"] == "ResourceNotFoundException: Device does not exist."


def test_provision_pool_makes_an_opt_in_pool(idp: Any, opt_in: LocalPool) -> None:
    found = idp.describe_user_pool(UserPoolId=opt_in.user_pool_id)["UserPool"]
    assert found["DeviceConfiguration"] == {
        "ChallengeRequiredOnNewDevice": False,
        "DeviceOnlyRememberedOnUserPrompt": True,
    }
