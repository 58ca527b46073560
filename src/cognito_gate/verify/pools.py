"""Which user pools and app clients a verifier accepts, and the URLs derived from a pool id."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

TokenUse = Literal["access", "id"]
ClientIds = str | Iterable[str]

TOKEN_USES: frozenset[str] = frozenset({"access", "id"})

# "eu-west-1_AbCdEf123", "us-gov-west-1_x", "eusc-de-east-1_x": the region is before the "_".
_POOL_ID = re.compile(r"(?P<region>[a-z]{2,4}(?:-[a-z]+)+-\d+)_[0-9A-Za-z]+")


def region_of(user_pool_id: str) -> str:
    """The AWS region in a user pool id; ValueError if it is not one."""
    match = _POOL_ID.fullmatch(user_pool_id) if isinstance(user_pool_id, str) else None
    if match is None:
        raise ValueError(
            f"user_pool_id {user_pool_id!r} is not a Cognito user pool id "
            "(expected REGION_ID, e.g. 'eu-west-1_AbCdEf123')"
        )
    return match["region"]


def issuer_for(user_pool_id: str) -> str:
    """The ``iss`` of the pool's tokens: ``https://cognito-idp.{region}.amazonaws.com/{poolId}``."""
    return f"https://cognito-idp.{region_of(user_pool_id)}.amazonaws.com/{user_pool_id}"


def updated_issuer_for(user_pool_id: str) -> str:
    """The ``iss`` of a pool whose issuer configuration is ``UPDATED`` (same keys, other host)."""
    return f"https://issuer-cognito-idp.{region_of(user_pool_id)}.amazonaws.com/{user_pool_id}"


def jwks_uri_for(user_pool_id: str, endpoint: str | None = None) -> str:
    """Where the pool's JWKS is: on AWS, or at ``{endpoint}/{poolId}/.well-known/jwks.json``.

    ``endpoint`` is a Cognito API endpoint other than AWS's (an emulator); the tokens' issuer keeps
    the AWS form either way.
    """
    base = (
        issuer_for(user_pool_id) if endpoint is None else f"{endpoint.rstrip('/')}/{user_pool_id}"
    )
    return f"{base}/.well-known/jwks.json"


def _client_ids(client_id: ClientIds | None) -> frozenset[str] | None:
    if client_id is None:
        return None
    ids = frozenset((client_id,) if isinstance(client_id, str) else client_id)
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise ValueError("client_id must be a non-empty app client id, a list of them, or None")
    return ids


@dataclass(frozen=True)
class UserPool:
    """One user pool a verifier accepts tokens of, and what it expects of them.

    ``client_id`` (one app client id or several) and ``token_use`` (``"access"`` or ``"id"``)
    must be given; ``None`` switches the check off, on purpose. ``jwks_uri`` defaults to the
    pool's JWKS on AWS.
    """

    user_pool_id: str
    client_id: ClientIds | None = field(kw_only=True)
    token_use: TokenUse | None = field(kw_only=True)
    jwks_uri: str | None = field(default=None, kw_only=True)
    client_ids: frozenset[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        region_of(self.user_pool_id)
        if self.token_use is not None and self.token_use not in TOKEN_USES:
            raise ValueError(f"token_use must be 'access', 'id' or None, not {self.token_use!r}")
        if self.jwks_uri is not None and not isinstance(self.jwks_uri, str):
            raise ValueError("jwks_uri must be a URL string or None")
        object.__setattr__(self, "client_ids", _client_ids(self.client_id))

    @property
    def region(self) -> str:
        """The AWS region the pool lives in."""
        return region_of(self.user_pool_id)

    @property
    def issuer(self) -> str:
        """The pool's ``iss``: ``https://cognito-idp.{region}.amazonaws.com/{poolId}``."""
        return issuer_for(self.user_pool_id)

    @property
    def issuers(self) -> tuple[str, str]:
        """Both issuer forms Cognito signs this pool's tokens with (original and updated)."""
        return issuer_for(self.user_pool_id), updated_issuer_for(self.user_pool_id)

    @property
    def jwks(self) -> str:
        """The JWKS URI that will be fetched: ``jwks_uri``, or the pool's JWKS on AWS."""
        return self.jwks_uri or jwks_uri_for(self.user_pool_id)
