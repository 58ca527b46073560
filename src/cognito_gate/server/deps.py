"""Request helpers shared by the routers: the client's context and the admin check."""

from __future__ import annotations

import hmac

from fastapi import Request

from cognito_gate import errors as e
from cognito_gate.cognito.idp import ClientContext
from cognito_gate.config import Settings
from cognito_gate.server.client_ip import client_ip


def client_context(request: Request, settings: Settings) -> ClientContext:
    """Who is asking, for the policy (address) and for Cognito's ContextData."""
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxies)
    return ClientContext(
        ip=ip,
        headers=tuple(request.headers.items()),
        server_name=request.url.hostname or "cognito-gate",
        server_path=request.url.path,
    )


def bearer(request: Request) -> str | None:
    """The bearer token of the Authorization header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_admin(request: Request, settings: Settings) -> None:
    """Refuse unless the request carries the admin token."""
    expected = settings.admin_token
    if expected is None:
        raise e.Unauthorized("The admin API is off: set COGNITO_GATE_ADMIN_TOKEN to enable it.")
    given = bearer(request)
    if given is None or not hmac.compare_digest(
        given.encode(), expected.get_secret_value().encode()
    ):
        raise e.Unauthorized()
