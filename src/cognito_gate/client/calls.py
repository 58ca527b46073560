"""The refresh and revoke calls a user makes, built without I/O.

:class:`CognitoUser` sends them with its sync or its async driver; what to send, where, and how
to read the answer is decided here once for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from cognito_gate.client import wire
from cognito_gate.client.errors import (
    ClientError,
    CognitoUnavailable,
    GatewayUnavailable,
    NotAuthorized,
    RefreshFailed,
    Unavailable,
)
from cognito_gate.client.pool import CognitoUserPool
from cognito_gate.client.session import CognitoUserSession


def leeway(session: CognitoUserSession, min_ttl: float) -> float:
    """The time to spare that ``min_ttl`` asks for: at most half the tokens' life."""
    if min_ttl <= 0:
        return 0.0
    # More than half would make short-lived tokens refresh on every call.
    lifetime = session.lifetime
    return min(min_ttl, lifetime / 2) if lifetime else min_ttl


@dataclass(frozen=True)
class Want:
    """Why a refresh is wanted, so that a session someone else just refreshed can serve instead."""

    min_ttl: float = 0.0
    rejected_access_token: str | None = None
    force: bool = False
    refresh_token: str | None = None

    def satisfied_by(self, current: CognitoUserSession | None) -> bool:
        """True when ``current`` (read under the lock) makes the refresh needless."""
        if self.force or current is None:
            return False
        if current.access_token.jwt_token == self.rejected_access_token:
            return False
        return current.is_valid(leeway(current, self.min_ttl))


@dataclass(frozen=True)
class RefreshCall:
    """A refresh: the request, how to read its answer, and which refresh token it spends."""

    request: httpx.Request
    parse: Callable[[httpx.Response], wire.AuthResult]
    unavailable: type[Unavailable]
    refresh_token: str


@dataclass(frozen=True)
class RevokeCall:
    """A revocation of the refresh token (sign-out)."""

    request: httpx.Request
    parse: Callable[[httpx.Response], None]
    unavailable: type[Unavailable]


# A refresh token already refused is what signing out wants; a refused global sign-out is not.
ALREADY_UNUSABLE: dict[bool, tuple[type[ClientError], ...]] = {
    False: (RefreshFailed, NotAuthorized),
    True: (RefreshFailed,),
}


def internal_username(current: CognitoUserSession | None, fallback: str) -> str:
    """Cognito's own username (``cognito:username``), which SECRET_HASH is computed over."""
    if current is not None:
        for claims, name in (
            (current.id_token.payload, "cognito:username"),
            (current.access_token.payload, "username"),
        ):
            value = claims.get(name)
            if isinstance(value, str) and value:
                return value
    return fallback


def refresh_call(
    pool: CognitoUserPool,
    username: str,
    current: CognitoUserSession | None,
    refresh_token: str,
    device_key: str | None,
) -> RefreshCall:
    """``InitiateAuth REFRESH_TOKEN_AUTH`` at Cognito, or ``/auth/refresh`` at the gateway."""
    if pool.refresh_via == "gateway":
        assert pool.gateway_url is not None
        body = {"refreshToken": refresh_token, "username": username}
        if device_key:  # a pool that remembers devices refreshes only with the device's key
            body["deviceKey"] = device_key
        request = wire.gateway_request(pool.gateway_url, "/auth/refresh", body)
        secrets = (refresh_token,)

        def parse(response: httpx.Response) -> wire.AuthResult:
            return wire.parse_tokens_object(wire.parse_gateway_json(response, secrets))

        return RefreshCall(request, parse, GatewayUnavailable, refresh_token)
    secret_hash = None
    if pool.client_secret:
        name = internal_username(current, username)
        secret_hash = wire.secret_hash(pool.client_secret, name, pool.client_id)
    request = wire.refresh_request(
        pool.endpoint,
        pool.client_id,
        refresh_token,
        device_key=device_key,
        secret_hash=secret_hash,
    )
    return RefreshCall(request, wire.parse_cognito_auth, CognitoUnavailable, refresh_token)


def _parse_gateway_empty(response: httpx.Response) -> None:
    if not response.is_success:
        raise wire.gateway_error(response)


def revoke_call(
    pool: CognitoUserPool, session: CognitoUserSession | None, everywhere: bool = False
) -> RevokeCall | None:
    """``POST /auth/logout`` when the session came from a gateway, else Cognito's RevokeToken."""
    refresh_token = session.refresh_token.token if session else ""
    if session is None or not refresh_token:
        return None
    if pool.gateway_url:
        body: dict[str, Any] = {"refreshToken": refresh_token}
        bearer = None
        if everywhere:
            body["everywhere"] = True
            bearer = session.access_token.jwt_token
        request = wire.gateway_request(pool.gateway_url, "/auth/logout", body, bearer=bearer)
        return RevokeCall(request, _parse_gateway_empty, GatewayUnavailable)
    if not session.access_token.payload.get("origin_jti"):
        return None  # as the JS library: a token without origin_jti cannot be revoked
    revoke: dict[str, Any] = {"Token": refresh_token, "ClientId": pool.client_id}
    if pool.client_secret:
        revoke["ClientSecret"] = pool.client_secret
    request = wire.cognito_request(pool.endpoint, "RevokeToken", revoke)
    return RevokeCall(request, wire.parse_cognito_empty, CognitoUnavailable)
