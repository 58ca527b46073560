"""CognitoUser: one user's stored session, refreshed (once, for everyone) when it expires.

Refresh is shared: whoever finds the session expired takes the storage's lock, reads the storage
again and refreshes only if nobody did meanwhile. So a hundred threads, tasks or processes that
meet one expired token make one refresh call, and all of them get its tokens.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Mapping
from functools import lru_cache

from cognito_gate.client import wire
from cognito_gate.client.calls import (
    ALREADY_UNUSABLE,
    RefreshCall,
    Want,
    leeway,
    refresh_call,
    revoke_call,
)
from cognito_gate.client.errors import ClientError, NotSignedIn, RefreshFailed
from cognito_gate.client.pool import CognitoUserPool
from cognito_gate.client.session import CognitoUserSession
from cognito_gate.client.storage import Changes, Storage, Transaction
from cognito_gate.client.tokens import CognitoAccessToken, CognitoIdToken, CognitoRefreshToken

_LEADING_INT = re.compile(r"^\s*([-+]?\d+)")
_FIRST_READ_FRESH = 0.01  # seconds


def _parse_drift(value: str | None) -> int:
    # As the JS library's ``parseInt(value) || 0``.
    match = _LEADING_INT.match(value or "")
    return int(match.group(1)) if match else 0


@lru_cache(maxsize=256)
def _user_keys(key_prefix: str, username: str) -> tuple[str, ...]:
    user_prefix = f"{key_prefix}.{username}"
    names = ("idToken", "accessToken", "refreshToken", "clockDrift", "userData")
    devices = ("deviceKey", "randomPasswordKey", "deviceGroupKey")
    return (
        *(f"{user_prefix}.{n}" for n in names + devices),
        f"{key_prefix}.LastAuthUser",
    )


class CognitoUser:
    """A user of a pool, as amazon-cognito-identity-js's ``CognitoUser``.

    The storage keys are ``CognitoIdentityServiceProvider.{clientId}.{username}.*`` with the
    ``username`` given here, as the JS library writes them; use the ``cognito:username`` (the
    gateway's ``username``) so Amplify's ``getCurrentUser()`` finds the same keys.
    """

    def __init__(
        self,
        username: str,
        pool: CognitoUserPool,
        *,
        storage_read: Mapping[str, str] | None = None,
    ) -> None:
        if not username:
            raise ValueError("Username and Pool information are required.")
        self.username = username
        self.pool = pool
        self._session: CognitoUserSession | None = None
        # What get_current_user() read to find this user: the first get_session() right after
        # uses it, so that LastAuthUser and the tokens come from one version of the storage.
        self._first_read = storage_read
        self._first_read_at = time.monotonic() if storage_read is not None else 0.0
        (
            self._k_id,
            self._k_access,
            self._k_refresh,
            self._k_drift,
            self._k_user_data,
            self._k_device_key,
            self._k_random_password,
            self._k_device_group_key,
            self._k_last_user,
        ) = _user_keys(pool.key_prefix, username)

    @property
    def storage(self) -> Storage:
        """The pool's storage."""
        return self.pool.storage

    def get_username(self) -> str:
        """The username the storage keys use."""
        return self.username

    def get_sign_in_user_session(self) -> CognitoUserSession | None:
        """The session held in memory, if any (valid or not)."""
        return self._session

    # -- storing ---------------------------------------------------------------------------------

    def _cache_changes(self, session: CognitoUserSession) -> dict[str, str | None]:
        return {
            self._k_id: session.id_token.jwt_token,
            self._k_access: session.access_token.jwt_token,
            self._k_refresh: session.refresh_token.token,
            self._k_drift: str(session.clock_drift),
            self._k_last_user: self.username,
        }

    def _clear_changes(self) -> dict[str, str | None]:
        keys = (self._k_id, self._k_access, self._k_refresh, self._k_last_user, self._k_drift)
        return {**dict.fromkeys(keys), self._k_user_data: None}

    def set_sign_in_user_session(
        self, session: CognitoUserSession, *, extra: Changes | None = None
    ) -> None:
        """Hold ``session`` and store it (the JS ``setSignInUserSession``: drops ``userData``)."""
        self._session = session
        self.storage.update(
            {self._k_user_data: None, **self._cache_changes(session), **(extra or {})}
        )

    def cache_tokens(self) -> None:
        """Store the session held in memory."""
        if self._session is None:
            raise NotSignedIn()
        self.storage.update(self._cache_changes(self._session))

    def clear_cached_user(self) -> None:
        """Remove this user's tokens, ``LastAuthUser`` and ``userData`` (device keys stay)."""
        self.storage.update(self._clear_changes())

    def _session_from(self, data: Mapping[str, str]) -> CognitoUserSession | None:
        # A storage's snapshot is a new object whenever its content changes, so the session
        # built from one can serve every user object of the pool until then.
        cached = self.pool.loaded_sessions.get(self.username)
        if cached is not None and cached[0] is data:
            return cached[1]
        session = None
        id_token = data.get(self._k_id)
        if id_token:
            session = CognitoUserSession(
                CognitoIdToken(id_token),
                CognitoAccessToken(data.get(self._k_access)),
                CognitoRefreshToken(data.get(self._k_refresh)),
                _parse_drift(data.get(self._k_drift)),
                clock=self.pool.clock,
            )
        self.pool.loaded_sessions[self.username] = (data, session)
        return session

    def get_stored_session(self) -> CognitoUserSession | None:
        """The session in storage as it is, valid or not, without refreshing."""
        return self._session_from(self.storage.snapshot())

    @property
    def device_key(self) -> str | None:
        """The remembered device's key, when the JS library stored one for this user."""
        return self.storage.get_item(self._k_device_key)

    def get_cached_device_key_and_password(self) -> dict[str, str | None]:
        """The three device keys the JS library stores after ``ConfirmDevice``."""
        data = self.storage.snapshot()
        return {
            "deviceKey": data.get(self._k_device_key),
            "randomPassword": data.get(self._k_random_password),
            "deviceGroupKey": data.get(self._k_device_group_key),
        }

    # -- getting a valid session -----------------------------------------------------------------

    def _valid_without_refresh(self, min_ttl: float) -> CognitoUserSession | None:
        held = self._session
        if held is not None and held.is_valid(leeway(held, min_ttl)):
            return held
        data, self._first_read = self._first_read, None
        if data is None or time.monotonic() - self._first_read_at > _FIRST_READ_FRESH:
            data = self.storage.snapshot()
        stored = self._session_from(data)
        if stored is None:
            raise NotSignedIn("not signed in (no ID token stored); log in first")
        if stored.is_valid(leeway(stored, min_ttl)):
            self._session = stored
            return stored
        if not stored.refresh_token.token:
            raise NotSignedIn("the session has expired and there is no refresh token; log in again")
        return None

    def get_session(self, *, min_ttl: float = 0.0) -> CognitoUserSession:
        """A valid session: the one held, the stored one, or a refreshed one (stored).

        ``min_ttl`` asks for tokens valid that many seconds longer (capped at half their life),
        so a request does not leave with a token about to expire.
        """
        held = self._session
        # held.is_valid(), inlined: this is the hot path.
        if held is not None and not min_ttl and held._clock() < held._deadline:
            return held
        session = self._valid_without_refresh(min_ttl)
        if session is not None:
            return session
        return self._refresh(Want(min_ttl=min_ttl))

    async def aget_session(self, *, min_ttl: float = 0.0) -> CognitoUserSession:
        """:meth:`get_session` for asyncio."""
        session = self._valid_without_refresh(min_ttl)
        if session is not None:
            return session
        return await self._arefresh(Want(min_ttl=min_ttl))

    def refresh_session(
        self, refresh_token: CognitoRefreshToken | str | None = None
    ) -> CognitoUserSession:
        """Refresh now (``refresh_token`` or the stored one); return the new, stored session."""
        return self._refresh(Want(force=True, refresh_token=_token_text(refresh_token)))

    async def arefresh_session(
        self, refresh_token: CognitoRefreshToken | str | None = None
    ) -> CognitoUserSession:
        """:meth:`refresh_session` for asyncio."""
        return await self._arefresh(Want(force=True, refresh_token=_token_text(refresh_token)))

    def refresh_rejected(self, access_token: str, *, min_ttl: float = 0.0) -> CognitoUserSession:
        """A session whose access token is not ``access_token`` (which a server refused)."""
        return self._refresh(Want(min_ttl=min_ttl, rejected_access_token=access_token))

    async def arefresh_rejected(
        self, access_token: str, *, min_ttl: float = 0.0
    ) -> CognitoUserSession:
        """:meth:`refresh_rejected` for asyncio."""
        return await self._arefresh(Want(min_ttl=min_ttl, rejected_access_token=access_token))

    # -- refresh: plan without I/O, send with either driver, store under the lock -------------

    def _plan(self, data: Mapping[str, str], want: Want) -> CognitoUserSession | RefreshCall:
        current = self._session_from(data)
        if want.satisfied_by(current):
            assert current is not None
            return current
        refresh_token = want.refresh_token or (current.refresh_token.token if current else "")
        if not refresh_token:
            raise NotSignedIn("not signed in (no refresh token stored); log in first")
        device_key = data.get(self._k_device_key)
        return refresh_call(self.pool, self.username, current, refresh_token, device_key)

    def _stored(
        self, txn: Transaction, call: RefreshCall, result: wire.AuthResult
    ) -> CognitoUserSession:
        # Without rotation Cognito sends no refresh token: the old one goes on working.
        session = CognitoUserSession(
            CognitoIdToken(result.id_token),
            CognitoAccessToken(result.access_token),
            CognitoRefreshToken(result.refresh_token or call.refresh_token),
            clock=self.pool.clock,
        )
        txn.write(self._cache_changes(session))
        self._session = session
        return session

    def _failed(self, txn: Transaction, call: RefreshCall, exc: ClientError) -> None:
        if not isinstance(exc, RefreshFailed):
            return
        self._session = None
        # As the JS library: a refused refresh token clears the user, unless another is stored now.
        if txn.read().get(self._k_refresh) in (None, "", call.refresh_token):
            txn.write(self._clear_changes())

    def _refresh(self, want: Want) -> CognitoUserSession:
        with self.storage.locked() as txn:
            plan = self._plan(txn.read(), want)
            if isinstance(plan, CognitoUserSession):
                self._session = plan
                return plan
            try:
                result = wire.send(
                    self.pool.http_client(),
                    plan.request,
                    plan.parse,
                    unavailable=plan.unavailable,
                    retry=self.pool.retry,
                )
            except ClientError as exc:
                self._failed(txn, plan, exc)
                raise
            return self._stored(txn, plan, result)

    async def _arefresh(self, want: Want) -> CognitoUserSession:
        async with self.storage.alocked() as txn:
            plan = self._plan(txn.read(), want)
            if isinstance(plan, CognitoUserSession):
                self._session = plan
                return plan
            try:
                async with self.pool.async_http_client() as client:
                    result = await wire.asend(
                        client,
                        plan.request,
                        plan.parse,
                        unavailable=plan.unavailable,
                        retry=self.pool.retry,
                    )
            except ClientError as exc:
                self._failed(txn, plan, exc)
                raise
            return self._stored(txn, plan, result)

    # -- signing out -----------------------------------------------------------------------------

    def sign_out(self, *, revoke: bool = False, everywhere: bool = False) -> None:
        """Forget the session. With ``revoke``, first revoke the refresh token at the gateway
        (``POST /auth/logout``) when the session came from one, else at Cognito (``RevokeToken``).
        ``everywhere`` (gateway only) also ends every other session of the user; it needs a
        valid access token, so the session is refreshed first when it has expired.

        The local session is cleared even when revoking fails; the error is raised afterwards.
        """
        try:
            session = self._session or self.get_stored_session()
            if revoke and everywhere and session is not None:
                session = self.get_session(min_ttl=30)
            call = revoke_call(self.pool, session, everywhere) if revoke else None
            if call is not None:
                with contextlib.suppress(*ALREADY_UNUSABLE[everywhere]):
                    wire.send(
                        self.pool.http_client(),
                        call.request,
                        call.parse,
                        unavailable=call.unavailable,
                    )
        finally:
            self._sign_out_locally()

    async def asign_out(self, *, revoke: bool = False, everywhere: bool = False) -> None:
        """:meth:`sign_out` for asyncio."""
        try:
            session = self._session or self.get_stored_session()
            if revoke and everywhere and session is not None:
                session = await self.aget_session(min_ttl=30)
            call = revoke_call(self.pool, session, everywhere) if revoke else None
            if call is not None:
                with contextlib.suppress(*ALREADY_UNUSABLE[everywhere]):
                    async with self.pool.async_http_client() as client:
                        await wire.asend(
                            client, call.request, call.parse, unavailable=call.unavailable
                        )
        finally:
            self._session = None
            async with self.storage.alocked() as txn:
                txn.write(self._sign_out_changes(txn.read()))

    def _sign_out_locally(self) -> None:
        self._session = None
        with self.storage.locked() as txn:
            txn.write(self._sign_out_changes(txn.read()))

    def _sign_out_changes(self, data: Mapping[str, str]) -> dict[str, str | None]:
        # The pool's own keys go too, unless another user of the storage is signed in now.
        others = data.get(self._k_last_user) not in (None, self.username)
        config = {} if others else dict.fromkeys(self.pool.config_changes())
        return {**self._clear_changes(), **config}

    def __repr__(self) -> str:
        return f"CognitoUser(username={self.username!r}, pool={self.pool.user_pool_id!r})"


def _token_text(token: CognitoRefreshToken | str | None) -> str | None:
    if isinstance(token, CognitoRefreshToken):
        return token.token or None
    return token or None
