"""The gateway's mark on its own password checks, so that Cognito triggers count nothing twice.

When the gateway and the Pre/Post Authentication triggers (``cognito_gate.aws``) guard one pool,
every password check the gateway makes has already been reserved and will be recorded by the
gateway. It says so to the triggers in ``ClientMetadata`` (``{"cognitoGate": TOKEN}``, on
AdminInitiateAuth and AdminRespondToAuthChallenge); Cognito hands InitiateAuth's to Pre
Authentication as ``validationData``, where the trigger then reserves nothing. (Post
Authentication needs no mark: a success is recorded alike whoever saw it.)::

    TOKEN = "1.{time}.{reservation}.{mac}"
    mac   = base64url(HMAC-SHA256(COGNITO_GATE_TRIGGER_SECRET,
                                  "cognito-gate/1 \\x1f pool \\x1f account \\x1f reservation \\x1f time"))

``account`` is the store's key for the account (``Account.key``: the username as the pool compares
it), ``time`` whole epoch seconds when the gateway made the reservation. A token is valid for
:data:`MAX_AGE` seconds (the life of the gateway's reservation) and :data:`SKEW` seconds into the
future (clocks of two machines); anything else (forged, stale, for another account or pool,
malformed) is no token at all, and the trigger counts the attempt as its own.

The token travels from :class:`~cognito_gate.guard.Guard` to the Cognito call in a context
variable (:func:`marked`), so that the calls between them need not carry it.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
import math
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

R = TypeVar("R")

#: The ClientMetadata key.
KEY = "cognitoGate"
#: Seconds a token stays valid after it was made, and may lie in the future.
MAX_AGE = 60.0
SKEW = 30.0
_VERSION = "1"
_SEP = "\x1f"
_SHAPE = re.compile(r"1\.(\d{1,12})\.([0-9A-Za-z_-]{1,64})\.([0-9A-Za-z_-]{43})")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "cognito_gate_marker", default=None
)


def _mac(secret: str, pool_id: str, account: str, reservation: str, at: int) -> str:
    message = _SEP.join(("cognito-gate/1", pool_id, account, reservation, str(at)))
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(secret: str, pool_id: str, account: str, reservation: str, now: float) -> str:
    """The token for ``reservation`` of ``account`` in ``pool_id``, made at ``now``."""
    at = math.floor(now)
    return f"{_VERSION}.{at}.{reservation}.{_mac(secret, pool_id, account, reservation, at)}"


def verify(token: object, secret: str, pool_id: str, account: str, now: float) -> str | None:
    """The reservation a valid token names, or None for anything else."""
    if not isinstance(token, str):
        return None
    shape = _SHAPE.fullmatch(token)
    if shape is None:
        return None
    at, reservation, mac = int(shape[1]), shape[2], shape[3]
    if not now - MAX_AGE <= at <= now + SKEW:
        return None
    if not hmac.compare_digest(mac, _mac(secret, pool_id, account, reservation, at)):
        return None
    return reservation


async def marked(token: str | None, call: Callable[[], Awaitable[R]]) -> R:
    """Run ``call`` with ``token`` as the current mark (None: unmarked)."""
    reset = _current.set(token)
    try:
        return await call()
    finally:
        _current.reset(reset)


def client_metadata() -> dict[str, dict[str, str]]:
    """``{"ClientMetadata": {...}}`` for a Cognito call made under a mark, else ``{}``. Read it in
    the coroutine, before the call goes to a worker thread (threads do not see the context)."""
    token = _current.get()
    return {"ClientMetadata": {KEY: token}} if token else {}
