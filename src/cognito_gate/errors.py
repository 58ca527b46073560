"""Every exception the gateway raises, in one place.

The tree::

    GateError                      base: carries ``code``, ``status`` and a safe ``message``
    ├── ConfigError                a setting is invalid or a driver is missing (start-up)
    ├── Unavailable                503 unavailable: the gateway fails closed
    │   ├── StoreUnavailable           the lockout store cannot be reached
    │   └── CognitoUnavailable         Cognito is unreachable or throttling us
    ├── InvalidRequest             422 invalid_request
    ├── PayloadTooLarge            413 payload_too_large
    ├── Unauthorized               401 unauthorized (admin API)
    ├── NotFound                   404 not_found
    ├── InvalidCredentials         401 invalid_credentials (wrong password and unknown user alike)
    ├── AccountLocked              429 account_locked, ``retry_after`` None when only an admin unlocks
    ├── TooManyRequests            429 too_many_requests (address throttled)
    ├── UserNotConfirmed           403 user_not_confirmed
    ├── PasswordResetRequired      403 password_reset_required
    ├── InvalidRefreshToken        401 invalid_refresh_token
    ├── AccountDisabled            403 account_disabled
    ├── InvalidToken               401 invalid_token
    ├── Forbidden                  403 forbidden (a valid token without the required group or scope)
    ├── InvalidPassword            400 invalid_password
    ├── UsernameExists             409 username_exists
    ├── CodeMismatch               400 code_mismatch
    ├── ExpiredCode                400 expired_code
    └── InvalidChallenge           400 invalid_challenge (a challenge answer Cognito refused as malformed)

No message ever contains a password, a token or a secret: messages are written here, never copied
from Cognito, except Cognito's password-policy text for ``InvalidPassword``.
"""

from __future__ import annotations

import math


class GateError(Exception):
    """Base of every gateway error; ``code`` and ``status`` are what the HTTP API answers."""

    code = "error"
    status = 500
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class ConfigError(GateError):
    """A setting is invalid, or a backend's driver is not installed."""

    code = "config_error"
    default_message = "Invalid configuration."


class Unavailable(GateError):
    """The gateway cannot decide safely, so it refuses (fails closed)."""

    code = "unavailable"
    status = 503
    default_message = "The service is unavailable; try again shortly."


class StoreUnavailable(Unavailable):
    """The lockout store cannot be reached."""


class CognitoUnavailable(Unavailable):
    """Cognito cannot be reached, or it is throttling the gateway."""


class InvalidRequest(GateError):
    """The request body is malformed, misses a field or has a wrong type."""

    code = "invalid_request"
    status = 422
    default_message = "The request is invalid."


class PayloadTooLarge(GateError):
    """The request body is over the size limit."""

    code = "payload_too_large"
    status = 413
    default_message = "The request body is too large (limit 64 KiB)."


class Unauthorized(GateError):
    """The admin bearer token is missing or wrong."""

    code = "unauthorized"
    status = 401
    default_message = "A valid admin token is required."


class NotFound(GateError):
    """Nothing is known under that name."""

    code = "not_found"
    status = 404
    default_message = "Not found."


class InvalidCredentials(GateError):
    """Wrong password, or no such user: the two are never told apart."""

    code = "invalid_credentials"
    status = 401
    default_message = "Incorrect username or password."


class _RetryAfter(GateError):
    """An error that may tell the caller how long to wait (whole seconds, rounded up)."""

    def __init__(self, message: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after: int | None = (
            None if retry_after is None else max(1, math.ceil(retry_after))
        )


class AccountLocked(_RetryAfter):
    """The account is locked; ``retry_after`` is None when only an admin can unlock it."""

    code = "account_locked"
    status = 429
    default_message = "Too many failed attempts; the account is locked."


class TooManyRequests(_RetryAfter):
    """The caller's address is throttled (or Cognito's own rate limit for this user)."""

    code = "too_many_requests"
    status = 429
    default_message = "Too many failed attempts from this address; try again later."


class UserNotConfirmed(GateError):
    """The user signed up but has not confirmed the account."""

    code = "user_not_confirmed"
    status = 403
    default_message = "The account is not confirmed."


class PasswordResetRequired(GateError):
    """The user must reset the password before logging in."""

    code = "password_reset_required"
    status = 403
    default_message = "The password must be reset."


class InvalidRefreshToken(GateError):
    """The refresh token is unknown, expired or revoked."""

    code = "invalid_refresh_token"
    status = 401
    default_message = "The refresh token is invalid, expired or revoked."


class AccountDisabled(GateError):
    """The account is disabled (admin lock, permanent lockout, or disabled in Cognito)."""

    code = "account_disabled"
    status = 403
    default_message = "The account is disabled."


class InvalidToken(GateError):
    """The bearer token is missing, invalid or expired."""

    code = "invalid_token"
    status = 401
    default_message = "A valid access token is required."


class Forbidden(GateError):
    """The token is valid but lacks a required group or scope."""

    code = "forbidden"
    status = 403
    default_message = "The token lacks a required group or scope."


class InvalidPassword(GateError):
    """The new password does not meet the pool's policy."""

    code = "invalid_password"
    status = 400
    default_message = "The password does not meet the pool's password policy."


class UsernameExists(GateError):
    """The username is taken."""

    code = "username_exists"
    status = 409
    default_message = "An account with that username already exists."


class CodeMismatch(GateError):
    """The confirmation code is wrong."""

    code = "code_mismatch"
    status = 400
    default_message = "The code is wrong."


class ExpiredCode(GateError):
    """The confirmation code has expired or was used."""

    code = "expired_code"
    status = 400
    default_message = "The code has expired; request a new one."


class InvalidChallenge(GateError):
    """Cognito refused the challenge answer as malformed (not as a wrong code)."""

    code = "invalid_challenge"
    status = 400
    default_message = "The challenge answer is invalid, or the session has expired."
