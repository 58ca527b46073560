"""Cognito's errors on the account flows, as the gateway answers them (one table, by code)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from cognito_gate import errors as e
from cognito_gate.cognito.errors import translate
from cognito_gate.policy import Outcome

F, N = Outcome.FAILURE, Outcome.NEUTRAL


def client_error(code: str, message: str = "text from cognito") -> Exception:
    error: Exception = ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "ConfirmForgotPassword",
    )
    return error


@pytest.mark.parametrize(
    ("code", "error", "outcome"),
    [
        ("CodeMismatchException", e.CodeMismatch, F),
        ("ExpiredCodeException", e.ExpiredCode, F),
        ("UserNotFoundException", e.CodeMismatch, F),  # no enumeration on code routes
        ("NotAuthorizedException", e.CodeMismatch, F),
        ("UsernameExistsException", e.UsernameExists, N),
        ("AliasExistsException", e.UsernameExists, N),
        ("InvalidPasswordException", e.InvalidPassword, N),
        ("PasswordHistoryPolicyViolationException", e.InvalidPassword, N),
        ("InvalidParameterException", e.InvalidRequest, N),
        ("LimitExceededException", e.TooManyRequests, N),
        ("TooManyFailedAttemptsException", e.TooManyRequests, N),
        ("TooManyRequestsException", e.CognitoUnavailable, N),
        ("InternalErrorException", e.CognitoUnavailable, N),
        ("SomethingNewException", e.CognitoUnavailable, N),
    ],
)
def test_code_flow_errors(code: str, error: type[e.GateError], outcome: Outcome) -> None:
    got, said = translate(client_error(code), "code")
    assert type(got) is error
    assert said is outcome
    if error is not e.InvalidPassword:  # the one text of Cognito's that is passed on
        assert "text from cognito" not in got.message


def test_the_password_policy_text_is_kept() -> None:
    text = "Password did not conform with policy: Password must have symbol characters"
    got, _ = translate(client_error("InvalidPasswordException", text), "code")
    assert (got.code, got.status, got.message) == ("invalid_password", 400, text)
    got, _ = translate(client_error("InvalidPasswordException", text), "change")
    assert got.message == text


@pytest.mark.parametrize(
    ("message", "error", "outcome"),
    [
        ("Incorrect username or password.", e.InvalidCredentials, F),
        ("alice", e.InvalidCredentials, F),  # whatever the text, a wrong password counts
        ("Access Token has been revoked", e.InvalidToken, N),
        ("Invalid Access Token", e.InvalidToken, N),
        ("Access Token has expired", e.InvalidToken, N),
        ("User is disabled.", e.InvalidToken, N),
        ("Password attempts exceeded", e.AccountLocked, N),
    ],
)
def test_change_password_not_authorized(
    message: str, error: type[e.GateError], outcome: Outcome
) -> None:
    got, said = translate(client_error("NotAuthorizedException", message), "change")
    assert type(got) is error
    assert said is outcome


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("LimitExceededException", e.TooManyRequests),
        ("PasswordResetRequiredException", e.PasswordResetRequired),
        ("UserNotFoundException", e.InvalidToken),
        ("InvalidParameterException", e.InvalidRequest),
        ("TooManyRequestsException", e.CognitoUnavailable),
    ],
)
def test_change_password_other_errors(code: str, error: type[e.GateError]) -> None:
    got, said = translate(client_error(code), "change")
    assert type(got) is error
    assert said is N


def test_the_other_operations_keep_their_mappings() -> None:
    got, said = translate(client_error("LimitExceededException"), "password")
    assert type(got) is e.CognitoUnavailable
    got, said = translate(client_error("CodeMismatchException"), "challenge")
    assert (type(got), said) == (e.InvalidCredentials, F)
