"""Remembered devices through the gateway: the seed's pitfall, solved instead of switched off.

A pool that remembers devices ties each refresh token to the device that logged in, and refuses
a refresh that does not name that device's key (or names a device nobody confirmed). Through a
gateway, the device that logs in is the gateway's own ``AdminInitiateAuth``. So the gateway makes
the client that device:

1. **A new device.** When Cognito's answer carries ``NewDeviceMetadata``, the gateway confirms the
   device at once, on the client's behalf: ``ConfirmDevice`` with the new access token and an SRP
   verifier made from ``DeviceGroupKey``, ``DeviceKey`` and a fresh random password
   (:func:`~cognito_gate.cognito.device_srp.new_device_secret`), named after the client's
   User-Agent. On an opt-in pool (``DeviceOnlyRememberedOnUserPrompt``) the device is then
   ``remembered`` only when the login asked ``rememberDevice: true`` (``UpdateDeviceStatus``).
   The answer hands the client ``newDevice: {deviceKey, deviceGroupKey, devicePassword,
   remembered}`` once; the gateway keeps no copy of the password and never logs it. The client
   stores the three values under Amplify's keys (``deviceKey``, ``deviceGroupKey``,
   ``randomPasswordKey``), so that its refresh sends the device key and succeeds.
2. **A later login** sends ``deviceKey`` (never the password); the gateway passes it to Cognito
   as ``DEVICE_KEY``. For a remembered device Cognito answers ``DEVICE_SRP_AUTH``; the gateway
   relays it, and then ``DEVICE_PASSWORD_VERIFIER``, through ``POST /auth/challenge``, the client
   computing both SRP steps. Each step is an attempt under the lock, like any password check.
3. **A device Cognito no longer knows** (forgotten, or another pool's): the login goes on without
   it, in the same reservation, and the answer says ``forgetDevice: true`` so that the client
   drops its keys (and stores the new device the answer may carry).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from cognito_gate import errors as e
from cognito_gate.answers import NewDevice
from cognito_gate.cognito.device_srp import new_device_secret
from cognito_gate.cognito.idp import (
    Challenge,
    ClientContext,
    CognitoError,
    CognitoIdp,
    Tokens,
    UnknownDevice,
)
from cognito_gate.identity import Account
from cognito_gate.metrics import Metrics
from cognito_gate.policy import Outcome

logger = logging.getLogger("cognito_gate.devices")

#: The challenges of a remembered device's sign-in, answered by the client through the gateway.
DEVICE_CHALLENGES = frozenset({"DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"})
#: What ``ConfirmDevice`` is told the device is called when the client sends no User-Agent.
DEFAULT_DEVICE_NAME = "cognito-gate client"


def device_name(client: ClientContext) -> str:
    """The client's User-Agent (what amazon-cognito-identity-js sends as ``DeviceName``)."""
    for name, value in client.headers:
        if name.lower() == "user-agent" and value.strip():
            return value.strip()[:1024]
    return DEFAULT_DEVICE_NAME


class PasswordCheck:
    """One login's call to Cognito, with the client's device when it sent one.

    A device Cognito does not know is dropped and the login made again without it, inside the
    same reservation. At most one of the two calls can find a wrong password: a wrong one is
    refused before the device is looked at (the emulator; Amplify v5 meets "Device does not
    exist." only after its password proof), and were Cognito to look at the device first, the
    first call checked no password at all. ``forgot`` then says so.
    """

    def __init__(
        self,
        idp: CognitoIdp,
        account: Account,
        password: str,
        client: ClientContext,
        device_key: str | None,
    ) -> None:
        self.idp = idp
        self.account = account
        self._password = password
        self.client = client
        self.device_key = device_key
        self.forgot = False

    async def __call__(self) -> Tokens | Challenge:
        name, hash_name = self.account.name, self.account.username or self.account.name
        if self.device_key:
            try:
                return await self.idp.password_auth(
                    name, self._password, self.client, hash_name, self.device_key
                )
            except UnknownDevice:
                logger.info("login: the client's device is unknown to Cognito; going on without")
                self.forgot = True
        return await self.idp.password_auth(name, self._password, self.client, hash_name)

    def __repr__(self) -> str:
        return f"PasswordCheck(account={self.account.key!r})"


class Devices:
    """The gateway's part in remembered devices (see the module docstring). ``idp`` gives the
    gate's Cognito client at each call (whatever the gate holds then)."""

    def __init__(self, idp: Callable[[], CognitoIdp], metrics: Metrics) -> None:
        self._idp = idp
        self.metrics = metrics

    @property
    def idp(self) -> CognitoIdp:
        """The gate's Cognito client."""
        return self._idp()

    def password_check(
        self, account: Account, password: str, client: ClientContext, device_key: str | None
    ) -> PasswordCheck:
        """The call :meth:`Guard.attempt` makes for a login."""
        return PasswordCheck(self.idp, account, password, client, device_key)

    async def respond(
        self,
        username: str,
        challenge: str,
        session: str,
        responses: Mapping[str, str],
        client: ClientContext,
    ) -> Tokens | Challenge:
        """A challenge response; a device Cognito does not know (the ``DEVICE_KEY`` the client
        passed on) is a refused answer that says nothing of the password."""
        try:
            return await self.idp.respond(username, challenge, session, responses, client)
        except UnknownDevice:
            raise CognitoError(
                e.InvalidCredentials("The device is unknown: log in again without it."),
                Outcome.NEUTRAL,
                "ResourceNotFoundException",
            ) from None

    async def confirm(
        self, tokens: Tokens, remember: bool | None, client: ClientContext
    ) -> NewDevice | None:
        """Confirm the device Cognito issued with ``tokens`` for the client (and remember it on an
        opt-in pool when ``remember``); None when there is none, or Cognito refused. A refusal is
        logged and the tokens are answered anyway: they work until their refresh."""
        if tokens.new_device is None:
            return None
        device_key, group_key = tokens.new_device
        secret = new_device_secret(group_key, device_key)
        try:
            answer = await self.idp.device_call(
                "ConfirmDevice",
                {
                    "AccessToken": tokens.access_token,
                    "DeviceKey": device_key,
                    "DeviceSecretVerifierConfig": secret.verifier_config(),
                    "DeviceName": device_name(client),
                },
            )
        except CognitoError as err:
            logger.warning(
                "could not confirm a new device at Cognito (%s): the client's refresh will fail"
                " until it logs in again",
                err.code,
            )
            self.metrics.inc("cognito_gate_devices_total", outcome="confirm_failed")
            return None
        remembered = not answer.get("UserConfirmationNecessary")
        if not remembered and remember:
            remembered = await self._remember(tokens.access_token, device_key)
        self.metrics.inc(
            "cognito_gate_devices_total", outcome="remembered" if remembered else "confirmed"
        )
        return NewDevice(device_key, group_key, secret.password, remembered)

    async def _remember(self, access_token: str, device_key: str) -> bool:
        try:
            await self.idp.device_call(
                "UpdateDeviceStatus",
                {
                    "AccessToken": access_token,
                    "DeviceKey": device_key,
                    "DeviceRememberedStatus": "remembered",
                },
            )
        except CognitoError as err:
            logger.warning("could not remember a confirmed device at Cognito (%s)", err.code)
            return False
        return True
