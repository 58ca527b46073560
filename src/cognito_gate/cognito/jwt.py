"""Two small pieces of Cognito's wire format, shared by the gateway and the client half.

Nothing here imports boto3 or the server, so the client can use it without their cost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def unverified_claims(jwt: str) -> dict[str, Any]:
    """The payload of a JWT, without checking anything; ``{}`` when it cannot be decoded.

    For tokens Cognito just handed over, or to learn when a token expires: never to trust it.
    """
    try:
        payload = jwt.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):  # binascii.Error and UnicodeDecodeError are ValueErrors
        return {}
    return claims if isinstance(claims, dict) else {}


def secret_hash(secret: str, username: str, client_id: str) -> str:
    """Cognito's SECRET_HASH: base64(HMAC-SHA256(secret, username + client_id))."""
    digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
