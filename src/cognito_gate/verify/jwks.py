"""The JWKS: fetched once, parsed into ready RSA keys, refetched only for an unknown ``kid``.

A fetch for an unknown ``kid`` happens at most once per ``refetch_interval`` per JWKS URI (the
penalty box). Inside that interval an unknown ``kid`` fails fast (:class:`JwksRefetchTooSoon`)
instead of waiting, so a flood of forged ``kid`` values costs one fetch per interval and stalls
no request. Threads that need the same refetch wait for the one fetch in flight instead of
starting their own. ``hydrate`` (start-up) and ``load`` do not arm the penalty box.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from cognito_gate.verify.errors import (
    InvalidJwk,
    JwksFetchError,
    JwksRefetchTooSoon,
    KidNotFound,
    shown,
)
from cognito_gate.verify.signature import Rs256Key

MIN_RSA_BITS = 2048
DEFAULT_REFETCH_INTERVAL = 10.0


class JwksFetcher(Protocol):
    """Fetches a JWKS URI and returns the parsed JSON document (raise to report a failure)."""

    def __call__(self, uri: str, /) -> object: ...


class Clock(Protocol):
    """Now, in seconds since the epoch (``time.time`` by default)."""

    def __call__(self) -> float: ...


class HttpJwksFetcher:
    """The default fetcher: an HTTP GET with a timeout and a cap on the response size."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        max_bytes: int = 256 * 1024,
        client: httpx.Client | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._client = client

    def __call__(self, uri: str, /) -> object:
        try:
            if self._client is not None:
                body = self._get(self._client, uri)
            else:
                with httpx.Client(timeout=self.timeout) as client:
                    body = self._get(client, uri)
        except httpx.HTTPError as exc:
            raise JwksFetchError(f"JWKS fetch from {uri} failed: {type(exc).__name__}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise JwksFetchError(f"JWKS from {uri} is not JSON") from exc

    def _get(self, client: httpx.Client, uri: str) -> bytes:
        headers = {"Accept": "application/json"}
        with client.stream("GET", uri, headers=headers, timeout=self.timeout) as response:
            if response.status_code != 200:
                raise JwksFetchError(
                    f"JWKS fetch from {uri}: expected HTTP 200, got {response.status_code}"
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    raise JwksFetchError(f"JWKS from {uri} is over the {self.max_bytes}-byte limit")
        return bytes(body)


def _b64url_uint(value: object, name: str) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError(f"'{name}' is not a base64url string")
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"'{name}' is not base64url") from None
    return int.from_bytes(raw, "big")


def rsa_key_from_jwk(jwk: Mapping[str, Any]) -> RSAPublicKey:
    """The RSA public key of a JWK fit for RS256 signatures; ValueError says why it is not."""
    if jwk.get("kty") != "RSA":
        raise ValueError(f"kty is {shown(jwk.get('kty'))}, expected 'RSA'")
    if jwk.get("use", "sig") != "sig":
        raise ValueError(f"use is {shown(jwk.get('use'))}, expected 'sig'")
    if jwk.get("alg", "RS256") != "RS256":
        raise ValueError(f"alg is {shown(jwk.get('alg'))}, expected 'RS256'")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise ValueError("key_ops does not allow 'verify'")
    n, e = _b64url_uint(jwk.get("n"), "n"), _b64url_uint(jwk.get("e"), "e")
    if n.bit_length() < MIN_RSA_BITS:
        raise ValueError(f"the RSA key has {n.bit_length()} bits, at least {MIN_RSA_BITS} needed")
    if e < 3 or e % 2 == 0:
        raise ValueError("the RSA public exponent is not an odd number above 1")
    return RSAPublicNumbers(e, n).public_key()


def parse_jwks(document: object) -> tuple[dict[str, Rs256Key], dict[str, str]]:
    """Ready keys by ``kid``, and the ``kid`` of each unusable JWK with the reason.

    Raises :class:`JwksFetchError` when the document is not a JWKS at all.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksFetchError("the JWKS is not a JSON object with a 'keys' list")
    keys: dict[str, Rs256Key] = {}
    unusable: dict[str, str] = {}
    seen: set[str] = set()
    for jwk in document["keys"]:
        kid = jwk.get("kid") if isinstance(jwk, Mapping) else None
        if not isinstance(kid, str) or not kid:
            continue  # a key without kid can never be chosen by a token
        if kid in seen:
            keys.pop(kid, None)
            unusable[kid] = "the kid appears more than once in the JWKS"
            continue
        seen.add(kid)
        try:
            keys[kid] = Rs256Key(rsa_key_from_jwk(jwk))
        except ValueError as exc:
            unusable[kid] = str(exc)
    return keys, unusable


class JwksCache:
    """The keys of one JWKS URI. ``keys`` is read without a lock; it is replaced, never changed."""

    def __init__(
        self,
        uri: str,
        *,
        fetcher: JwksFetcher,
        clock: Clock,
        refetch_interval: float = DEFAULT_REFETCH_INTERVAL,
    ) -> None:
        if not (isinstance(refetch_interval, int | float) and math.isfinite(refetch_interval)):
            raise ValueError("refetch_interval must be a finite number of seconds")
        self.uri = uri
        self.keys: Mapping[str, Rs256Key] = {}
        self.fetches = 0
        self._unusable: Mapping[str, str] = {}
        self._fetcher = fetcher
        self._clock = clock
        self._interval = refetch_interval
        self._loaded = False
        self._last_fetch: float | None = None
        self._last_error: str | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether a JWKS has been fetched or loaded."""
        return self._loaded

    def load(self, document: object) -> None:
        """Use this JWKS document (e.g. a copy shipped with the app) instead of fetching."""
        keys, unusable = parse_jwks(document)
        with self._lock:
            self._install(keys, unusable)

    def hydrate(self) -> None:
        """Fetch now unless already loaded, whatever the penalty box says (start-up)."""
        with self._lock:
            if not self._loaded:
                self._fetch(arm=False)

    def key_for(self, kid: str) -> Rs256Key:
        """The key for ``kid``, refetching the JWKS if allowed; the slow path of verification."""
        unusable = self._unusable.get(kid)
        if unusable is not None:
            raise InvalidJwk(f"the JWK for kid {shown(kid)} cannot verify RS256: {unusable}")
        with self._lock:
            key = self.keys.get(kid)
            if key is not None:  # another thread's refetch brought it meanwhile
                return key
            now = self._clock()
            if self._last_fetch is not None and now < self._last_fetch + self._interval:
                wait = self._last_fetch + self._interval - now
                if self._last_error is not None:
                    raise JwksFetchError(
                        f"the last JWKS fetch from {self.uri} failed ({self._last_error}); "
                        f"next try in {wait:.1f}s"
                    )
                raise JwksRefetchTooSoon(
                    f"kid {shown(kid)} is not in the JWKS of {self.uri}, which was fetched "
                    f"{now - self._last_fetch:.1f}s ago; next refetch allowed in {wait:.1f}s"
                )
            self._fetch(arm=True)
        key = self.keys.get(kid)
        if key is not None:
            return key
        unusable = self._unusable.get(kid)
        if unusable is not None:
            raise InvalidJwk(f"the JWK for kid {shown(kid)} cannot verify RS256: {unusable}")
        raise KidNotFound(f"kid {shown(kid)} is not in the JWKS of {self.uri}, even refetched")

    def _fetch(self, *, arm: bool) -> None:
        """Fetch and install (the caller holds the lock); ``arm`` starts the penalty box."""
        if arm:
            self._last_fetch = self._clock()
        self.fetches += 1
        try:
            document = self._fetcher(self.uri)
            keys, unusable = parse_jwks(document)
        except JwksFetchError as exc:
            self._last_error = exc.message
            raise
        except Exception as exc:  # a custom fetcher's own failure
            self._last_error = type(exc).__name__
            raise JwksFetchError(
                f"JWKS fetch from {self.uri} failed: {type(exc).__name__}"
            ) from exc
        self._install(keys, unusable)

    def _install(self, keys: dict[str, Rs256Key], unusable: dict[str, str]) -> None:
        self._unusable = unusable
        self.keys = keys
        self._loaded = True
        self._last_error = None
