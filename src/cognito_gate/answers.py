"""What the gate answers: the tokens object and an account's status, as the HTTP API shows them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cognito_gate.cognito.idp import Tokens


def iso_utc(timestamp: float) -> str:
    """ISO 8601 in UTC with a ``Z``, as the API writes times."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class NewDevice:
    """A device the gateway confirmed at Cognito for the client: handed over once, never kept."""

    device_key: str
    device_group_key: str
    device_password: str = field(repr=False)
    remembered: bool

    def to_json(self) -> dict[str, Any]:
        """``newDevice`` of the tokens object."""
        return {
            "deviceKey": self.device_key,
            "deviceGroupKey": self.device_group_key,
            "devicePassword": self.device_password,
            "remembered": self.remembered,
        }


@dataclass(frozen=True)
class TokenAnswer:
    """The tokens object of the HTTP API (``new_device`` and ``forget_device`` where the pool
    remembers devices)."""

    tokens: Tokens
    refresh_token: str
    username: str
    user_pool_id: str
    client_id: str
    region: str
    new_device: NewDevice | None = None
    forget_device: bool = False

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
            **({"newDevice": self.new_device.to_json()} if self.new_device else {}),
            **({"forgetDevice": True} if self.forget_device else {}),
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
