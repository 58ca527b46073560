"""``setup_session``: a stored session from tokens issued elsewhere; ``current_user`` to find it."""

from __future__ import annotations

import time
from typing import Any

import httpx

from cognito_gate.client.errors import NotSignedIn
from cognito_gate.client.pool import CognitoUserPool, RefreshVia
from cognito_gate.client.session import Clock, CognitoUserSession
from cognito_gate.client.storage import Storage
from cognito_gate.client.tokens import CognitoAccessToken, CognitoIdToken, CognitoRefreshToken
from cognito_gate.client.user import CognitoUser


def setup_session(
    username: str,
    access_token: str,
    id_token: str,
    refresh_token: str,
    user_pool_id: str,
    app_client_id: str,
    *,
    storage: Storage | None = None,
    endpoint: str | None = None,
    region: str | None = None,
    gateway_url: str | None = None,
    refresh_via: RefreshVia | None = None,
    client_secret: str | None = None,
    clock: Clock = time.time,
    http_client: httpx.Client | None = None,
    async_http_client: httpx.AsyncClient | None = None,
) -> CognitoUser:
    """Set a session up from tokens issued elsewhere (the gateway), as Amplify's recipe does.

    The Python twin of ``setupAmplifySession``: builds the tokens, the session, the pool and the
    user, then ``set_sign_in_user_session`` stores it under the JS library's keys (plus this
    library's ``cognito-gate.*`` keys, so :meth:`CognitoUserPool.from_storage` finds the pool).
    ``storage=None`` is a new :class:`MemoryStorage`. With ``gateway_url`` the session refreshes
    through the gateway unless ``refresh_via="cognito"``.
    """
    pool = CognitoUserPool(
        user_pool_id,
        app_client_id,
        storage=storage,
        endpoint=endpoint,
        region=region,
        client_secret=client_secret,
        gateway_url=gateway_url,
        refresh_via=refresh_via,
        clock=clock,
        http_client=http_client,
        async_http_client=async_http_client,
    )
    session = CognitoUserSession(
        CognitoIdToken(id_token),
        CognitoAccessToken(access_token),
        CognitoRefreshToken(refresh_token),
        clock=clock,
    )
    user = CognitoUser(username, pool)
    user.set_sign_in_user_session(session, extra=pool.config_changes())
    return user


def current_user(storage: Storage, **options: Any) -> CognitoUser:
    """The signed-in user of a storage set up by :func:`setup_session` or :func:`login`."""
    user = CognitoUserPool.from_storage(storage, **options).get_current_user()
    if user is None:
        raise NotSignedIn()
    return user
