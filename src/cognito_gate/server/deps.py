"""Request helpers shared by the routers: the client's context and the admin check."""

from __future__ import annotations

import hmac
import logging

from fastapi import Request

from cognito_gate import errors as e
from cognito_gate.cognito.idp import ClientContext
from cognito_gate.config import Settings
from cognito_gate.server.client_ip import client_ip

logger = logging.getLogger("cognito_gate.server")


def client_context(request: Request, settings: Settings) -> ClientContext:
    """Who is asking, for the policy (address) and for Cognito's ContextData."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist("x-forwarded-for")
    if forwarded and peer:
        _warn_if_rewritten(peer, forwarded)
    ip = client_ip(peer, forwarded, settings.trusted_proxies, settings.ipv6_prefix)
    return ClientContext(
        ip=ip,
        headers=tuple(request.headers.items()),
        server_name=request.url.hostname or "cognito-gate",
        server_path=request.url.path,
    )


_warned: list[bool] = []


def _warn_if_rewritten(peer: str, forwarded: list[str]) -> None:
    """A server that applies X-Forwarded-For itself (uvicorn's default proxy_headers) hands the
    gateway a client address taken from the header, which any client can forge. It shows as a
    peer equal to the header's last hop; say so once."""
    hops = [hop.strip() for line in forwarded for hop in line.split(",") if hop.strip()]
    if not _warned and hops and hops[-1] == peer:
        _warned.append(True)
        logger.warning(
            "the server seems to rewrite the client address from X-Forwarded-For before the"
            " gateway sees it (uvicorn's proxy_headers): run it with proxy_headers=False"
            " (--no-proxy-headers) and list your proxies in COGNITO_GATE_TRUSTED_PROXIES"
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
