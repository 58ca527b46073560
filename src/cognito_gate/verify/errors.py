"""Every reason :class:`~cognito_gate.verify.CognitoJwtVerifier` refuses a token.

The tree::

    JwtInvalid                     base: the token was not accepted
    ├── MalformedJwt               not three base64url parts, bad JSON, header not an object
    ├── UnsupportedAlgorithm       header ``alg`` is not RS256 (``none``, HS256, ...)
    ├── KidNotFound                header ``kid`` is not in the JWKS, even after a refetch
    │   └── JwksRefetchTooSoon         ... and the penalty box forbids a refetch yet (fails fast)
    ├── InvalidJwk                 the JWK named by ``kid`` cannot verify RS256 (kty/use/alg/size)
    ├── JwksFetchError             the JWKS could not be fetched, or is not a JWKS
    ├── InvalidSignature           the RS256 signature does not verify
    ├── InvalidClaim               a claim is absent, mistyped or not the expected value
    │   ├── MissingClaim               a required claim (``exp``, ``iss``, ...) is absent
    │   ├── JwtExpired                 ``exp`` has passed
    │   ├── JwtNotYetValid             the token is from the future:
    │   │   ├── JwtNotBefore               ``nbf`` is ahead of now (beyond the grace)
    │   │   └── JwtIssuedInFuture          ``iat`` is ahead of now (beyond the grace)
    │   ├── InvalidIssuer              ``iss`` names no configured user pool
    │   ├── InvalidTokenUse            ``token_use`` is not the expected ``access`` / ``id``
    │   ├── InvalidClientId            access token's ``client_id`` is another app client's
    │   │   └── InvalidAudience            id token's ``aud`` is another app client's
    │   ├── MissingGroup               ``cognito:groups`` has none of the required groups
    │   └── MissingScope               ``scope`` lacks a required scope
    └── CustomCheckFailed          the custom check refused the claims

``str(error)`` says what was expected and what came; it never contains the token. Values taken
from the token (an issuer, a client id) are quoted and cut short. ``public_message`` is a fixed
sentence per class, safe to send to the caller of an API.
"""

from __future__ import annotations

from collections.abc import Iterable

_MAX_SHOWN = 80


def shown(value: object) -> str:
    """A token-supplied value, quoted and cut short, for an error message."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def shown_all(values: Iterable[object]) -> str:
    """Several expected values, sorted, for an error message."""
    return ", ".join(sorted(shown(v) for v in values))


class JwtInvalid(Exception):
    """The token was not accepted; the subclass says which check refused it."""

    public_message = "The token is invalid."

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedJwt(JwtInvalid):
    """The token is not a JWS compact serialisation of a JSON header and JSON object payload."""

    public_message = "The token is malformed."


JwtParseError = MalformedJwt


class UnsupportedAlgorithm(JwtInvalid):
    """The header's ``alg`` is not RS256: ``none``, HMAC and everything else are refused."""

    public_message = "The token is signed with an algorithm that is not accepted."


class KidNotFound(JwtInvalid):
    """The header's ``kid`` names no key in the user pool's JWKS."""

    public_message = "The token is signed with an unknown key."


class JwksRefetchTooSoon(KidNotFound):
    """The ``kid`` is unknown and the JWKS was fetched too recently to fetch it again."""


class InvalidJwk(JwtInvalid):
    """The JWK that ``kid`` names cannot verify RS256 signatures (kty, use, alg or key size)."""

    public_message = "The token's key cannot verify its signature."


class JwksFetchError(JwtInvalid):
    """The JWKS could not be fetched, or what came back is not a JWKS."""

    public_message = "The signing keys could not be fetched; try again shortly."


class InvalidSignature(JwtInvalid):
    """The RS256 signature does not verify with the key that ``kid`` names."""

    public_message = "The token's signature is invalid."


class InvalidClaim(JwtInvalid):
    """A claim is absent, has the wrong type, or is not the expected value."""

    public_message = "The token's claims are invalid."

    def __init__(self, message: str, *, claim: str) -> None:
        super().__init__(message)
        self.claim = claim


class MissingClaim(InvalidClaim):
    """A claim the checks need is absent."""


class JwtExpired(InvalidClaim):
    """``exp`` is now or in the past."""

    public_message = "The token has expired."


class JwtNotYetValid(InvalidClaim):
    """The token is not valid yet (``nbf`` or ``iat`` ahead of now, beyond the grace)."""

    public_message = "The token is not valid yet."


class JwtNotBefore(JwtNotYetValid):
    """``nbf`` is ahead of now by more than the grace."""


class JwtIssuedInFuture(JwtNotYetValid):
    """``iat`` is ahead of now by more than the grace."""


class InvalidIssuer(InvalidClaim):
    """``iss`` is not the issuer of any configured user pool."""

    public_message = "The token was issued by another user pool."


class InvalidTokenUse(InvalidClaim):
    """``token_use`` is not the expected one (an id token where an access token is due...)."""

    public_message = "The token is not the expected kind (access or id)."


class InvalidClientId(InvalidClaim):
    """An access token's ``client_id`` is not an allowed app client."""

    public_message = "The token was issued for another app client."


class InvalidAudience(InvalidClientId):
    """An id token's ``aud`` is not an allowed app client."""


class MissingGroup(InvalidClaim):
    """``cognito:groups`` holds none of the required groups."""

    public_message = "The token lacks a required group."


class MissingScope(InvalidClaim):
    """``scope`` lacks a required scope."""

    public_message = "The token lacks a required scope."


class CustomCheckFailed(JwtInvalid):
    """The custom check raised or returned False."""

    public_message = "The token was refused."
