"""Unsigned JWTs for unit tests (the client never checks signatures, as the JS library)."""

from __future__ import annotations

import base64
import json
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: dict[str, Any]) -> str:
    header = b64url(json.dumps({"alg": "RS256", "kid": "test"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.c2lnbmF0dXJl"


def token_pair(
    iat: int, lifetime: int = 3600, username: str = "demo", **extra: Any
) -> tuple[str, str]:
    """(id token, access token) issued at ``iat``."""
    common = {"iat": iat, "exp": iat + lifetime, "sub": "1234-abcd", **extra}
    id_token = make_jwt({**common, "token_use": "id", "cognito:username": username})
    access_token = make_jwt(
        {**common, "token_use": "access", "username": username, "origin_jti": "o-1"}
    )
    return id_token, access_token
