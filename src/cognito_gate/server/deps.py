"""Request helpers shared by the routers: the client's context, and the admin check with its
throttle on the addresses that fail it."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import uuid

from fastapi import Request

from cognito_gate import errors as e
from cognito_gate.cognito.idp import ClientContext
from cognito_gate.config import Settings
from cognito_gate.gate import Gate
from cognito_gate.policy import AccountState, LockoutPolicy, Outcome
from cognito_gate.server.client_ip import client_ip
from cognito_gate.stores import update
from cognito_gate.verify import CognitoJwtVerifier, jwks_uri_for

logger = logging.getLogger("cognito_gate.server")


def client_context(request: Request, settings: Settings) -> ClientContext:
    """Who is asking, for the policy (address) and for Cognito's ContextData."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist("x-forwarded-for")
    if forwarded and peer:
        _warn_if_rewritten(peer, forwarded)
    ip = _client_ip(peer, tuple(forwarded), tuple(settings.trusted_proxies), settings.ipv6_prefix)
    headers = tuple(request.headers.items())
    # From the scope, not request.url: building a URL object cost a tenth of a refused login.
    host = next((value for name, value in headers if name == "host"), "")
    return ClientContext(
        ip=ip,
        headers=headers,
        server_name=_hostname(host).lower() or "cognito-gate",
        server_path=request.scope.get("path", "/"),
    )


#: Parsing addresses was a twentieth of a refused login (profiled); an attack repeats the same
#: peer and header lines, so their client address is remembered (bounded: least recent go first).
_client_ip = functools.lru_cache(maxsize=4096)(client_ip)


def _hostname(host: str) -> str:
    """``example.com`` of a Host header ``example.com:8443`` (``[::1]:80`` gives ``::1``)."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


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


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def token_matches(given: str | None, expected: str) -> bool:
    """Whether ``given`` is the admin token: compared in constant time over fixed-length digests,
    so that neither the token nor its length leaks through timing."""
    same = hmac.compare_digest(_digest(given or ""), _digest(expected))
    return given is not None and same


#: Failed admin requests (a missing or wrong token) one address may make within
#: :data:`ADMIN_WINDOW_SECONDS`; the one that reaches it makes the address wait that long.
ADMIN_MAX_FAILURES = 10
ADMIN_WINDOW_SECONDS = 900.0


def admin_policy(
    max_failures: int = ADMIN_MAX_FAILURES, window: float = ADMIN_WINDOW_SECONDS
) -> LockoutPolicy:
    """The per-address throttle on failed admin requests: fixed, never permanent, not reset by a
    success (the shape of the login's address throttle)."""
    return LockoutPolicy(
        max_attempts=max_failures,
        lockout_seconds=window,
        backoff_multiplier=1.0,
        max_lockout_seconds=window,
        failure_window_seconds=window,
        reset_on_success=False,
        name="admin",
    )


class AdminCheck:
    """The admin router's dependency: every ``/admin/*`` request must carry the admin token.

    It runs before anything else of the request is looked at (a request without the token gets
    401 whatever its parameters). Each request reserves a place on its address's record first
    (``{pool}\\x1fadmin-addr\\x1f{ip}``, one atomic store update), so that at most
    ``ADMIN_MAX_FAILURES`` wrong tokens from one address are ever compared per window, however
    many arrive at once; an address that reached it gets 429 ``too_many_requests`` with
    ``Retry-After`` for every admin request until the window has passed. Failures are logged
    (WARNING, with the address, never the token) and written to the audit log.
    """

    def __init__(self, gate: Gate, policy: LockoutPolicy | None = None) -> None:
        self.gate = gate
        self.policy = policy or admin_policy()

    async def __call__(self, request: Request) -> None:
        gate = self.gate
        expected = gate.settings.admin_token
        if expected is None:
            raise e.Unauthorized("The admin API is off: set COGNITO_GATE_ADMIN_TOKEN to enable it.")
        ip = client_context(request, gate.settings).ip
        key = gate.identity.admin_address_key(ip)
        policy = self.policy
        reservation = uuid.uuid4().hex
        now = gate.clock()
        verdict = await update(
            gate.store, key, lambda s: policy.admit(s, now, reservation), policy.expires_at
        )
        if not verdict.allowed:
            # INFO: the throttle's start was the warning; a flood of refusals is not news.
            logger.info("admin request refused: address throttled (ip=%s)", ip)
            gate.guard.event("admin", None, ip, "throttled")
            if verdict.reason == "busy":  # the requests in flight fill the budget
                raise e.TooManyRequests(
                    "Too many admin requests at once from this address; try again.", retry_after=1
                )
            raise e.TooManyRequests(
                "Too many failed admin requests from this address; try again later.",
                retry_after=verdict.retry_after,
            )
        ok = token_matches(bearer(request), expected.get_secret_value())
        outcome = Outcome.NEUTRAL if ok else Outcome.FAILURE
        now = gate.clock()

        def settle(state: AccountState) -> tuple[bool, AccountState]:
            done = policy.record(state, now, reservation, outcome)
            return done.locked, done.state

        locked = await update(gate.store, key, settle, policy.expires_at)
        if ok:
            return
        logger.warning(
            "admin request refused: missing or wrong admin token (ip=%s, %s %s)",
            ip,
            request.method,
            request.url.path,
        )
        gate.guard.event("admin", None, ip, "unauthorized")
        if locked:
            logger.warning(
                "admin requests from ip=%s refused for %d s: %d failed admin requests",
                ip,
                policy.lockout_seconds,
                policy.max_attempts,
            )
        raise e.Unauthorized()


def access_verifier(gate: Gate) -> CognitoJwtVerifier:
    """Verifies the pool's access tokens for this app client (JWKS from the endpoint if set)."""
    idp = gate.idp
    return CognitoJwtVerifier(
        idp.user_pool_id,
        client_id=idp.client_id,
        token_use="access",
        jwks_uri=jwks_uri_for(idp.user_pool_id, idp.endpoint) if idp.endpoint else None,
    )
