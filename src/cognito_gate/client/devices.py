"""Remembered devices on the client's side: Amplify's three device keys, and the device SRP.

Where the pool remembers devices, the gateway confirms a new device for the client and hands it
``newDevice: {deviceKey, deviceGroupKey, devicePassword}`` once. The client keeps them where
amazon-cognito-identity-js and Amplify v6 keep theirs::

    CognitoIdentityServiceProvider.{clientId}.{username}.deviceKey
    CognitoIdentityServiceProvider.{clientId}.{username}.deviceGroupKey
    CognitoIdentityServiceProvider.{clientId}.{username}.randomPasswordKey

under the account's own username (``cognito:username``), so that a refresh sends
``DEVICE_KEY`` (Cognito refuses one without it) and a browser loading the same storage finds the
device. Signing out keeps them, as the JS library does. The next login sends ``deviceKey``
(never the password) and answers the device challenges with :class:`DeviceSrpClient`.

A login names the user as it was typed (an email, say), which may not be the username the keys
are filed under; ``cognito-gate.deviceUser.{clientId}.{name}`` remembers which one it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cognito_gate.client.pool import CONFIG_PREFIX, KEY_PREFIX
from cognito_gate.client.storage import Storage
from cognito_gate.cognito.device_srp import DeviceSrpClient, SrpError

__all__ = [
    "DeviceSrpClient",
    "RememberedDevice",
    "SrpError",
    "find_device",
    "forget_device",
    "has_devices",
    "store_device",
]

DEVICE_CHALLENGES = ("DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER")


@dataclass(frozen=True)
class RememberedDevice:
    """A device stored for ``username``: the keys Amplify keeps, the password never shown."""

    username: str
    device_key: str
    device_group_key: str
    password: str = field(repr=False)

    def srp(self) -> DeviceSrpClient:
        """A fresh device sign-in (a new ephemeral secret each time)."""
        return DeviceSrpClient(self.device_key, self.device_group_key, self.password)


def device_keys(client_id: str, username: str) -> tuple[str, str, str]:
    """The storage keys of ``deviceKey``, ``deviceGroupKey`` and ``randomPasswordKey``."""
    prefix = f"{KEY_PREFIX}.{client_id}.{username}"
    return f"{prefix}.deviceKey", f"{prefix}.deviceGroupKey", f"{prefix}.randomPasswordKey"


def _hint(client_id: str, login_name: str) -> str:
    return f"{CONFIG_PREFIX}deviceUser.{client_id}.{login_name}"


def has_devices(storage: Storage) -> bool:
    """True when some device is stored (then a login asks the gateway for the client id first)."""
    return any(key.endswith(".deviceKey") for key in storage.snapshot())


def find_device(storage: Storage, client_id: str, login_name: str) -> RememberedDevice | None:
    """The device stored for the user ``login_name`` names: under that name, under the username
    a login with that name was answered for, or under the name in lower case (the username of a
    case-insensitive pool). Only a complete one (all three keys), as Amplify v6 requires."""
    data = storage.snapshot()
    for name in (login_name, data.get(_hint(client_id, login_name)), login_name.lower()):
        if not name:
            continue
        key, group, password = (data.get(k) for k in device_keys(client_id, name))
        if key and group and password:
            return RememberedDevice(name, key, group, password)
    return None


def store_device(
    storage: Storage,
    client_id: str,
    username: str,
    new_device: Mapping[str, Any],
    login_name: str | None = None,
) -> bool:
    """Store the gateway's ``newDevice`` under Amplify's keys for ``username``; False (nothing
    stored) when it lacks a field."""
    values = (
        new_device.get("deviceKey"),
        new_device.get("deviceGroupKey"),
        new_device.get("devicePassword"),
    )
    if not all(isinstance(v, str) and v for v in values):
        return False
    keys = device_keys(client_id, username)
    changes: dict[str, str | None] = {k: str(v) for k, v in zip(keys, values, strict=True)}
    if login_name and login_name != username:
        changes[_hint(client_id, login_name)] = username
    storage.update(changes)
    return True


def forget_device(
    storage: Storage, client_id: str, username: str, login_name: str | None = None
) -> None:
    """Remove the three device keys of ``username`` (Cognito no longer knows the device)."""
    changes: dict[str, str | None] = dict.fromkeys(device_keys(client_id, username))
    if login_name:
        changes[_hint(client_id, login_name)] = None
    storage.update(changes)
