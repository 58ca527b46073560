"""Verify Cognito access and id tokens: ``CognitoJwtVerifier(...).verify(token) -> claims``.

RS256 signatures are checked with ``cryptography`` against the user pool's JWKS (fetched once,
refetched only for an unknown ``kid``, at most once per interval); then ``iss``, ``exp`` /
``nbf`` / ``iat``, ``token_use`` and the app client. Every refusal is a :class:`JwtInvalid`
subclass naming the check. ``cognito_gate.verify.fastapi`` has the FastAPI dependencies.
"""

from cognito_gate.verify.cache import VerifiedTokenCache
from cognito_gate.verify.claims import check_groups, check_scopes
from cognito_gate.verify.errors import (
    CustomCheckFailed,
    InvalidAudience,
    InvalidClaim,
    InvalidClientId,
    InvalidIssuer,
    InvalidJwk,
    InvalidSignature,
    InvalidTokenUse,
    JwksFetchError,
    JwksRefetchTooSoon,
    JwtExpired,
    JwtInvalid,
    JwtIssuedInFuture,
    JwtNotBefore,
    JwtNotYetValid,
    JwtParseError,
    KidNotFound,
    MalformedJwt,
    MissingClaim,
    MissingGroup,
    MissingScope,
    UnsupportedAlgorithm,
)
from cognito_gate.verify.jwks import Clock, HttpJwksFetcher, JwksCache, JwksFetcher
from cognito_gate.verify.pools import UserPool, issuer_for, jwks_uri_for
from cognito_gate.verify.verifier import Claims, CognitoJwtVerifier

__all__ = [
    "Claims",
    "Clock",
    "CognitoJwtVerifier",
    "CustomCheckFailed",
    "HttpJwksFetcher",
    "InvalidAudience",
    "InvalidClaim",
    "InvalidClientId",
    "InvalidIssuer",
    "InvalidJwk",
    "InvalidSignature",
    "InvalidTokenUse",
    "JwksCache",
    "JwksFetchError",
    "JwksFetcher",
    "JwksRefetchTooSoon",
    "JwtExpired",
    "JwtInvalid",
    "JwtIssuedInFuture",
    "JwtNotBefore",
    "JwtNotYetValid",
    "JwtParseError",
    "KidNotFound",
    "MalformedJwt",
    "MissingClaim",
    "MissingGroup",
    "MissingScope",
    "UnsupportedAlgorithm",
    "UserPool",
    "VerifiedTokenCache",
    "check_groups",
    "check_scopes",
    "issuer_for",
    "jwks_uri_for",
]
