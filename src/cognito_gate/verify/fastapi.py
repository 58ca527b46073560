"""FastAPI dependencies: the verified claims of ``Authorization: Bearer``, and required groups.

::

    verifier = CognitoJwtVerifier(user_pool_id=..., client_id=..., token_use="access")
    app = FastAPI(lifespan=verifier_lifespan(verifier))  # JWKS fetched before the first request

    @app.get("/me")
    async def me(claims: dict = Depends(bearer_claims(verifier))) -> dict: ...

    @app.get("/admin")
    async def admin(claims: dict = Depends(require(verifier, groups="admin"))) -> dict: ...

A missing or refused token raises :class:`cognito_gate.errors.InvalidToken` (401), a valid one
without a required group or scope :class:`cognito_gate.errors.Forbidden` (403), and a JWKS that
cannot be fetched :class:`cognito_gate.errors.CognitoUnavailable` (503: the gateway fails closed
and says so, rather than blaming the token). Messages are the fixed ``public_message`` of the
refusal; they never carry the token or the pool's configuration. Verification runs inline on the
event loop (tens of microseconds); only a JWKS fetch goes to a worker thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cognito_gate.errors import CognitoUnavailable, Forbidden, InvalidToken
from cognito_gate.verify.claims import check_groups, check_scopes, names
from cognito_gate.verify.errors import JwksFetchError, JwtInvalid, MissingGroup, MissingScope
from cognito_gate.verify.verifier import Claims, CognitoJwtVerifier

_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="A Cognito access token: `Authorization: Bearer <token>`.",
)


class VerifiedClaims:
    """A dependency that answers the verified claims of the request's bearer token."""

    def __init__(self, verifier: CognitoJwtVerifier) -> None:
        self.verifier = verifier

    async def __call__(
        self, credentials: HTTPAuthorizationCredentials | None = Security(_bearer)
    ) -> Claims:
        if credentials is None:
            raise InvalidToken("A bearer token is required: 'Authorization: Bearer <token>'.")
        try:
            return await self.verifier.averify(credentials.credentials)
        except (MissingGroup, MissingScope) as exc:
            raise Forbidden(exc.public_message) from exc
        except JwksFetchError as exc:
            raise CognitoUnavailable(exc.public_message) from exc
        except JwtInvalid as exc:
            raise InvalidToken(exc.public_message) from exc


def bearer_claims(verifier: CognitoJwtVerifier) -> VerifiedClaims:
    """The dependency for routes that need any valid token of ``verifier``."""
    return VerifiedClaims(verifier)


def require(
    verifier: CognitoJwtVerifier,
    *,
    groups: str | Iterable[str] | None = None,
    scopes: str | Iterable[str] | None = None,
) -> Callable[..., Awaitable[Claims]]:
    """The dependency for routes that need a group (any one of ``groups``) or ``scopes`` (all)."""
    required_groups, required_scopes = names(groups, "groups"), names(scopes, "scopes")
    if required_groups is None and required_scopes is None:
        raise ValueError("require() needs groups or scopes; use bearer_claims() for neither")
    verified = VerifiedClaims(verifier)

    async def required(claims: Claims = Depends(verified)) -> Claims:
        try:
            if required_groups is not None:
                check_groups(claims, required_groups)
            if required_scopes is not None:
                check_scopes(claims, required_scopes)
        except (MissingGroup, MissingScope) as exc:
            raise Forbidden(exc.public_message) from exc
        return claims

    return required


def verifier_lifespan(
    verifier: CognitoJwtVerifier,
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A FastAPI ``lifespan`` that fetches the JWKS at start-up (failing start-up if it can't).

    An app with a lifespan of its own calls ``await verifier.ahydrate()`` in it instead.
    """

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await verifier.ahydrate()
        yield

    return lifespan
