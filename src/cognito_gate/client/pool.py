"""CognitoUserPool: which pool and app client, where the session is stored, where refresh goes."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import httpx

from cognito_gate.client import wire
from cognito_gate.client.errors import NotSignedIn
from cognito_gate.client.session import Clock, CognitoUserSession
from cognito_gate.client.storage import MemoryStorage, Storage

if TYPE_CHECKING:
    from cognito_gate.client.user import CognitoUser

KEY_PREFIX = "CognitoIdentityServiceProvider"
CONFIG_PREFIX = "cognito-gate."
"""Keys of this library's own, beside the JS library's; the JS library never reads them."""

_POOL_ID = re.compile(r"^[\w-]+_[0-9a-zA-Z]+$")
RefreshVia = Literal["cognito", "gateway"]


@lru_cache(maxsize=1)
def _user_class() -> type[CognitoUser]:
    # user.py imports this module; import it back lazily, once.
    from cognito_gate.client.user import CognitoUser

    return CognitoUser


class CognitoUserPool:
    """A user pool's app client, as amazon-cognito-identity-js's ``CognitoUserPool``.

    ``endpoint`` is where Cognito's API is (default ``https://cognito-idp.{region}.amazonaws.com/``;
    an emulator, a VPC endpoint, or ``GATEWAY/cognito/``). With ``refresh_via="gateway"`` sessions
    refresh through ``POST {gateway_url}/auth/refresh`` instead. ``client_secret`` is only needed
    when the app client has one and refresh goes to Cognito; it is never stored.
    """

    def __init__(
        self,
        user_pool_id: str,
        client_id: str,
        *,
        storage: Storage | None = None,
        endpoint: str | None = None,
        region: str | None = None,
        client_secret: str | None = None,
        gateway_url: str | None = None,
        refresh_via: RefreshVia | None = None,
        clock: Clock = time.time,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        retry: wire.RetryPolicy | None = None,
    ) -> None:
        if not user_pool_id or not client_id:
            raise ValueError("Both UserPoolId and ClientId are required.")
        if len(user_pool_id) > 55 or not _POOL_ID.match(user_pool_id):
            raise ValueError("Invalid UserPoolId format.")
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.region = region or user_pool_id.split("_")[0]
        self.endpoint = endpoint or f"https://cognito-idp.{self.region}.amazonaws.com/"
        self.custom_endpoint = endpoint
        self.storage: Storage = storage if storage is not None else MemoryStorage()
        self.client_secret = client_secret
        self.gateway_url = gateway_url.rstrip("/") if gateway_url else None
        self.refresh_via: RefreshVia = refresh_via or ("gateway" if gateway_url else "cognito")
        if self.refresh_via == "gateway" and not self.gateway_url:
            raise ValueError("refresh_via='gateway' needs gateway_url")
        self.clock = clock
        self.timeout = timeout
        self.retry = retry if retry is not None else wire.RetryPolicy()
        self.key_prefix = f"{KEY_PREFIX}.{client_id}"
        self._last_user_key = f"{self.key_prefix}.LastAuthUser"
        # username -> (the storage snapshot read, the session built from it)
        self.loaded_sessions: dict[str, tuple[Mapping[str, str], CognitoUserSession | None]] = {}
        self._http = http_client
        self._async_http = async_http_client
        self._own_http = http_client is None
        self._http_lock = threading.Lock()

    # -- as the JS library ----------------------------------------------------------------------

    def get_user_pool_id(self) -> str:
        """The user pool id."""
        return self.user_pool_id

    def get_client_id(self) -> str:
        """The app client id."""
        return self.client_id

    def get_current_user(self) -> CognitoUser | None:
        """The user named by ``LastAuthUser`` in storage, or None when nobody is signed in."""
        data = self.storage.snapshot()
        last = data.get(self._last_user_key)
        return _user_class()(last, self, storage_read=data) if last else None

    # -- this library's own keys ----------------------------------------------------------------

    def config_changes(self) -> dict[str, str | None]:
        """The keys that let :meth:`from_storage` rebuild this pool (never the client secret)."""
        return {
            CONFIG_PREFIX + "userPoolId": self.user_pool_id,
            CONFIG_PREFIX + "clientId": self.client_id,
            CONFIG_PREFIX + "region": self.region,
            CONFIG_PREFIX + "endpoint": self.custom_endpoint,
            CONFIG_PREFIX + "gatewayUrl": self.gateway_url,
            CONFIG_PREFIX + "refreshVia": self.refresh_via,
        }

    @classmethod
    def from_storage(cls, storage: Storage, **options: Any) -> CognitoUserPool:
        """The pool a session in ``storage`` was set up with (by :func:`setup_session`)."""
        data: Mapping[str, str] = storage.snapshot()
        pool_id, client_id = (
            data.get(CONFIG_PREFIX + "userPoolId"),
            data.get(CONFIG_PREFIX + "clientId"),
        )
        if not pool_id or not client_id:
            raise NotSignedIn()
        via = data.get(CONFIG_PREFIX + "refreshVia")
        settings: dict[str, Any] = {
            "storage": storage,
            "endpoint": data.get(CONFIG_PREFIX + "endpoint"),
            "region": data.get(CONFIG_PREFIX + "region"),
            "gateway_url": data.get(CONFIG_PREFIX + "gatewayUrl"),
            "refresh_via": via if via in ("cognito", "gateway") else None,
        }
        settings.update(options)
        return cls(pool_id, client_id, **settings)

    # -- HTTP -----------------------------------------------------------------------------------

    def http_client(self) -> httpx.Client:
        """The ``httpx.Client`` refresh calls use (made on first use unless one was given)."""
        if self._http is None:
            with self._http_lock:
                if self._http is None:
                    self._http = httpx.Client(timeout=self.timeout)
        return self._http

    @asynccontextmanager
    async def async_http_client(self) -> AsyncIterator[httpx.AsyncClient]:
        """The ``httpx.AsyncClient`` given, or a new one for this call (one is bound to a loop)."""
        if self._async_http is not None:
            yield self._async_http
            return
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            yield client

    def close(self) -> None:
        """Close the HTTP client this pool made (not one that was given)."""
        if self._own_http and self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> CognitoUserPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"CognitoUserPool(user_pool_id={self.user_pool_id!r}, client_id={self.client_id!r}, "
            f"storage={self.storage!r}, refresh_via={self.refresh_via!r})"
        )
