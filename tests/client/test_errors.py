"""Every error the gateway or Cognito can answer maps to a typed error with a safe message."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cognito_gate.client import (
    AccountDisabled,
    AccountLocked,
    ChallengeRequired,
    ClientError,
    CognitoUnavailable,
    GatewayUnavailable,
    InvalidCredentials,
    InvalidRequest,
    NotAuthorized,
    PasswordResetRequired,
    RefreshFailed,
    TooManyRequests,
    UnexpectedResponse,
    UserNotConfirmed,
    login,
)
from cognito_gate.client.errors import describe_wait
from cognito_gate.client.wire import cognito_error, gateway_error

PASSWORD = "Sup3r-secret-passw0rd!"


def _login_answered(status: int, body: Any, headers: dict[str, str] | None = None) -> ClientError:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with pytest.raises(ClientError) as caught:
        login("http://gate.test", "alice", PASSWORD, http_client=client)
    assert PASSWORD not in str(caught.value) + repr(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "message"),
    [
        (401, {"error": "invalid_credentials"}, {}, InvalidCredentials, "incorrect username"),
        (
            429,
            {"error": "account_locked", "retryAfter": 900},
            {"Retry-After": "900"},
            AccountLocked,
            "account locked; try again in 15 minutes",
        ),
        (
            429,
            {"error": "account_locked"},
            {"Retry-After": "61"},
            AccountLocked,
            "account locked; try again in 2 minutes",
        ),
        (
            429,
            {"error": "account_locked"},
            {},
            AccountLocked,
            "account locked; an administrator must unlock it",
        ),
        (
            429,
            {"error": "too_many_requests", "retryAfter": 30},
            {},
            TooManyRequests,
            "too many attempts from this address; try again in 30 seconds",
        ),
        (403, {"error": "user_not_confirmed"}, {}, UserNotConfirmed, "not confirmed"),
        (403, {"error": "password_reset_required"}, {}, PasswordResetRequired, "reset"),
        (422, {"error": "invalid_request"}, {}, InvalidRequest, "invalid"),
        (413, {"error": "payload_too_large"}, {}, InvalidRequest, "invalid"),
        (503, {"error": "unavailable"}, {}, GatewayUnavailable, "gateway is unavailable"),
        (502, "<html>bad gateway</html>", {}, GatewayUnavailable, "gateway is unavailable"),
        (
            418,
            {"error": "teapot", "message": f"no {PASSWORD} here"},
            {},
            UnexpectedResponse,
            "(teapot): no *** here",
        ),
    ],
)
def test_each_login_error_is_typed_with_a_one_line_message(
    status: int, body: Any, headers: dict[str, str], kind: type[ClientError], message: str
) -> None:
    error = _login_answered(status, body, headers)
    assert type(error) is kind
    assert message in str(error)
    assert "\n" not in str(error)


def test_the_lockout_wait_comes_from_the_body_or_the_header() -> None:
    error = _login_answered(429, {"error": "account_locked"}, {"Retry-After": "120"})
    assert isinstance(error, AccountLocked)
    assert error.retry_after == 120


def test_a_challenge_answer_raises_challenge_required_with_everything_to_answer_it() -> None:
    error = _login_answered(
        200,
        {
            "challengeName": "SOFTWARE_TOKEN_MFA",
            "session": "sess-123-secret",
            "challengeParameters": {"FRIENDLY_DEVICE_NAME": "phone"},
        },
    )
    assert isinstance(error, ChallengeRequired)
    assert error.challenge_name == "SOFTWARE_TOKEN_MFA"
    assert error.session == "sess-123-secret"
    assert error.parameters == {"FRIENDLY_DEVICE_NAME": "phone"}
    assert error.username == "alice"
    assert "sess-123-secret" not in str(error) + repr(error)


def test_a_success_without_tokens_is_an_unexpected_response() -> None:
    assert isinstance(_login_answered(200, {"hello": "world"}), UnexpectedResponse)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"error": "invalid_refresh_token"}, RefreshFailed),
        ({"error": "account_disabled"}, AccountDisabled),
        ({"error": "invalid_token"}, NotAuthorized),
    ],
)
def test_refresh_and_token_errors_of_the_gateway(body: Any, kind: type[ClientError]) -> None:
    status = 403 if body["error"] == "account_disabled" else 401
    assert type(gateway_error(httpx.Response(status, json=body))) is kind


def _cognito(status: int, body: Any, headers: dict[str, str] | None = None) -> ClientError:
    return cognito_error(httpx.Response(status, json=body, headers=headers))


def test_cognito_errors_map_by_code_and_never_carry_cognitos_message() -> None:
    # moto puts the secret hash or the refresh token into the message: it must never show.
    leaked = "the-refresh-token-itself"
    error = _cognito(400, {"__type": "NotAuthorizedException", "message": leaked})
    assert isinstance(error, RefreshFailed)
    assert leaked not in str(error)
    prefixed = {"__type": "com.amazonaws#UserNotFoundException", "message": leaked}
    assert isinstance(_cognito(400, prefixed), RefreshFailed)
    assert isinstance(
        _cognito(400, {"__type": "PasswordResetRequiredException"}), PasswordResetRequired
    )
    assert isinstance(_cognito(400, {"__type": "UserNotConfirmedException"}), UserNotConfirmed)
    assert isinstance(_cognito(400, {"__type": "InvalidParameterException"}), InvalidRequest)
    throttled = _cognito(400, {"__type": "TooManyRequestsException"})
    assert isinstance(throttled, CognitoUnavailable)
    assert isinstance(_cognito(500, {}), CognitoUnavailable)
    header_only = cognito_error(
        httpx.Response(400, content=b"", headers={"x-amzn-errortype": "NotAuthorizedException:"})
    )
    assert isinstance(header_only, RefreshFailed)
    other = _cognito(400, {"__type": "ResourceNotFoundException", "message": leaked})
    assert isinstance(other, UnexpectedResponse)
    assert "ResourceNotFoundException" in str(other)
    assert leaked not in str(other)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (900, "15 minutes"),
        (3600, "1 hour"),
        (3900, "1 hour 5 minutes"),
        (86400, "24 hours"),
    ],
)
def test_waits_read_as_english(seconds: int, text: str) -> None:
    assert describe_wait(seconds) == text
