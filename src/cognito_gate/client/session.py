"""CognitoUserSession: the three tokens and the clock drift, valid by the JS library's rule."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from cognito_gate.client.tokens import CognitoAccessToken, CognitoIdToken, CognitoRefreshToken

Clock = Callable[[], float]
"""Returns 'now' in epoch seconds, like :func:`time.time` (which is the default everywhere)."""


class CognitoUserSession:
    """A signed-in session, as amazon-cognito-identity-js's ``CognitoUserSession``.

    ``clock_drift`` is ``floor(now) - min(access iat, id iat)`` in whole seconds, computed when the
    session is created unless given (it is stored under the ``.clockDrift`` key). The session is
    valid while ``floor(now) - clock_drift`` is before both tokens' ``exp``: the JS rule, with no
    buffer, so a local clock that is off does not matter.
    """

    __slots__ = (
        "_clock",
        "_clock_drift",
        "_deadline",
        "_exp",
        "_iat",
        "access_token",
        "id_token",
        "refresh_token",
    )

    def __init__(
        self,
        id_token: CognitoIdToken,
        access_token: CognitoAccessToken,
        refresh_token: CognitoRefreshToken | None = None,
        clock_drift: int | None = None,
        *,
        clock: Clock = time.time,
    ) -> None:
        if id_token is None or access_token is None:
            raise ValueError("Id token and Access Token must be present.")
        self.id_token = id_token
        self.access_token = access_token
        self.refresh_token = refresh_token if refresh_token is not None else CognitoRefreshToken()
        self._clock = clock
        # The tokens never change: read their times once, so is_valid is one comparison.
        exps = (access_token.get_expiration(), id_token.get_expiration())
        iats = (access_token.get_issued_at(), id_token.get_issued_at())
        self._exp = None if None in exps else min(e for e in exps if e is not None)
        self._iat = None if None in iats else min(i for i in iats if i is not None)
        self.clock_drift = self.calculate_clock_drift() if clock_drift is None else int(clock_drift)

    @property
    def clock_drift(self) -> int:
        """Whole seconds the local clock is ahead of the issuer's (stored as ``.clockDrift``)."""
        return self._clock_drift

    @clock_drift.setter
    def clock_drift(self, value: int) -> None:
        self._clock_drift = int(value)
        # floor(now) - drift < exp  <=>  now < exp + drift, as both sides are whole seconds.
        # -inf when a token has no exp: never valid, and no None check on the hot path.
        self._deadline = -math.inf if self._exp is None else float(self._exp + self._clock_drift)

    def get_id_token(self) -> CognitoIdToken:
        """The ID token."""
        return self.id_token

    def get_access_token(self) -> CognitoAccessToken:
        """The access token."""
        return self.access_token

    def get_refresh_token(self) -> CognitoRefreshToken:
        """The refresh token (empty when the session has none)."""
        return self.refresh_token

    def get_clock_drift(self) -> int:
        """Whole seconds the local clock is ahead of the token issuer's."""
        return self.clock_drift

    def calculate_clock_drift(self) -> int:
        """``floor(now) - min(access iat, id iat)``; 0 when a token has no ``iat``."""
        if self._iat is None:
            return 0
        return math.floor(self._clock()) - self._iat

    def is_valid(self, leeway: float = 0.0) -> bool:
        """True while both tokens are unexpired (drift-adjusted), ``leeway`` seconds to spare."""
        if leeway:
            return math.floor(self._clock()) + leeway < self._deadline
        return self._clock() < self._deadline

    @property
    def expires_at(self) -> float | None:
        """When the session stops being valid, on the local clock (epoch seconds)."""
        return None if self._exp is None else self._deadline

    @property
    def lifetime(self) -> float | None:
        """Seconds between the tokens' ``iat`` and their ``exp`` (3600 on Cognito's default)."""
        exp, iat = self.expires_at, self.issued_at
        return None if exp is None or iat is None else exp - iat

    @property
    def issued_at(self) -> float | None:
        """When the tokens were issued, on the local clock (epoch seconds)."""
        return None if self._iat is None else float(self._iat + self.clock_drift)

    def __repr__(self) -> str:
        return (
            f"CognitoUserSession(username={self.id_token.payload.get('cognito:username')!r}, "
            f"expires_at={self.expires_at}, clock_drift={self.clock_drift})"
        )
