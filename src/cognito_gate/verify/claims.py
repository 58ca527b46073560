"""The checks on a token's claims, each raising the :class:`JwtInvalid` subclass that names it.

These run after the signature has verified; they read plain dicts and never the clock (``now``
is passed in), so they are cheap to call and easy to test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from cognito_gate.verify.errors import (
    InvalidAudience,
    InvalidClaim,
    InvalidClientId,
    InvalidTokenUse,
    JwtExpired,
    JwtIssuedInFuture,
    JwtNotBefore,
    MissingClaim,
    MissingGroup,
    MissingScope,
    shown,
    shown_all,
)

GROUPS_CLAIM = "cognito:groups"


def names(value: str | Iterable[str] | None, what: str) -> frozenset[str] | None:
    """Group or scope names as a set: one name, several, or None for no requirement."""
    if value is None:
        return None
    found = frozenset((value,) if isinstance(value, str) else value)
    if not found or not all(isinstance(name, str) and name for name in found):
        raise ValueError(f"{what} must be a non-empty name, a non-empty list of names, or None")
    return found


def _seconds(value: object, name: str) -> float:
    """A time claim's value as a number; bool, NaN, infinities and non-numbers are refused."""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return value
    raise InvalidClaim(f"'{name}' must be a number of seconds, got {shown(value)}", claim=name)


def check_lifetime(claims: Mapping[str, Any], now: float, grace: float) -> tuple[float, float]:
    """Check ``exp`` (required), ``nbf`` and ``iat``; return the window ``[from, until)``.

    ``exp`` gets no grace: a token is refused from its ``exp`` second on. ``nbf`` and ``iat``
    may be up to ``grace`` seconds ahead of ``now``, for clocks that differ a little.
    """
    exp = claims.get("exp")
    if type(exp) is not int:  # ints are the usual case; anything else is read carefully
        if exp is None:
            raise MissingClaim("the token has no 'exp' claim", claim="exp")
        exp = _seconds(exp, "exp")
    if now >= exp:
        raise JwtExpired(f"the token expired {now - exp:.0f}s ago (exp {exp})", claim="exp")
    valid_from = -math.inf
    nbf = claims.get("nbf")
    if nbf is not None:
        nbf = _seconds(nbf, "nbf")
        if nbf - grace > now:
            raise JwtNotBefore(
                f"the token is valid only from nbf {nbf}, {nbf - now:.0f}s from now "
                f"(grace {grace:g}s)",
                claim="nbf",
            )
        valid_from = nbf - grace
    iat = claims.get("iat")
    if iat is not None:
        if type(iat) is not int:
            iat = _seconds(iat, "iat")
        if iat - grace > now:
            raise JwtIssuedInFuture(
                f"the token was issued at iat {iat}, {iat - now:.0f}s from now (grace {grace:g}s)",
                claim="iat",
            )
        valid_from = max(valid_from, iat - grace)
    return valid_from, exp


def check_token_use(claims: Mapping[str, Any], expected: str | None) -> str:
    """Check ``token_use`` is ``access`` or ``id``, and the expected one; return it."""
    use = claims.get("token_use")
    if (use == "access" or use == "id") and (expected is None or use == expected):
        return use  # type: ignore[no-any-return]
    if use is None:
        raise MissingClaim("the token has no 'token_use' claim", claim="token_use")
    wanted = "'access' or 'id'" if expected is None else repr(expected)
    raise InvalidTokenUse(f"expected token_use {wanted}, got {shown(use)}", claim="token_use")


def check_client(claims: Mapping[str, Any], token_use: str, allowed: frozenset[str]) -> None:
    """Check the app client: ``client_id`` of an access token, ``aud`` of an id token."""
    if token_use == "access":
        client = claims.get("client_id")
        if type(client) is str and client in allowed:
            return
        if client is None:
            raise MissingClaim("the access token has no 'client_id' claim", claim="client_id")
        raise InvalidClientId(
            f"expected client_id {shown_all(allowed)}, got {shown(client)}", claim="client_id"
        )
    aud = claims.get("aud")
    if type(aud) is str and aud in allowed:
        return
    if type(aud) is list and any(type(a) is str and a in allowed for a in aud):
        return
    if aud is None:
        raise MissingClaim("the id token has no 'aud' claim", claim="aud")
    raise InvalidAudience(f"expected aud {shown_all(allowed)}, got {shown(aud)}", claim="aud")


def check_groups(claims: Mapping[str, Any], required: frozenset[str]) -> None:
    """Check ``cognito:groups`` holds at least one of the ``required`` groups."""
    groups = claims.get(GROUPS_CLAIM)
    if type(groups) is list and any(type(g) is str and g in required for g in groups):
        return
    got = "no groups" if groups is None else f"groups {shown(groups)}"
    raise MissingGroup(
        f"expected one of the groups {shown_all(required)}, got {got}", claim=GROUPS_CLAIM
    )


def check_scopes(claims: Mapping[str, Any], required: frozenset[str]) -> None:
    """Check the space-separated ``scope`` claim holds every one of the ``required`` scopes."""
    scope = claims.get("scope")
    held = frozenset(scope.split()) if type(scope) is str else frozenset()
    missing = required - held
    if missing:
        got = "no scope" if scope is None else f"scope {shown(scope)}"
        raise MissingScope(f"expected the scopes {shown_all(missing)}, got {got}", claim="scope")
