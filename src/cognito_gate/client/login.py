"""Log in through the gateway and set the session up from its answer.

``login`` posts ``/auth/login``; an answer with tokens is turned into a stored session with
:func:`setup_session`, using ``GET /auth/config`` to learn where Cognito is; an answer that asks
for a challenge raises :class:`ChallengeRequired`, to be answered with ``respond_to_challenge``.
A password check is never retried here: each attempt counts towards the lockout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from cognito_gate.client import wire
from cognito_gate.client.errors import ChallengeRequired, GatewayUnavailable, UnexpectedResponse
from cognito_gate.client.pool import RefreshVia
from cognito_gate.client.session import Clock
from cognito_gate.client.setup import setup_session
from cognito_gate.client.storage import Storage
from cognito_gate.client.user import CognitoUser


def _parse_login(
    response: httpx.Response, gateway_url: str, username: str, secrets: tuple[str | None, ...]
) -> dict[str, Any]:
    body = wire.parse_gateway_json(response, secrets)
    if "challengeName" in body and "idToken" not in body:
        raise ChallengeRequired(
            str(body["challengeName"]),
            str(body.get("session") or ""),
            body.get("challengeParameters") or {},
            username=username,
            gateway_url=gateway_url,
        )
    wire.parse_tokens_object(body)  # raises when the tokens are missing
    return body


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
    return setup_session(
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


def _challenge_body(
    username: str, challenge_name: str, session: str, responses: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "username": username,
        "challengeName": challenge_name,
        "session": session,
        "responses": dict(responses),
    }


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
    client = http_client or httpx.Client(timeout=timeout)
    try:
        tokens = wire.send(
            client,
            wire.gateway_request(gateway_url, route, body),
            lambda r: _parse_login(r, gateway_url, username, secrets),
            unavailable=GatewayUnavailable,
        )
        config = wire.send(
            client,
            wire.gateway_request(gateway_url, "/auth/config"),
            wire.parse_gateway_json,
            unavailable=GatewayUnavailable,
            retry=wire.RetryPolicy(),
        )
    finally:
        if http_client is None:
            client.close()
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
) -> CognitoUser:
    """Log in at ``POST {gateway_url}/auth/login`` and store the session; return the user.

    The session refreshes where ``GET /auth/config`` says Cognito is, or through the gateway's
    ``/auth/refresh`` with ``refresh_via="gateway"`` (needed when the app client has a secret,
    and what makes an admin lock end the session at its next refresh). The gateway's URL is
    remembered either way, for ``sign_out(revoke=True)``.
    """
    gateway_url = gateway_url.rstrip("/")
    return _exchange(
        gateway_url,
        "/auth/login",
        {"username": username, "password": password},
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
) -> CognitoUser:
    """Answer a challenge at ``POST {gateway_url}/auth/challenge``; like :func:`login` after it.

    ``responses`` are Cognito's challenge responses, e.g. ``{"SOFTWARE_TOKEN_MFA_CODE": "123456"}``
    or ``{"NEW_PASSWORD": "..."}``. Another challenge may follow (raised the same way).
    """
    gateway_url = gateway_url.rstrip("/")
    return _exchange(
        gateway_url,
        "/auth/challenge",
        _challenge_body(username, challenge_name, session, responses),
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
    client = http_client or httpx.AsyncClient(timeout=timeout)
    try:
        tokens = await wire.asend(
            client,
            wire.gateway_request(gateway_url, route, body),
            lambda r: _parse_login(r, gateway_url, username, secrets),
            unavailable=GatewayUnavailable,
        )
        config = await wire.asend(
            client,
            wire.gateway_request(gateway_url, "/auth/config"),
            wire.parse_gateway_json,
            unavailable=GatewayUnavailable,
            retry=wire.RetryPolicy(),
        )
    finally:
        if http_client is None:
            await client.aclose()
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
) -> CognitoUser:
    """:func:`login` for asyncio."""
    gateway_url = gateway_url.rstrip("/")
    return await _aexchange(
        gateway_url,
        "/auth/login",
        {"username": username, "password": password},
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
) -> CognitoUser:
    """:func:`respond_to_challenge` for asyncio."""
    gateway_url = gateway_url.rstrip("/")
    return await _aexchange(
        gateway_url,
        "/auth/challenge",
        _challenge_body(username, challenge_name, session, responses),
        username,
        (session, *responses.values()),
        storage=storage,
        refresh_via=refresh_via,
        clock=clock,
        http_client=http_client,
        timeout=timeout,
    )
