"""The client's HTTP: requests built and answers read without I/O, plus retrying senders.

Two servers answer the client:

- Cognito's JSON API (``InitiateAuth`` with ``REFRESH_TOKEN_AUTH``, ``RevokeToken``), sent as
  amazon-cognito-identity-js sends it: an unsigned POST of ``application/x-amz-json-1.1`` with
  ``X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>``. Errors are
  ``{"__type": "...", "message": ...}`` or the ``x-amzn-errortype`` header.
- The gateway (``/auth/*``): camelCase JSON; errors are ``{"error": CODE, "message": TEXT}``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from cognito_gate.client import errors as e
from cognito_gate.cognito.jwt import secret_hash as secret_hash

USER_AGENT = "cognito-gate-python"
COGNITO_TARGET = "AWSCognitoIdentityProviderService."

# Cognito codes that mean "try again later", not "no".
_COGNITO_TRANSIENT = {
    "InternalErrorException",
    "ServiceUnavailableException",
    "TooManyRequestsException",
    "LimitExceededException",
    "ThrottlingException",
}


@dataclass(frozen=True)
class AuthResult:
    """New tokens; ``refresh_token`` is None when the server did not send one (no rotation)."""

    id_token: str
    access_token: str
    refresh_token: str | None
    username: str | None = None


def cognito_request(endpoint: str, operation: str, body: Mapping[str, Any]) -> httpx.Request:
    """An unsigned Cognito JSON API call, with the headers amazon-cognito-identity-js sends."""
    return httpx.Request(
        "POST",
        endpoint,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": COGNITO_TARGET + operation,
            "X-Amz-User-Agent": USER_AGENT,
            "Cache-Control": "no-store",
        },
        content=_json_bytes(body),
    )


def refresh_request(
    endpoint: str,
    client_id: str,
    refresh_token: str,
    *,
    device_key: str | None = None,
    secret_hash: str | None = None,
) -> httpx.Request:
    """``InitiateAuth`` with ``REFRESH_TOKEN_AUTH``."""
    params = {"REFRESH_TOKEN": refresh_token}
    if device_key:
        params["DEVICE_KEY"] = device_key
    if secret_hash:
        params["SECRET_HASH"] = secret_hash
    body = {"ClientId": client_id, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": params}
    return cognito_request(endpoint, "InitiateAuth", body)


def gateway_request(
    gateway_url: str,
    route: str,
    body: Mapping[str, Any] | None = None,
    *,
    bearer: str | None = None,
) -> httpx.Request:
    """A call to the gateway: POST with a JSON body, or GET without one."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    url = gateway_url.rstrip("/") + route
    if body is None:
        return httpx.Request("GET", url, headers=headers)
    headers["Content-Type"] = "application/json"
    return httpx.Request("POST", url, headers=headers, content=_json_bytes(body))


def _json_bytes(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


# -- reading Cognito's answers --------------------------------------------------------------------


def cognito_error_code(response: httpx.Response) -> str:
    """The error's short code (``NotAuthorizedException``), as the JS library extracts it."""
    body = _body(response)
    code = ""
    if isinstance(body, dict):
        code = str(body.get("__type") or body.get("code") or "")
    if not code:
        code = response.headers.get("x-amzn-errortype", "").split(":")[0]
    return code.split("#")[-1]


def cognito_error(response: httpx.Response) -> e.ClientError:
    """The client error for a Cognito error answer (never with Cognito's own message)."""
    code = cognito_error_code(response)
    if code in ("NotAuthorizedException", "UserNotFoundException"):
        return e.RefreshFailed()
    if code == "PasswordResetRequiredException":
        return e.PasswordResetRequired()
    if code == "UserNotConfirmedException":
        return e.UserNotConfirmed()
    if code == "InvalidParameterException":
        return e.InvalidRequest(
            "Cognito refused the request as invalid (InvalidParameterException)"
        )
    if code in _COGNITO_TRANSIENT or response.status_code >= 500:
        return e.CognitoUnavailable(retry_after=_retry_after_header(response))
    return e.UnexpectedResponse(
        f"Cognito refused the request ({code or response.status_code})",
        status=response.status_code,
        code=code or None,
    )


def parse_cognito_auth(response: httpx.Response) -> AuthResult:
    """Tokens from an ``InitiateAuth`` answer, or the mapped error."""
    if not response.is_success:
        raise cognito_error(response)
    body = _body(response)
    result = body.get("AuthenticationResult") if isinstance(body, dict) else None
    if not isinstance(result, dict):
        challenge = body.get("ChallengeName") if isinstance(body, dict) else None
        if challenge:
            raise e.ChallengeRequired(str(challenge), str(body.get("Session") or ""))
        raise e.UnexpectedResponse("Cognito answered without tokens", status=response.status_code)
    id_token, access_token = result.get("IdToken"), result.get("AccessToken")
    if not isinstance(id_token, str) or not isinstance(access_token, str):
        raise e.UnexpectedResponse("Cognito answered without tokens", status=response.status_code)
    refresh = result.get("RefreshToken")
    return AuthResult(id_token, access_token, refresh if isinstance(refresh, str) else None)


def parse_cognito_empty(response: httpx.Response) -> None:
    """Success or the mapped error, for calls that answer ``{}`` (``RevokeToken``)."""
    if not response.is_success:
        raise cognito_error(response)


# -- reading the gateway's answers ----------------------------------------------------------------


def gateway_error(response: httpx.Response, secrets: tuple[str | None, ...] = ()) -> e.ClientError:
    """The client error for a gateway error answer (SPEC's error table)."""
    body = _body(response)
    body = body if isinstance(body, dict) else {}
    code = str(body.get("error") or "")
    status = response.status_code
    retry_after = body.get("retryAfter")
    if not isinstance(retry_after, int | float) or isinstance(retry_after, bool):
        retry_after = _retry_after_header(response)
    simple: dict[str, type[e.ClientError]] = {
        "invalid_credentials": e.InvalidCredentials,
        "invalid_refresh_token": e.RefreshFailed,
        "account_disabled": e.AccountDisabled,
        "user_not_confirmed": e.UserNotConfirmed,
        "password_reset_required": e.PasswordResetRequired,
        "invalid_request": e.InvalidRequest,
        "payload_too_large": e.InvalidRequest,
        "code_mismatch": e.CodeMismatch,
        "expired_code": e.ExpiredCode,
        "username_exists": e.UsernameExists,
    }
    if code in simple:
        return simple[code]()
    if code == "invalid_password":
        # The pool's password rules, as Cognito words them: what the user must fix.
        policy = body.get("message")
        text = e.redact(policy, secrets) if isinstance(policy, str) and policy else None
        return e.InvalidPassword(text)
    if code == "account_locked":
        return e.AccountLocked(retry_after=retry_after)
    if code == "too_many_requests" or (status == 429 and not code):
        return e.TooManyRequests(retry_after=retry_after)
    if status >= 500:
        return e.GatewayUnavailable(retry_after=retry_after)
    if status == 401:
        return e.NotAuthorized()
    message = body.get("message")
    text = e.redact(str(message), secrets) if isinstance(message, str) and message else ""
    return e.UnexpectedResponse(
        f"the gateway refused the request ({code or status})" + (f": {text}" if text else ""),
        status=status,
        code=code or None,
    )


def parse_gateway_json(
    response: httpx.Response, secrets: tuple[str | None, ...] = ()
) -> dict[str, Any]:
    """The JSON object of a gateway success, or the mapped error."""
    if not response.is_success:
        raise gateway_error(response, secrets)
    body = _body(response)
    if not isinstance(body, dict):
        raise e.UnexpectedResponse(
            "the gateway answered something that is not a JSON object",
            status=response.status_code,
        )
    return body


def parse_tokens_object(body: Mapping[str, Any]) -> AuthResult:
    """The gateway's tokens object: ``idToken``, ``accessToken``, ``refreshToken``, ``username``."""
    id_token, access_token = body.get("idToken"), body.get("accessToken")
    if not isinstance(id_token, str) or not isinstance(access_token, str):
        raise e.UnexpectedResponse("the gateway answered without tokens")
    refresh, username = body.get("refreshToken"), body.get("username")
    return AuthResult(
        id_token,
        access_token,
        refresh if isinstance(refresh, str) and refresh else None,
        username if isinstance(username, str) else None,
    )


def _retry_after_header(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# -- sending, with retries for what is transient ------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try a call that may be repeated safely (never a password check)."""

    attempts: int = 3
    base_delay: float = 0.1

    def delay(self, attempt: int) -> float:
        """Jittered exponential backoff, as the JS library's ``jitteredBackoff``."""
        return (2.0**attempt) * self.base_delay + random.random() * self.base_delay


Parser = Callable[[httpx.Response], Any]


def _transient(exc: e.ClientError) -> bool:
    return isinstance(exc, e.Unavailable)


def _unavailable(unavailable: type[e.Unavailable], exc: httpx.TransportError) -> e.Unavailable:
    return unavailable(f"{unavailable.default_message} ({type(exc).__name__})")


def send(
    client: httpx.Client,
    request: httpx.Request,
    parse: Parser,
    *,
    unavailable: type[e.Unavailable],
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Send ``request`` and ``parse`` the answer; retry transport errors and 5xx answers."""
    policy = retry or RetryPolicy(attempts=1)
    for attempt in range(1, policy.attempts + 1):
        try:
            response = client.send(request)
            response.read()
            return parse(response)
        except httpx.TransportError as exc:
            error: e.ClientError = _unavailable(unavailable, exc)
        except e.ClientError as exc:
            if not _transient(exc):
                raise
            error = exc
        if attempt == policy.attempts:
            raise error
        sleep(policy.delay(attempt))
    raise AssertionError("unreachable")


async def asend(
    client: httpx.AsyncClient,
    request: httpx.Request,
    parse: Parser,
    *,
    unavailable: type[e.Unavailable],
    retry: RetryPolicy | None = None,
) -> Any:
    """:func:`send` for an ``httpx.AsyncClient``."""
    policy = retry or RetryPolicy(attempts=1)
    for attempt in range(1, policy.attempts + 1):
        try:
            response = await client.send(request)
            await response.aread()
            return parse(response)
        except httpx.TransportError as exc:
            error: e.ClientError = _unavailable(unavailable, exc)
        except e.ClientError as exc:
            if not _transient(exc):
                raise
            error = exc
        if attempt == policy.attempts:
            raise error
        await asyncio.sleep(policy.delay(attempt))
    raise AssertionError("unreachable")
