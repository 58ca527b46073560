"""The three Cognito tokens, as amazon-cognito-identity-js models them.

Like the JS library, nothing here verifies a signature: the payload is only decoded so the client
knows when a token expires. Verify tokens on the server with ``cognito_gate.verify``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cognito_gate.cognito.jwt import unverified_claims

# Decoding the same few tokens again on every get_session is most of its cost: cache it.
_decode_payload = lru_cache(maxsize=128)(unverified_claims)


class CognitoJwtToken:
    """A JWT and its decoded (unverified) payload; an undecodable token has an empty payload."""

    __slots__ = ("jwt_token", "payload")

    def __init__(self, jwt_token: str | None = None) -> None:
        self.jwt_token: str = jwt_token or ""
        # A copy, so that changing one token's payload cannot change the cache.
        self.payload: dict[str, Any] = dict(_decode_payload(self.jwt_token))

    def get_jwt_token(self) -> str:
        """The raw token."""
        return self.jwt_token

    def get_expiration(self) -> int | None:
        """The ``exp`` claim (epoch seconds), or None when the token has none."""
        return _int_claim(self.payload, "exp")

    def get_issued_at(self) -> int | None:
        """The ``iat`` claim (epoch seconds), or None when the token has none."""
        return _int_claim(self.payload, "iat")

    def decode_payload(self) -> dict[str, Any]:
        """The payload decoded again from the raw token."""
        return dict(_decode_payload(self.jwt_token))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CognitoJwtToken):
            return NotImplemented
        return type(self) is type(other) and self.jwt_token == other.jwt_token

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.jwt_token))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(exp={self.get_expiration()}, jwt_token='***')"


class CognitoAccessToken(CognitoJwtToken):
    """The access token: what an API behind Cognito wants as ``Authorization: Bearer``."""

    __slots__ = ()


class CognitoIdToken(CognitoJwtToken):
    """The ID token: who the user is (``cognito:username``, ``sub``, attributes)."""

    __slots__ = ()


class CognitoRefreshToken:
    """The refresh token: an opaque string of any length (empty when there is none)."""

    __slots__ = ("token",)

    def __init__(self, token: str | None = None) -> None:
        self.token: str = token or ""

    def get_token(self) -> str:
        """The raw token."""
        return self.token

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CognitoRefreshToken):
            return NotImplemented
        return self.token == other.token

    def __hash__(self) -> int:
        return hash(("CognitoRefreshToken", self.token))

    def __repr__(self) -> str:
        return "CognitoRefreshToken(token='***')" if self.token else "CognitoRefreshToken()"


def _int_claim(payload: dict[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)
