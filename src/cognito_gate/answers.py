"""What the gate answers: the tokens object and an account's status, as the HTTP API shows them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cognito_gate.cognito.idp import Tokens


def iso_utc(timestamp: float) -> str:
    """ISO 8601 in UTC with a ``Z``, as the API writes times."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class TokenAnswer:
    """The tokens object of the HTTP API."""

    tokens: Tokens
    refresh_token: str
    username: str
    user_pool_id: str
    client_id: str
    region: str

    def to_json(self) -> dict[str, Any]:
        """The camelCase body SPEC names."""
        return {
            "idToken": self.tokens.id_token,
            "accessToken": self.tokens.access_token,
            "refreshToken": self.refresh_token,
            "expiresIn": self.tokens.expires_in,
            "tokenType": self.tokens.token_type,
            "username": self.username,
            "userPoolId": self.user_pool_id,
            "clientId": self.client_id,
            "region": self.region,
        }


@dataclass(frozen=True)
class AccountStatus:
    """What an admin sees of an account."""

    username: str
    failures: int
    locked_until: float | None
    lockouts: int
    permanent: bool
    admin_locked: bool

    def to_json(self) -> dict[str, Any]:
        """The camelCase body of ``GET /admin/accounts/{username}``."""
        until = None if self.locked_until is None else iso_utc(self.locked_until)
        return {
            "username": self.username,
            "failures": self.failures,
            "lockedUntil": until,
            "lockouts": self.lockouts,
            "permanent": self.permanent,
            "adminLocked": self.admin_locked,
        }


def token_digest(refresh_token: str) -> str:
    """How a refresh token is named in the store: never the token itself."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()
