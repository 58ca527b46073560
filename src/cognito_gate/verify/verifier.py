"""CognitoJwtVerifier: RS256 Cognito tokens verified with ``cryptography``, checks and caches."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, overload

import anyio.to_thread

from cognito_gate.verify.cache import DEFAULT_CACHE_SIZE, VerifiedTokenCache
from cognito_gate.verify.claims import (
    check_client,
    check_groups,
    check_lifetime,
    check_scopes,
    check_token_use,
    names,
)
from cognito_gate.verify.decode import decompose, json_object
from cognito_gate.verify.errors import (
    CustomCheckFailed,
    InvalidIssuer,
    InvalidSignature,
    JwtInvalid,
    MissingClaim,
    shown,
    shown_all,
)
from cognito_gate.verify.jwks import (
    DEFAULT_REFETCH_INTERVAL,
    Clock,
    HttpJwksFetcher,
    JwksCache,
    JwksFetcher,
)
from cognito_gate.verify.pools import ClientIds, TokenUse, UserPool

Claims = dict[str, Any]
CustomCheck = Callable[[Mapping[str, Any]], object]

DEFAULT_GRACE_SECONDS = 5.0
_MAX_KNOWN_HEADERS = 256


class _Unset:
    def __repr__(self) -> str:
        return "<required>"


_UNSET: Final = _Unset()


class _KeysNeeded(Exception):
    """Internal: the key is not cached; fetching it is I/O the caller must do."""

    def __init__(self, jwks: JwksCache, kid: str) -> None:
        self.jwks, self.kid = jwks, kid


class _Accepted:
    """What one issuer's tokens are checked against (a pool has two issuer forms)."""

    __slots__ = ("client_ids", "jwks", "token_use")

    def __init__(self, pool: UserPool, jwks: JwksCache) -> None:
        self.jwks, self.token_use, self.client_ids = jwks, pool.token_use, pool.client_ids


def _pools(
    user_pool_id: str | Sequence[UserPool],
    client_id: ClientIds | _Unset | None,
    token_use: TokenUse | _Unset | None,
    jwks_uri: str | None,
) -> tuple[UserPool, ...]:
    if isinstance(user_pool_id, str):
        missing = [
            n for n, v in (("client_id", client_id), ("token_use", token_use)) if v is _UNSET
        ]
        if missing:
            raise TypeError(
                f"CognitoJwtVerifier needs {' and '.join(missing)}: give the expected value, "
                "or None to switch that check off on purpose"
            )
        assert not isinstance(client_id, _Unset)
        assert not isinstance(token_use, _Unset)
        pool = UserPool(user_pool_id, client_id=client_id, token_use=token_use, jwks_uri=jwks_uri)
        return (pool,)
    pools = tuple(user_pool_id)
    if not pools or not all(isinstance(p, UserPool) for p in pools):
        raise TypeError("user_pool_id must be a pool id, or a non-empty list of UserPool")
    if client_id is not _UNSET or token_use is not _UNSET or jwks_uri is not None:
        raise TypeError("with a list of UserPool, give client_id, token_use, jwks_uri per pool")
    if len({p.user_pool_id for p in pools}) != len(pools):
        raise ValueError("a user pool is listed twice")
    return pools


class CognitoJwtVerifier:
    """Verifies Cognito access or id tokens: RS256 signature, ``kid``, issuer, lifetime, use, client.

    One pool::

        CognitoJwtVerifier(user_pool_id="eu-west-1_AbCdEf123", client_id="1example23456789",
                           token_use="access")

    Several: ``CognitoJwtVerifier([UserPool(..., client_id=..., token_use=...), ...])``.
    ``client_id`` and ``token_use`` are required; ``None`` switches a check off on purpose.
    ``groups`` (any one of them) and ``scopes`` (all of them) add requirements; ``custom_check``
    receives the read-only claims and raises, or returns False, to refuse.

    The JWKS of each pool is fetched on first need (or by :meth:`hydrate`) and then only for an
    unknown ``kid``, at most once per ``refetch_interval`` seconds; ``fetcher`` (a callable
    ``uri -> JSON``) and ``clock`` (``() -> epoch seconds``) replace HTTP and ``time.time``.
    Verified tokens are kept (up to ``cache_size``, 0 to turn off) and re-checked against the
    clock, and the custom check re-run, on every hit. ``nbf`` and ``iat`` may be up to
    ``grace_seconds`` ahead of the clock; ``exp`` gets no grace.

    ``pools`` lists the accepted :class:`UserPool`; ``jwks`` maps each JWKS URI to its
    :class:`JwksCache` (``.fetches`` counts its fetches).
    """

    @overload
    def __init__(
        self,
        user_pool_id: str,
        *,
        client_id: ClientIds | None,
        token_use: TokenUse | None,
        jwks_uri: str | None = None,
        groups: str | Iterable[str] | None = None,
        scopes: str | Iterable[str] | None = None,
        custom_check: CustomCheck | None = None,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        cache_size: int = DEFAULT_CACHE_SIZE,
        fetcher: JwksFetcher | None = None,
        clock: Clock | None = None,
        refetch_interval: float = DEFAULT_REFETCH_INTERVAL,
    ) -> None: ...

    @overload
    def __init__(
        self,
        user_pool_id: Sequence[UserPool],
        *,
        groups: str | Iterable[str] | None = None,
        scopes: str | Iterable[str] | None = None,
        custom_check: CustomCheck | None = None,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        cache_size: int = DEFAULT_CACHE_SIZE,
        fetcher: JwksFetcher | None = None,
        clock: Clock | None = None,
        refetch_interval: float = DEFAULT_REFETCH_INTERVAL,
    ) -> None: ...

    def __init__(
        self,
        user_pool_id: str | Sequence[UserPool],
        *,
        client_id: ClientIds | _Unset | None = _UNSET,
        token_use: TokenUse | _Unset | None = _UNSET,
        jwks_uri: str | None = None,
        groups: str | Iterable[str] | None = None,
        scopes: str | Iterable[str] | None = None,
        custom_check: CustomCheck | None = None,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        cache_size: int = DEFAULT_CACHE_SIZE,
        fetcher: JwksFetcher | None = None,
        clock: Clock | None = None,
        refetch_interval: float = DEFAULT_REFETCH_INTERVAL,
    ) -> None:
        self.pools = _pools(user_pool_id, client_id, token_use, jwks_uri)
        if not (isinstance(grace_seconds, int | float) and 0 <= grace_seconds < math.inf):
            raise ValueError("grace_seconds must be a finite number >= 0")
        if custom_check is not None and not callable(custom_check):
            raise TypeError("custom_check must be callable")
        self._grace = float(grace_seconds)
        self._groups = names(groups, "groups")
        self._scopes = names(scopes, "scopes")
        self._custom = custom_check
        self._clock: Clock = clock or time.time
        self._cache = VerifiedTokenCache(cache_size, parse=json_object) if cache_size else None
        self._kids: dict[bytes, str] = {}
        fetch: JwksFetcher = fetcher or HttpJwksFetcher()
        self.jwks: dict[str, JwksCache] = {}
        self._by_issuer: dict[str, _Accepted] = {}
        for pool in self.pools:
            uri = pool.jwks
            if uri not in self.jwks:
                self.jwks[uri] = JwksCache(
                    uri, fetcher=fetch, clock=self._clock, refetch_interval=refetch_interval
                )
            for issuer in pool.issuers:
                self._by_issuer[issuer] = _Accepted(pool, self.jwks[uri])

    def __repr__(self) -> str:
        pools = ", ".join(
            f"{p.user_pool_id} (token_use={p.token_use!r}, client_id={p.client_id!r})"
            for p in self.pools
        )
        return f"CognitoJwtVerifier({pools})"

    def verify(self, token: str) -> Claims:
        """The token's claims if every check passes; else the :class:`JwtInvalid` that failed.

        May fetch the JWKS (blocking) when a ``kid`` is not cached; :meth:`averify` does that
        fetch in a worker thread instead.
        """
        cache = self._cache
        if cache is not None:
            claims = cache.get(token, self._clock)
            if claims is not None:
                if self._custom is not None:
                    self._run_custom_check(claims)
                return claims.copy()
        try:
            return self._verify(token)
        except _KeysNeeded as need:
            missing = need  # fetched outside the except block, so errors don't chain to it
        missing.jwks.key_for(missing.kid)
        return self._verify(token)

    async def averify(self, token: str) -> Claims:
        """:meth:`verify` for async code: inline CPU work, JWKS fetches in a worker thread."""
        cache = self._cache
        if cache is not None:
            claims = cache.get(token, self._clock)
            if claims is not None:
                if self._custom is not None:
                    self._run_custom_check(claims)
                return claims.copy()
        try:
            return self._verify(token)
        except _KeysNeeded as need:
            missing = need
        await anyio.to_thread.run_sync(missing.jwks.key_for, missing.kid)
        return self._verify(token)

    def hydrate(self) -> None:
        """Fetch every pool's JWKS now (at start-up), so no request waits for it."""
        for jwks in self.jwks.values():
            jwks.hydrate()

    async def ahydrate(self) -> None:
        """:meth:`hydrate` from async code, in a worker thread."""
        await anyio.to_thread.run_sync(self.hydrate)

    def load_jwks(self, jwks: Mapping[str, Any], *, user_pool_id: str | None = None) -> None:
        """Use this JWKS document for a pool instead of fetching it (e.g. offline)."""
        if user_pool_id is None:
            if len(self.jwks) != 1:
                raise ValueError("several JWKS URIs are configured: name the user_pool_id")
            (cache,) = self.jwks.values()
        else:
            pool = next((p for p in self.pools if p.user_pool_id == user_pool_id), None)
            if pool is None:
                raise ValueError(f"user pool {user_pool_id!r} is not configured")
            cache = self.jwks[pool.jwks]
        cache.load(jwks)

    def clear_cache(self) -> None:
        """Forget every verified token (they will be verified afresh)."""
        if self._cache is not None:
            self._cache.clear()

    def _verify(self, token: str) -> Claims:
        header_segment, kid, signing_input, claims, signature, payload = decompose(
            token, self._kids
        )
        issuer = claims.get("iss")
        accepted = self._by_issuer.get(issuer) if type(issuer) is str else None
        if accepted is None:
            raise self._issuer_error(issuer)
        key = accepted.jwks.keys.get(kid)
        if key is None:
            raise _KeysNeeded(accepted.jwks, kid)
        if not key.verify(signature, signing_input):
            raise InvalidSignature(
                f"the RS256 signature does not verify with the key of kid {shown(kid)}"
            )
        valid_from, valid_until = check_lifetime(claims, self._clock(), self._grace)
        # token_use and the app client: the usual case inline, anything else to the checks,
        # which raise the precise error (or accept what the fast path does not know, a list aud).
        use: Any = claims.get("token_use")
        expected = accepted.token_use
        if use != expected or expected is None:
            use = check_token_use(claims, expected)
        client_ids = accepted.client_ids
        if client_ids is not None:
            client = claims.get("client_id" if use == "access" else "aud")
            if type(client) is not str or client not in client_ids:
                check_client(claims, use, client_ids)
        if self._groups is not None:
            check_groups(claims, self._groups)
        if self._scopes is not None:
            check_scopes(claims, self._scopes)
        if self._custom is not None:
            self._run_custom_check(claims)
        if header_segment is not None and len(self._kids) < _MAX_KNOWN_HEADERS:
            self._kids[header_segment] = kid
        if self._cache is not None:
            self._cache.put(token, payload, valid_from, valid_until)
        return claims

    def _issuer_error(self, issuer: object) -> JwtInvalid:
        if issuer is None:
            return MissingClaim("the token has no 'iss' claim", claim="iss")
        expected = shown_all(p.issuer for p in self.pools)
        return InvalidIssuer(f"expected iss {expected}, got {shown(issuer)}", claim="iss")

    def _run_custom_check(self, claims: Claims) -> None:
        assert self._custom is not None
        try:
            verdict = self._custom(MappingProxyType(claims))
        except JwtInvalid:
            raise
        except Exception as exc:
            raise CustomCheckFailed(
                f"the custom check raised {type(exc).__name__}: {shown(str(exc))}"
            ) from exc
        if verdict is False:
            raise CustomCheckFailed("the custom check returned False")
