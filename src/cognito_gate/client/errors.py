"""Every exception the Python client raises, in one place.

The tree::

    ClientError                    base: ``code`` and a safe one-line ``message``
    ├── NotSignedIn                no session is stored (or it was cleared): log in again
    ├── NotAuthorized              401 from the gateway (a token or an admin credential refused)
    │   └── InvalidCredentials         401 invalid_credentials: wrong password or unknown user
    ├── RefreshFailed              the refresh token was refused; the stored session is cleared
    │   └── AccountDisabled            403 account_disabled: an admin lock or permanent lockout
    ├── AccountLocked              429 account_locked; ``retry_after`` None: only an admin unlocks
    ├── TooManyRequests            429 too_many_requests: the caller's address is throttled
    ├── UserNotConfirmed           403 user_not_confirmed
    ├── PasswordResetRequired      403 password_reset_required
    ├── InvalidRequest             422 invalid_request (and 413, and Cognito's InvalidParameter)
    ├── CodeMismatch               400 code_mismatch: the confirmation or reset code is wrong
    ├── ExpiredCode                400 expired_code: the code was used, replaced or is too old
    ├── InvalidPassword            400 invalid_password; ``message`` is the pool's policy text
    ├── UsernameExists             409 username_exists
    ├── ChallengeRequired          Cognito asks for a challenge; carries name, session, parameters
    ├── Unavailable                the server is unreachable or answered 5xx / throttled
    │   ├── GatewayUnavailable         the gateway
    │   └── CognitoUnavailable         Cognito (or the endpoint standing in for it)
    ├── StorageError               the session storage cannot be read or written
    └── UnexpectedResponse         an answer the client does not understand: ``status``, ``code``

No message ever contains a token, a password, a challenge session or a client secret: messages are
written here (but the pool's password-policy text of ``InvalidPassword``, which the gateway
passes on, with every secret the caller handed over blanked out). Cognito's own ``message`` is
never copied (moto, for one, puts the secret hash or the
refresh token there); the gateway's ``message`` is only used for codes this client does not know,
and then with every secret the caller handed over blanked out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


class ClientError(Exception):
    """Base of every client error; ``code`` is the gateway's error code where there is one."""

    code = "error"
    default_message = "the request failed"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotSignedIn(ClientError):
    """No session is stored for this user, or it has been cleared."""

    code = "not_signed_in"
    default_message = "not signed in; log in first"


class NotAuthorized(ClientError):
    """The gateway answered 401."""

    code = "unauthorized"
    default_message = "not authorized"


class InvalidCredentials(NotAuthorized):
    """Wrong password, or no such user: the gateway never tells the two apart."""

    code = "invalid_credentials"
    default_message = "incorrect username or password"


class RefreshFailed(ClientError):
    """The refresh token is invalid, expired or revoked; the stored session has been cleared."""

    code = "invalid_refresh_token"
    default_message = "the session has ended (refresh token refused); log in again"


class AccountDisabled(RefreshFailed):
    """The account is disabled: an admin lock or a permanent lockout ends its sessions."""

    code = "account_disabled"
    default_message = "the account is disabled; an administrator must unlock it"


def describe_wait(seconds: int) -> str:
    """Seconds as a short duration, rounded up: ``15 minutes``, ``1 hour 5 minutes``."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    text = f"{hours} hour{'s' if hours != 1 else ''}"
    return text + (f" {rest} minute{'s' if rest != 1 else ''}" if rest else "")


class _RetryAfter(ClientError):
    """An error that may say how long to wait, in whole seconds."""

    def __init__(self, message: str | None = None, retry_after: float | None = None) -> None:
        self.retry_after: int | None = (
            None if retry_after is None else max(1, math.ceil(retry_after))
        )
        super().__init__(message or self._message())

    def _message(self) -> str:
        return self.default_message


class AccountLocked(_RetryAfter):
    """Too many failed logins; ``retry_after`` seconds, or None when only an admin can unlock."""

    code = "account_locked"
    default_message = "account locked; an administrator must unlock it"

    def _message(self) -> str:
        if self.retry_after is None:
            return self.default_message
        return f"account locked; try again in {describe_wait(self.retry_after)}"


class TooManyRequests(_RetryAfter):
    """Too many failed attempts from this address."""

    code = "too_many_requests"
    default_message = "too many attempts from this address; try again later"

    def _message(self) -> str:
        if self.retry_after is None:
            return self.default_message
        return (
            f"too many attempts from this address; try again in {describe_wait(self.retry_after)}"
        )


class UserNotConfirmed(ClientError):
    """The account exists but was never confirmed."""

    code = "user_not_confirmed"
    default_message = "the account is not confirmed yet"


class PasswordResetRequired(ClientError):
    """The password must be reset before the user can log in."""

    code = "password_reset_required"
    default_message = "the password must be reset before logging in"


class InvalidRequest(ClientError):
    """The request was malformed (a missing field, a wrong type, a body too large)."""

    code = "invalid_request"
    default_message = "the request is invalid"


class CodeMismatch(ClientError):
    """The confirmation or reset code is wrong (a wrong code counts towards a lockout)."""

    code = "code_mismatch"
    default_message = "the code is wrong"


class ExpiredCode(ClientError):
    """The code was used already, replaced by a newer one, or is too old: ask for a new one."""

    code = "expired_code"
    default_message = "the code has expired; request a new one"


class InvalidPassword(ClientError):
    """The new password breaks the pool's password policy; the message says which rule."""

    code = "invalid_password"
    default_message = "the password does not meet the pool's password policy"


class UsernameExists(ClientError):
    """An account with that username exists already."""

    code = "username_exists"
    default_message = "an account with that username already exists"


class ChallengeRequired(ClientError):
    """Cognito wants a challenge answered (MFA code, new password, ...) before it issues tokens."""

    code = "challenge_required"

    def __init__(
        self,
        challenge_name: str,
        session: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        username: str | None = None,
        gateway_url: str | None = None,
    ) -> None:
        self.challenge_name = challenge_name
        self.session = session
        self.parameters: dict[str, Any] = dict(parameters or {})
        self.username = username
        self.gateway_url = gateway_url
        super().__init__(f"Cognito asks for the {challenge_name} challenge")

    def __repr__(self) -> str:
        # The session is a bearer secret for the challenge: keep it out of logs.
        return f"ChallengeRequired(challenge_name={self.challenge_name!r}, session='***')"


class Unavailable(_RetryAfter):
    """The server could not be reached, or answered that it cannot serve now."""

    code = "unavailable"
    default_message = "the service is unavailable; try again shortly"


class GatewayUnavailable(Unavailable):
    """The gateway could not be reached, or answered 503 (it fails closed)."""

    default_message = "the gateway is unavailable; try again shortly"


class CognitoUnavailable(Unavailable):
    """Cognito could not be reached, failed, or throttled the request."""

    default_message = "Cognito is unavailable; try again shortly"


class StorageError(ClientError):
    """The session storage cannot be read or written."""

    code = "storage_error"
    default_message = "the session storage cannot be read or written"


class UnexpectedResponse(ClientError):
    """An answer this client does not understand; ``status`` and ``code`` say what came."""

    code = "unexpected_response"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.status = status
        self.error_code = code
        super().__init__(message)


def redact(text: str, secrets: tuple[str | None, ...]) -> str:
    """``text`` with every non-trivial secret in ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
