"""Log in through the gateway and set the session up from its answer.

``login`` posts ``/auth/login``; an answer with tokens is turned into a stored session with
:func:`setup_session`, using ``GET /auth/config`` to learn where Cognito is; an answer that asks
for a challenge raises :class:`ChallengeRequired`, to be answered with ``respond_to_challenge``.

Where the pool remembers devices (``devices``), the answer's ``newDevice`` is stored under
Amplify's keys; a later login sends the stored ``deviceKey`` and answers the device challenges
itself (``DEVICE_SRP_AUTH``, ``DEVICE_PASSWORD_VERIFIER``), so the device password never leaves
this process; ``forgetDevice`` drops the stored keys.

A password check is never retried here (each attempt counts towards the lockout), with one
exception: when Cognito refuses a remembered device's proof, its keys are dropped and the login
is made once more without it, as Amplify does with a device Cognito no longer knows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from cognito_gate.client import wire
from cognito_gate.client.devices import (
    DEVICE_CHALLENGES,
    RememberedDevice,
    SrpError,
    find_device,
    forget_device,
    has_devices,
    store_device,
)
from cognito_gate.client.errors import (
    ChallengeRequired,
    ClientError,
    GatewayUnavailable,
    InvalidCredentials,
    UnexpectedResponse,
)
from cognito_gate.client.pool import RefreshVia
from cognito_gate.client.session import Clock
from cognito_gate.client.setup import setup_session
from cognito_gate.client.storage import Storage
from cognito_gate.client.user import CognitoUser


def _parse_answer(response: httpx.Response, secrets: tuple[str | None, ...]) -> dict[str, Any]:
    """A login or challenge answer: the tokens object, or a challenge (checked later)."""
    body = wire.parse_gateway_json(response, secrets)
    if "challengeName" not in body or "idToken" in body:
        wire.parse_tokens_object(body)  # raises when the tokens are missing
    return body


def _is_challenge(body: Mapping[str, Any]) -> bool:
    return "challengeName" in body and "idToken" not in body


def _session_from_answer(
    gateway_url: str,
    tokens: Mapping[str, Any],
    config: Mapping[str, Any],
    username: str,
    *,
    storage: Storage | None,
    refresh_via: RefreshVia,
    clock: Clock,
    http_client: httpx.Client | None,
    async_http_client: httpx.AsyncClient | None,
) -> CognitoUser:
    pool_id = tokens.get("userPoolId") or config.get("userPoolId")
    client_id = tokens.get("clientId") or config.get("clientId")
    if not isinstance(pool_id, str) or not isinstance(client_id, str):
        raise UnexpectedResponse("the gateway did not say which user pool it uses")
    region = tokens.get("region") or config.get("region")
    endpoint = config.get("cognitoEndpoint")
    if config.get("clientHasSecret") is True:
        # Refreshing at Cognito needs SECRET_HASH, and only the gateway knows the secret.
        refresh_via = "gateway"
    result = wire.parse_tokens_object(tokens)
    user = setup_session(
        # The tokens object's username is the cognito:username the JS library's keys use.
        result.username or username,
        result.access_token,
        result.id_token,
        result.refresh_token or "",
        pool_id,
        client_id,
        storage=storage,
        endpoint=endpoint if isinstance(endpoint, str) and endpoint else None,
        region=region if isinstance(region, str) and region else None,
        gateway_url=gateway_url,
        refresh_via=refresh_via,
        clock=clock,
        http_client=http_client,
        async_http_client=async_http_client,
    )
    new_device = tokens.get("newDevice")
    if isinstance(new_device, Mapping):
        # Under Amplify's keys, so that refresh sends DEVICE_KEY and the next login finds it.
        store_device(user.storage, client_id, user.username, new_device, username)
    return user


def _login_body(username: str, password: str, remember: bool | None) -> dict[str, Any]:
    body: dict[str, Any] = {"username": username, "password": password}
    if remember is not None:
        body["rememberDevice"] = remember
    return body


def _challenge_body(
    username: str,
    challenge_name: str,
    session: str,
    responses: Mapping[str, str],
    remember: bool | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": username,
        "challengeName": challenge_name,
        "session": session,
        "responses": dict(responses),
    }
    if remember is not None:
        body["rememberDevice"] = remember
    return body


@dataclass(frozen=True)
class _Step:
    """One request of a login, how to read its answer, and whether it may be repeated."""

    request: httpx.Request
    parse: Callable[[httpx.Response], Any]
    retry: wire.RetryPolicy | None = None


# A login, written once for both drivers: it yields the requests to send, gets their parsed
# answers (or their errors, thrown in), and returns the signed-in user.
_Flow = Generator[_Step, Any, CognitoUser]


def _flow(
    gateway_url: str,
    route: str,
    body: dict[str, Any],
    username: str,
    secrets: tuple[str | None, ...],
    storage: Storage | None,
    make_user: Callable[[Mapping[str, Any], Mapping[str, Any]], CognitoUser],
) -> _Flow:
    def ask(path: str, payload: dict[str, Any], more: tuple[str | None, ...] = ()) -> _Step:
        hidden = (*secrets, *more)
        return _Step(
            wire.gateway_request(gateway_url, path, payload), lambda r: _parse_answer(r, hidden)
        )

    config_step = _Step(
        wire.gateway_request(gateway_url, "/auth/config"),
        wire.parse_gateway_json,
        wire.RetryPolicy(),
    )
    config: Mapping[str, Any] | None = None
    device = None
    if storage is not None and has_devices(storage):
        # The device keys are filed under the app client's id: ask for it first.
        config = yield config_step
        client_id = config.get("clientId")
        if isinstance(client_id, str) and client_id:
            device = find_device(storage, client_id, username)
    if device is not None:
        if route == "/auth/login":
            body = {**body, "deviceKey": device.device_key}
        elif body["challengeName"] not in DEVICE_CHALLENGES:
            body = {**body, "responses": {"DEVICE_KEY": device.device_key, **body["responses"]}}
    answer = yield ask(route, body)
    while True:
        if answer.get("forgetDevice") and device is not None:
            _forget(storage, config, device, username)
            device = None
        if not _is_challenge(answer):
            break
        name = str(answer["challengeName"])
        if name != "DEVICE_SRP_AUTH" or device is None:
            raise ChallengeRequired(
                name,
                str(answer.get("session") or ""),
                answer.get("challengeParameters") or {},
                username=username,
                gateway_url=gateway_url,
            )
        try:
            answer = yield from _device_sign_in(ask, answer, device, username)
        except InvalidCredentials:
            # Cognito refused the device's proof: its keys are stale. Drop them; a login then
            # goes on without the device (and gets a new one), as Amplify does for a lost one.
            _forget(storage, config, device, username)
            device = None
            if route != "/auth/login":
                raise
            answer = yield ask(route, {k: v for k, v in body.items() if k != "deviceKey"})
    if config is None:
        config = yield config_step
    return make_user(answer, config)


def _device_sign_in(
    ask: Callable[..., _Step], answer: Mapping[str, Any], device: RememberedDevice, username: str
) -> Generator[_Step, Any, dict[str, Any]]:
    """``DEVICE_SRP_AUTH`` then ``DEVICE_PASSWORD_VERIFIER``, relayed by the gateway; the device
    password never leaves this process."""
    srp = device.srp()
    name = str((answer.get("challengeParameters") or {}).get("USERNAME") or username)
    responses = {"USERNAME": name, "DEVICE_KEY": device.device_key, "SRP_A": srp.start()}
    session = str(answer.get("session") or "")
    step: dict[str, Any] = yield ask(
        "/auth/challenge", _challenge_body(name, "DEVICE_SRP_AUTH", session, responses), (session,)
    )
    if step.get("challengeName") != "DEVICE_PASSWORD_VERIFIER" or "idToken" in step:
        return step
    params = step.get("challengeParameters") or {}
    name = str(params.get("USERNAME") or name)
    try:
        claim = srp.claim(str(params["SRP_B"]), str(params["SALT"]), str(params["SECRET_BLOCK"]))
    except (KeyError, SrpError):
        raise UnexpectedResponse("the device challenge came without valid SRP values") from None
    session = str(step.get("session") or "")
    responses = {"USERNAME": name, "DEVICE_KEY": device.device_key, **claim}
    verified: dict[str, Any] = yield ask(
        "/auth/challenge",
        _challenge_body(name, "DEVICE_PASSWORD_VERIFIER", session, responses),
        (session, claim["PASSWORD_CLAIM_SIGNATURE"]),
    )
    return verified


def _forget(
    storage: Storage | None,
    config: Mapping[str, Any] | None,
    device: RememberedDevice,
    username: str,
) -> None:
    client_id = (config or {}).get("clientId")
    if storage is not None and isinstance(client_id, str):
        forget_device(storage, client_id, device.username, username)


def _drive(flow: _Flow, client: httpx.Client) -> CognitoUser:
    step = next(flow)
    while True:
        try:
            result = wire.send(
                client, step.request, step.parse, unavailable=GatewayUnavailable, retry=step.retry
            )
        except ClientError as exc:
            try:
                step = flow.throw(exc)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            continue
        try:
            step = flow.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


async def _adrive(flow: _Flow, client: httpx.AsyncClient) -> CognitoUser:
    step = next(flow)
    while True:
        try:
            result = await wire.asend(
                client, step.request, step.parse, unavailable=GatewayUnavailable, retry=step.retry
            )
        except ClientError as exc:
            try:
                step = flow.throw(exc)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            continue
        try:
            step = flow.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def _exchange(
    gateway_url: str,
    route: str,
    body: dict[str, Any],
    username: str,
    secrets: tuple[str | None, ...],
    *,
    storage: Storage | None,
    refresh_via: RefreshVia,
    clock: Clock,
    http_client: httpx.Client | None,
    timeout: float,
) -> CognitoUser:
    def make_user(tokens: Mapping[str, Any], config: Mapping[str, Any]) -> CognitoUser:
        return _session_from_answer(
            gateway_url,
            tokens,
            config,
            username,
            storage=storage,
            refresh_via=refresh_via,
            clock=clock,
            http_client=http_client,
            async_http_client=None,
        )

    client = http_client or httpx.Client(timeout=timeout)
    try:
        flow = _flow(gateway_url, route, body, username, secrets, storage, make_user)
        return _drive(flow, client)
    finally:
        if http_client is None:
            client.close()


def login(
    gateway_url: str,
    username: str,
    password: str,
    storage: Storage | None = None,
    *,
    refresh_via: RefreshVia = "cognito",
    clock: Clock = time.time,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
    remember_device: bool | None = None,
) -> CognitoUser:
    """Log in at ``POST {gateway_url}/auth/login`` and store the session; return the user.

    The session refreshes where ``GET /auth/config`` says Cognito is, or through the gateway's
    ``/auth/refresh`` with ``refresh_via="gateway"`` (needed when the app client has a secret,
    and what makes an admin lock end the session at its next refresh). The gateway's URL is
    remembered either way, for ``sign_out(revoke=True)``.

    On a pool that remembers devices, the device is stored and used as the module says;
    ``remember_device=True`` asks an opt-in pool to remember a new one.
    """
    gateway_url = gateway_url.rstrip("/")
    return _exchange(
        gateway_url,
        "/auth/login",
        _login_body(username, password, remember_device),
        username,
        (password,),
        storage=storage,
        refresh_via=refresh_via,
        clock=clock,
        http_client=http_client,
        timeout=timeout,
    )


def respond_to_challenge(
    gateway_url: str,
    username: str,
    challenge_name: str,
    session: str,
    responses: Mapping[str, str],
    storage: Storage | None = None,
    *,
    refresh_via: RefreshVia = "cognito",
    clock: Clock = time.time,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
    remember_device: bool | None = None,
) -> CognitoUser:
    """Answer a challenge at ``POST {gateway_url}/auth/challenge``; like :func:`login` after it.

    ``responses`` are Cognito's challenge responses, e.g. ``{"SOFTWARE_TOKEN_MFA_CODE": "123456"}``
    or ``{"NEW_PASSWORD": "..."}``. Another challenge may follow (raised the same way).
    """
    gateway_url = gateway_url.rstrip("/")
    return _exchange(
        gateway_url,
        "/auth/challenge",
        _challenge_body(username, challenge_name, session, responses, remember_device),
        username,
        (session, *responses.values()),
        storage=storage,
        refresh_via=refresh_via,
        clock=clock,
        http_client=http_client,
        timeout=timeout,
    )


async def _aexchange(
    gateway_url: str,
    route: str,
    body: dict[str, Any],
    username: str,
    secrets: tuple[str | None, ...],
    *,
    storage: Storage | None,
    refresh_via: RefreshVia,
    clock: Clock,
    http_client: httpx.AsyncClient | None,
    timeout: float,
) -> CognitoUser:
    def make_user(tokens: Mapping[str, Any], config: Mapping[str, Any]) -> CognitoUser:
        return _session_from_answer(
            gateway_url,
            tokens,
            config,
            username,
            storage=storage,
            refresh_via=refresh_via,
            clock=clock,
            http_client=None,
            async_http_client=http_client,
        )

    client = http_client or httpx.AsyncClient(timeout=timeout)
    try:
        flow = _flow(gateway_url, route, body, username, secrets, storage, make_user)
        return await _adrive(flow, client)
    finally:
        if http_client is None:
            await client.aclose()


async def alogin(
    gateway_url: str,
    username: str,
    password: str,
    storage: Storage | None = None,
    *,
    refresh_via: RefreshVia = "cognito",
    clock: Clock = time.time,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
    remember_device: bool | None = None,
) -> CognitoUser:
    """:func:`login` for asyncio."""
    gateway_url = gateway_url.rstrip("/")
    return await _aexchange(
        gateway_url,
        "/auth/login",
        _login_body(username, password, remember_device),
        username,
        (password,),
        storage=storage,
        refresh_via=refresh_via,
        clock=clock,
        http_client=http_client,
        timeout=timeout,
    )


async def arespond_to_challenge(
    gateway_url: str,
    username: str,
    challenge_name: str,
    session: str,
    responses: Mapping[str, str],
    storage: Storage | None = None,
    *,
    refresh_via: RefreshVia = "cognito",
    clock: Clock = time.time,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
    remember_device: bool | None = None,
) -> CognitoUser:
    """:func:`respond_to_challenge` for asyncio."""
    gateway_url = gateway_url.rstrip("/")
    return await _aexchange(
        gateway_url,
        "/auth/challenge",
        _challenge_body(username, challenge_name, session, responses, remember_device),
        username,
        (session, *responses.values()),
        storage=storage,
        refresh_via=refresh_via,
        clock=clock,
        http_client=http_client,
        timeout=timeout,
    )
