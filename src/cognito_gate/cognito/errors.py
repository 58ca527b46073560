"""One table: Cognito error code -> the gateway's error, and whether it counts against the user.

Errors are mapped by code, never by message (the emulator's messages differ from Cognito's), with
two exceptions Cognito gives no code for: its own lockout ("Password attempts exceeded") and a
secret-hash rejection. Cognito's messages are never passed on or logged: some carry the username,
a token or the secret hash; only ``InvalidPasswordException``'s policy text is kept.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from cognito_gate import errors as e
from cognito_gate.policy import Outcome

logger = logging.getLogger("cognito_gate.cognito")

Operation = Literal[
    "password", "challenge", "refresh", "revoke", "signout", "read", "code", "change"
]

F, N = Outcome.FAILURE, Outcome.NEUTRAL

#: code -> (error for a password check or challenge, outcome). Refresh and sign-out differ below.
AUTH_ERRORS: dict[str, tuple[type[e.GateError], Outcome]] = {
    "NotAuthorizedException": (e.InvalidCredentials, F),
    "UserNotFoundException": (e.InvalidCredentials, F),
    "CodeMismatchException": (e.InvalidCredentials, F),
    "EnableSoftwareTokenMFAException": (e.InvalidCredentials, F),
    "UserNotConfirmedException": (e.UserNotConfirmed, N),
    "PasswordResetRequiredException": (e.PasswordResetRequired, N),
    "TooManyFailedAttemptsException": (e.AccountLocked, N),
    "InvalidPasswordException": (e.InvalidPassword, N),
    "PasswordHistoryPolicyViolationException": (e.InvalidPassword, N),
    "ExpiredCodeException": (e.InvalidChallenge, N),
    # A malformed challenge answer; at login (the gateway's own request) a misconfigured client.
    "InvalidParameterException": (e.InvalidChallenge, N),
    "UserLambdaValidationException": (e.InvalidCredentials, N),
    "TooManyRequestsException": (e.CognitoUnavailable, N),
    "ThrottlingException": (e.CognitoUnavailable, N),
    "LimitExceededException": (e.CognitoUnavailable, N),
    "InternalErrorException": (e.CognitoUnavailable, N),
    "ServiceUnavailableException": (e.CognitoUnavailable, N),
}

#: code -> (error, outcome) for the account flows ("code": sign-up, confirmation, resend, forgot
#: and confirm-forgot password). A wrong or expired code is a failed guess; an unknown user is
#: answered as a wrong code (no enumeration) and counted as one. What is not listed is a 503.
CODE_ERRORS: dict[str, tuple[type[e.GateError], Outcome]] = {
    "CodeMismatchException": (e.CodeMismatch, F),
    "ExpiredCodeException": (e.ExpiredCode, F),
    "UserNotFoundException": (e.CodeMismatch, F),
    # ConfirmSignUp of an account already confirmed: Cognito checks no code; said as a wrong one.
    "NotAuthorizedException": (e.CodeMismatch, F),
    "UsernameExistsException": (e.UsernameExists, N),
    "AliasExistsException": (e.UsernameExists, N),
    "InvalidPasswordException": (e.InvalidPassword, N),
    "PasswordHistoryPolicyViolationException": (e.InvalidPassword, N),
    "UserNotConfirmedException": (e.UserNotConfirmed, N),
    "InvalidParameterException": (e.InvalidRequest, N),
    "UserLambdaValidationException": (e.InvalidRequest, N),
    # Cognito's own per-user limits on codes ("Attempt limit exceeded"): the user's, so a 429.
    "LimitExceededException": (e.TooManyRequests, N),
    "TooManyFailedAttemptsException": (e.TooManyRequests, N),
    # Cognito's request-rate quota and its own faults: the service's, so a 503.
    "TooManyRequestsException": (e.CognitoUnavailable, N),
    "CodeDeliveryFailureException": (e.CognitoUnavailable, N),
    "InternalErrorException": (e.CognitoUnavailable, N),
    "ServiceUnavailableException": (e.CognitoUnavailable, N),
}

#: Cognito's own lockout is a NotAuthorizedException with this message.
COGNITO_LOCKOUT = "Password attempts exceeded"
#: Cognito's own lockout lasts at most this long (2^(n-5) s, capped at about 15 minutes).
COGNITO_LOCKOUT_SECONDS = 900
SECRET_HASH_REJECTED = "Unable to verify secret hash"
USER_DISABLED = "User is disabled"


def _code_and_message(exc: Any) -> tuple[str, str]:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return str(error.get("Code", type(exc).__name__)), str(error.get("Message", ""))


def error_code(exc: Exception) -> str:
    """Cognito's error code of a botocore exception (the exception's name when it has none)."""
    return _code_and_message(exc)[0]


def translate(exc: Exception, operation: Operation) -> tuple[e.GateError, Outcome]:
    """The gateway error for a botocore exception, and what it says about the password."""
    code, message = _code_and_message(exc)
    if type(exc).__name__ == "ParamValidationError":
        # botocore refused the request before sending it: the caller's input, not Cognito down.
        if operation in ("refresh", "revoke"):
            return e.InvalidRefreshToken(), N
        if operation == "signout":
            return e.InvalidToken(), N
        return e.InvalidRequest("A parameter is malformed (length or characters)."), N
    if not hasattr(exc, "response"):
        logger.warning("cognito %s failed: %s", operation, type(exc).__name__)
        return e.CognitoUnavailable(), N
    if SECRET_HASH_REJECTED in message:
        logger.error(
            "cognito rejected the secret hash on %s: check COGNITO_GATE_CLIENT_SECRET", operation
        )
        return e.CognitoUnavailable(), N
    if code == "ResourceNotFoundException":
        logger.error(
            "cognito %s: pool or app client not found: check COGNITO_GATE_USER_POOL_ID,"
            " COGNITO_GATE_CLIENT_ID and COGNITO_GATE_REGION",
            operation,
        )
        return e.CognitoUnavailable(), N
    if operation in ("refresh", "revoke", "signout"):
        return _token_error(code, message, operation)
    if operation == "code":
        return _code_error(code, message)
    if operation == "change":
        return _change_error(code, message)
    if code == "NotAuthorizedException" and COGNITO_LOCKOUT in message:
        return e.AccountLocked(retry_after=COGNITO_LOCKOUT_SECONDS), N
    if code == "InvalidParameterException" and operation == "password":
        return _misconfigured_login(), N
    cls, outcome = AUTH_ERRORS.get(code, (e.CognitoUnavailable, N))
    if cls is e.CognitoUnavailable:
        logger.warning("cognito %s failed: %s", operation, code)
    if cls is e.InvalidPassword and code == "InvalidPasswordException":
        return e.InvalidPassword(_policy_text(message)), outcome
    if cls is e.AccountLocked:
        return e.AccountLocked(retry_after=COGNITO_LOCKOUT_SECONDS), outcome
    if code == "CodeMismatchException":
        return e.InvalidCredentials("The code is wrong."), outcome
    return cls(), outcome


def _misconfigured_login() -> e.GateError:
    """AdminInitiateAuth refused as an invalid parameter: the gateway's own request, whatever the
    user typed, so the pool or its app client is set up wrong (most often the client does not
    allow ALLOW_ADMIN_USER_PASSWORD_AUTH). Every login fails until an operator fixes it: 503,
    nothing counted against the user, and said loudly."""
    logger.error(
        "cognito refused the gateway's password check (AdminInitiateAuth) with"
        " InvalidParameterException: the app client most likely does not allow"
        " ALLOW_ADMIN_USER_PASSWORD_AUTH; add it to the client's auth flows (cognito-gate doctor"
        " reports this as admin_flow_missing). Every login fails with 503 until then."
    )
    return e.CognitoUnavailable()


def _token_error(code: str, message: str, operation: Operation) -> tuple[e.GateError, Outcome]:
    if code == "NotAuthorizedException" and USER_DISABLED in message:
        return e.AccountDisabled(), N
    if code in ("NotAuthorizedException", "UserNotFoundException", "UnsupportedTokenTypeException"):
        if operation == "signout":
            return e.InvalidToken(), N
        return e.InvalidRefreshToken(), N
    cls, _ = AUTH_ERRORS.get(code, (e.CognitoUnavailable, N))
    if cls is e.CognitoUnavailable or code not in AUTH_ERRORS:
        logger.warning("cognito %s failed: %s", operation, code)
        return e.CognitoUnavailable(), N
    return e.InvalidRefreshToken(), N


def _code_error(code: str, message: str) -> tuple[e.GateError, Outcome]:
    cls, outcome = CODE_ERRORS.get(code, (e.CognitoUnavailable, N))
    if cls is e.CognitoUnavailable:
        logger.warning("cognito code flow failed: %s", code)
        return e.CognitoUnavailable(), N
    if cls is e.InvalidPassword and code == "InvalidPasswordException":
        return e.InvalidPassword(_policy_text(message)), outcome
    if cls is e.TooManyRequests:
        return e.TooManyRequests("Too many attempts for this account; try again later."), outcome
    if cls is e.InvalidRequest:
        return e.InvalidRequest("Cognito refused the request as invalid."), outcome
    return cls(), outcome


#: Words of Cognito's NotAuthorizedException when ChangePassword refuses the access token itself
#: ("Invalid Access Token", "Access Token has been revoked", "Access Token has expired"), which
#: says nothing of the previous password.
_TOKEN_REFUSED = "access token"


def _change_error(code: str, message: str) -> tuple[e.GateError, Outcome]:
    """ChangePassword: a wrong previous password is a failed password check (SPEC)."""
    if code == "NotAuthorizedException":
        if COGNITO_LOCKOUT in message:
            return e.AccountLocked(retry_after=COGNITO_LOCKOUT_SECONDS), N
        if _TOKEN_REFUSED in message.lower() or USER_DISABLED in message:
            return e.InvalidToken(), N
        return e.InvalidCredentials("The previous password is wrong."), F
    if code in ("UserNotFoundException", "UserNotConfirmedException"):
        return e.InvalidToken(), N
    if code == "PasswordResetRequiredException":
        return e.PasswordResetRequired(), N
    if code in ("InvalidPasswordException", "PasswordHistoryPolicyViolationException"):
        return e.InvalidPassword(
            _policy_text(message) if code == "InvalidPasswordException" else None
        ), N
    if code in ("LimitExceededException", "TooManyFailedAttemptsException"):
        return e.TooManyRequests("Too many attempts for this account; try again later."), N
    if code == "InvalidParameterException":
        return e.InvalidRequest("Cognito refused the request as invalid."), N
    logger.warning("cognito change-password failed: %s", code)
    return e.CognitoUnavailable(), N


def _policy_text(message: str) -> str:
    # Cognito's text here is the pool's password policy ("Password did not conform with policy:
    # ..."); it names no user and no secret, and tells the user what to fix.
    text = message.strip() or e.InvalidPassword.default_message
    return text if len(text) <= 300 else text[:300]
