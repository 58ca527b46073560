"""Cognito's answers the emulator cannot give, injected with botocore's Stubber.

Each gate is built on a real emulator pool and started against it first (the pool is read for
real); only the calls under test are stubbed, and every test checks both what the gateway answers
and what its store recorded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber

from cognito_gate import errors as e
from cognito_gate.admin import Admin
from cognito_gate.cognito.errors import (
    AUTH_ERRORS,
    COGNITO_LOCKOUT_SECONDS,
    translate,
)
from cognito_gate.cognito.idp import ClientContext
from cognito_gate.cognito.local import LocalPool
from cognito_gate.gate import Gate
from cognito_gate.policy import Outcome
from cognito_gate.server.app import create_app
from tests.conftest import FakeClock, make_gate

PEER = ("198.51.100.7", 50123)
CLIENT = ClientContext(ip="198.51.100.7", headers=(("user-agent", "pytest"),))
WRONG = "Wrong-passw0rd!"
#: Cognito sessions are 20 to 2048 characters.
SESSION = "AYABeC0ffee-session-" + "x" * 40


# -- helpers --------------------------------------------------------------------------------------


def started(pool: LocalPool, clock: FakeClock, **settings: Any) -> Gate:
    """A gate in front of ``pool``, started against the real emulator."""
    gate = make_gate(pool, clock, **settings)
    asyncio.run(gate.start())
    return gate


def post(
    gate: Gate,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    peer: tuple[str, int] = PEER,
) -> httpx.Response:
    """One request to the gateway's ASGI app, from ``peer``."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(gate=gate), client=peer)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post(path, json=body, headers=headers or {})

    return asyncio.run(go())


def login(gate: Gate, password: str, username: str = "demo", **kw: Any) -> httpx.Response:
    return post(gate, "/auth/login", {"username": username, "password": password}, **kw)


def status(gate: Gate, name: str = "demo") -> Any:
    return asyncio.run(Admin(gate).status(name))


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def fake_jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT: the gateway only reads the claims of tokens Cognito hands it."""
    return f"{b64url({'alg': 'RS256', 'kid': 'stub'})}.{b64url(claims)}.c2ln"


def tokens_answer(internal: str, refresh: str | None = "stub-refresh-token") -> dict[str, Any]:
    result: dict[str, Any] = {
        "IdToken": fake_jwt({"cognito:username": internal, "token_use": "id"}),
        "AccessToken": fake_jwt({"username": internal, "token_use": "access"}),
        "ExpiresIn": 3600,
        "TokenType": "Bearer",
    }
    if refresh:
        result["RefreshToken"] = refresh
    return {"AuthenticationResult": result, "ChallengeParameters": {}}


def expected_hash(secret: str, username: str, client_id: str) -> str:
    digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@pytest.fixture
def gate(pool: LocalPool, clock: FakeClock) -> Iterator[Gate]:
    g = started(pool, clock)
    yield g
    asyncio.run(g.close())


# -- Cognito's own lockout ------------------------------------------------------------------------


def test_cognitos_own_lockout_is_account_locked_not_a_wrong_password(gate: Gate) -> None:
    assert login(gate, WRONG).status_code == 401  # a real failure first
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error(
            "admin_initiate_auth", "NotAuthorizedException", "Password attempts exceeded"
        )
        answer = login(gate, gate.settings.demo_password.get_secret_value())
        stub.assert_no_pending_responses()
    assert answer.status_code == 429
    body = answer.json()
    assert body["error"] == "account_locked"
    assert body["retryAfter"] == COGNITO_LOCKOUT_SECONDS
    assert answer.headers["Retry-After"] == str(COGNITO_LOCKOUT_SECONDS)
    assert "Password attempts exceeded" not in body["message"]
    found = status(gate)
    assert found.failures == 1  # only the real wrong password counted
    assert found.locked_until is None  # the gateway's own lock was not started


def test_cognitos_own_lockout_never_counts_towards_the_gateways(
    pool: LocalPool, clock: FakeClock
) -> None:
    gate = started(pool, clock, max_attempts=2)
    with Stubber(gate.idp.client) as stub:
        for _ in range(3):
            stub.add_client_error(
                "admin_initiate_auth", "NotAuthorizedException", "Password attempts exceeded"
            )
        codes = [login(gate, WRONG).json()["error"] for _ in range(3)]
    assert codes == ["account_locked"] * 3
    assert status(gate) is None
    assert login(gate, pool.demo_password or "").status_code == 200


def test_too_many_failed_attempts_exception_is_account_locked(gate: Gate) -> None:
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error("admin_initiate_auth", "TooManyFailedAttemptsException", "x")
        answer = login(gate, WRONG)
    assert answer.status_code == 429
    assert answer.json()["error"] == "account_locked"
    assert status(gate) is None


# -- Cognito unavailable or throttling ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "http_status"),
    [
        ("TooManyRequestsException", 400),
        ("ThrottlingException", 400),
        ("LimitExceededException", 400),
        ("InternalErrorException", 500),
        ("ServiceUnavailableException", 503),
    ],
)
def test_cognito_throttling_or_failing_is_503_and_releases_the_reservation(
    pool: LocalPool, clock: FakeClock, code: str, http_status: int
) -> None:
    # One attempt per cycle: a reservation left behind would refuse the next login as busy.
    gate = started(pool, clock, max_attempts=1)
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error("admin_initiate_auth", code, "slow down", http_status)
        answer = login(gate, pool.demo_password or "")
    assert answer.status_code == 503
    assert answer.json()["error"] == "unavailable"
    assert status(gate) is None  # no failure, no pending reservation
    real = login(gate, pool.demo_password or "")
    assert real.status_code == 200, real.text
    assert real.json()["username"] == "demo"


@pytest.mark.parametrize(
    "failure",
    [
        EndpointConnectionError(endpoint_url="https://cognito-idp.us-east-1.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://cognito-idp.us-east-1.amazonaws.com/"),
    ],
    ids=["connection", "timeout"],
)
def test_unreachable_cognito_is_503_not_counted(
    pool: LocalPool, clock: FakeClock, failure: Exception
) -> None:
    gate = started(pool, clock, max_attempts=1)
    events = gate.idp.client.meta.events

    def unreachable(**_: Any) -> None:
        raise failure

    events.register("before-send.cognito-idp.AdminInitiateAuth", unreachable)
    try:
        answer = login(gate, WRONG)
    finally:
        events.unregister("before-send.cognito-idp.AdminInitiateAuth", unreachable)
    assert answer.status_code == 503
    assert answer.json()["error"] == "unavailable"
    assert status(gate) is None
    assert login(gate, pool.demo_password or "").status_code == 200


def test_throttling_does_not_count_against_the_address(pool: LocalPool, clock: FakeClock) -> None:
    gate = started(pool, clock, ip_max_attempts=1)
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error("admin_initiate_auth", "TooManyRequestsException", "slow down")
        assert login(gate, WRONG).status_code == 503
    # The address may still make its one failed attempt, and only then is throttled.
    assert login(gate, WRONG).status_code == 401
    third = login(gate, WRONG)
    assert third.status_code == 429
    assert third.json()["error"] == "too_many_requests"


# -- not confirmed, reset required ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "answer_code"),
    [
        ("UserNotConfirmedException", "user_not_confirmed"),
        ("PasswordResetRequiredException", "password_reset_required"),
    ],
)
def test_account_states_are_403_and_not_counted(gate: Gate, code: str, answer_code: str) -> None:
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error("admin_initiate_auth", code, "User is not confirmed.")
        answer = login(gate, gate.settings.demo_password.get_secret_value())
    assert answer.status_code == 403
    assert answer.json()["error"] == answer_code
    assert status(gate) is None


# -- secret hash ----------------------------------------------------------------------------------


def test_a_rejected_secret_hash_is_503_logged_for_the_operator_without_the_secret(
    secret_pool: LocalPool, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    gate = started(secret_pool, clock)
    secret = secret_pool.client_secret
    assert secret
    caplog.set_level(logging.DEBUG)
    with Stubber(gate.idp.client) as stub:
        stub.add_response("admin_get_user", {"Username": "demo"})
        stub.add_client_error(
            "admin_initiate_auth",
            "NotAuthorizedException",
            f"Unable to verify secret hash for client {secret_pool.client_id}",
        )
        answer = login(gate, WRONG)
        stub.assert_no_pending_responses()
    assert answer.status_code == 503
    assert answer.json()["error"] == "unavailable"
    assert status(gate) is None  # the operator's mistake is not the user's failure
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("COGNITO_GATE_CLIENT_SECRET" in r.getMessage() for r in errors)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in logged
    assert expected_hash(secret, "demo", secret_pool.client_id) not in logged
    assert WRONG not in logged


# -- what the gateway sends -----------------------------------------------------------------------


class HeadersWithout:
    """Matches ContextData.HttpHeaders that lack the named headers and include the wanted ones."""

    def __init__(self, absent: set[str], present: dict[str, str]) -> None:
        self.absent = absent
        self.present = present
        self.seen: list[dict[str, str]] | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, list):
            return False
        self.seen = other
        names = {h["headerName"].lower(): h["headerValue"] for h in other}
        return not (self.absent & set(names)) and all(
            names.get(k) == v for k, v in self.present.items()
        )

    __hash__ = None  # type: ignore[assignment]


def test_secret_hash_uses_the_internal_username_and_context_data_hides_credentials(
    secret_pool: LocalPool, clock: FakeClock
) -> None:
    gate = started(secret_pool, clock)
    secret = secret_pool.client_secret
    assert secret
    internal = str(uuid.uuid4())
    headers = HeadersWithout(
        absent={"authorization", "cookie"},
        present={"user-agent": "browser/1.0", "x-request-id": "req-42"},
    )
    with Stubber(gate.idp.client) as stub:
        stub.add_response(
            "admin_get_user",
            {"Username": internal},
            expected_params={"UserPoolId": secret_pool.user_pool_id, "Username": "Demo"},
        )
        stub.add_response(
            "admin_initiate_auth",
            tokens_answer(internal),
            expected_params={
                "UserPoolId": secret_pool.user_pool_id,
                "ClientId": secret_pool.client_id,
                "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                "AuthParameters": {
                    # the name as written (trimmed): Cognito applies its own case rule
                    "USERNAME": "Demo",
                    "PASSWORD": "Demo-passw0rd!",
                    "SECRET_HASH": expected_hash(secret, internal, secret_pool.client_id),
                },
                "ContextData": {
                    "IpAddress": PEER[0],
                    "ServerName": "testserver",
                    "ServerPath": "/auth/login",
                    "HttpHeaders": headers,
                },
            },
        )
        answer = login(
            gate,
            "Demo-passw0rd!",
            username="  Demo ",
            headers={
                "Authorization": "Bearer some-access-token",
                "Cookie": "session=abc",
                "User-Agent": "browser/1.0",
                "X-Request-Id": "req-42",
            },
        )
        stub.assert_no_pending_responses()
    assert answer.status_code == 200, answer.text
    assert answer.json()["username"] == internal
    assert headers.seen is not None
    assert "some-access-token" not in json.dumps(headers.seen)
    assert asyncio.run(gate.owner("stub-refresh-token")) == internal


def test_context_data_carries_the_forwarded_client_address_behind_a_trusted_proxy(
    pool: LocalPool, clock: FakeClock
) -> None:
    gate = started(pool, clock, trusted_proxies="10.0.0.0/8")
    with Stubber(gate.idp.client) as stub:
        stub.add_response(
            "admin_initiate_auth",
            tokens_answer("demo"),
            expected_params={
                "UserPoolId": pool.user_pool_id,
                "ClientId": pool.client_id,
                "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": "demo", "PASSWORD": "Demo-passw0rd!"},
                "ContextData": {
                    "IpAddress": "203.0.113.9",
                    "ServerName": ANY,
                    "ServerPath": "/auth/login",
                    "HttpHeaders": ANY,
                },
            },
        )
        answer = login(
            gate,
            "Demo-passw0rd!",
            headers={"X-Forwarded-For": "203.0.113.9"},
            peer=("10.1.2.3", 4000),
        )
        stub.assert_no_pending_responses()
    assert answer.status_code == 200, answer.text


def test_a_refresh_on_a_secret_client_hashes_the_internal_username(
    secret_pool: LocalPool, clock: FakeClock
) -> None:
    gate = started(secret_pool, clock)
    secret = secret_pool.client_secret
    assert secret
    internal = str(uuid.uuid4())
    with Stubber(gate.idp.client) as stub:
        stub.add_response("admin_get_user", {"Username": internal})
        stub.add_response("admin_initiate_auth", tokens_answer(internal, "rt-1"))
        assert login(gate, "Demo-passw0rd!").status_code == 200
        stub.add_response(
            "initiate_auth",
            tokens_answer(internal, refresh=None),
            expected_params={
                "ClientId": secret_pool.client_id,
                "AuthFlow": "REFRESH_TOKEN_AUTH",
                "AuthParameters": {
                    "REFRESH_TOKEN": "rt-1",
                    "SECRET_HASH": expected_hash(secret, internal, secret_pool.client_id),
                },
            },
        )
        refreshed = post(gate, "/auth/refresh", {"refreshToken": "rt-1"})
        stub.assert_no_pending_responses()
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refreshToken"] == "rt-1"  # not rotated: the one sent
    assert refreshed.json()["username"] == internal


# -- refresh ----------------------------------------------------------------------------------------


def test_refresh_of_a_user_disabled_in_cognito_is_account_disabled(gate: Gate) -> None:
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error("initiate_auth", "NotAuthorizedException", "User is disabled.")
        with pytest.raises(e.AccountDisabled):
            asyncio.run(gate.refresh("some-refresh-token", "demo"))
        stub.add_client_error("initiate_auth", "NotAuthorizedException", "User is disabled.")
        answer = post(gate, "/auth/refresh", {"refreshToken": "t", "username": "demo"})
    assert answer.status_code == 403
    assert answer.json()["error"] == "account_disabled"
    assert status(gate) is None  # a refresh is not a password check


def test_a_user_disabled_in_cognito_ends_the_browser_session_through_the_proxy(
    gate: Gate,
) -> None:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(gate=gate), client=PEER)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post(
                "/cognito/",
                content=json.dumps(
                    {
                        "ClientId": gate.idp.client_id,
                        "AuthFlow": "REFRESH_TOKEN_AUTH",
                        "AuthParameters": {"REFRESH_TOKEN": "t"},
                    }
                ),
                headers={
                    "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
                    "Content-Type": "application/x-amz-json-1.1",
                },
            )

    with Stubber(gate.idp.client) as stub:
        stub.add_client_error("initiate_auth", "NotAuthorizedException", "User is disabled.")
        answer = asyncio.run(go())
    assert answer.status_code == 400
    assert answer.json() == {"__type": "NotAuthorizedException", "message": "User is disabled."}


@pytest.mark.parametrize(
    "message", ["Refresh Token has been revoked", "Invalid Refresh Token", "stub-refresh-token"]
)
def test_other_refresh_refusals_are_invalid_refresh_token(gate: Gate, message: str) -> None:
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error("initiate_auth", "NotAuthorizedException", message)
        answer = post(gate, "/auth/refresh", {"refreshToken": "stub-refresh-token"})
    assert answer.status_code == 401
    body = answer.json()
    assert body["error"] == "invalid_refresh_token"
    assert "stub-refresh-token" not in answer.text


def test_refresh_while_cognito_throttles_is_503(gate: Gate) -> None:
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error("initiate_auth", "TooManyRequestsException", "slow down")
        answer = post(gate, "/auth/refresh", {"refreshToken": "t"})
    assert answer.status_code == 503
    assert answer.json()["error"] == "unavailable"


# -- challenges -----------------------------------------------------------------------------------


def test_a_wrong_totp_code_counts_as_a_failure(gate: Gate) -> None:
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error(
            "admin_respond_to_auth_challenge",
            "CodeMismatchException",
            "Invalid code or auth state for the user.",
            expected_params={
                "UserPoolId": gate.idp.user_pool_id,
                "ClientId": gate.idp.client_id,
                "ChallengeName": "SOFTWARE_TOKEN_MFA",
                "Session": SESSION,
                # the caller's USERNAME is replaced by the name it wrote (trimmed, NFC)
                "ChallengeResponses": {"USERNAME": "Demo", "SOFTWARE_TOKEN_MFA_CODE": "000000"},
                "ContextData": ANY,
            },
        )
        with pytest.raises(e.InvalidCredentials):
            asyncio.run(
                gate.respond(
                    "Demo",
                    "SOFTWARE_TOKEN_MFA",
                    SESSION,
                    {"USERNAME": "mallory", "SOFTWARE_TOKEN_MFA_CODE": "000000"},
                    CLIENT,
                )
            )
        stub.assert_no_pending_responses()
    assert status(gate).failures == 1


def test_wrong_totp_codes_lock_the_account_like_wrong_passwords(
    pool: LocalPool, clock: FakeClock
) -> None:
    gate = started(pool, clock, max_attempts=2)
    body = {
        "username": "demo",
        "challengeName": "SOFTWARE_TOKEN_MFA",
        "session": SESSION,
        "responses": {"SOFTWARE_TOKEN_MFA_CODE": "111111"},
    }
    with Stubber(gate.idp.client) as stub:
        for _ in range(2):
            stub.add_client_error(
                "admin_respond_to_auth_challenge", "CodeMismatchException", "wrong"
            )
        answers = [post(gate, "/auth/challenge", body) for _ in range(2)]
        stub.assert_no_pending_responses()
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json()["error"] == "invalid_credentials"
    found = status(gate)
    assert found.lockouts == 1
    assert found.locked_until is not None
    # the password itself is now refused without asking Cognito
    locked = login(gate, pool.demo_password or "")
    assert locked.status_code == 429
    assert locked.json()["error"] == "account_locked"


def test_an_expired_challenge_session_is_not_a_failure(gate: Gate) -> None:
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error(
            "admin_respond_to_auth_challenge", "NotAuthorizedException", "Invalid session"
        )
        stub.add_client_error(
            "admin_respond_to_auth_challenge", "ExpiredCodeException", "session expired"
        )
        with pytest.raises(e.InvalidCredentials):
            asyncio.run(gate.respond("demo", "SMS_MFA", SESSION, {"SMS_MFA_CODE": "1"}, CLIENT))
        with pytest.raises(e.InvalidChallenge):
            asyncio.run(gate.respond("demo", "SMS_MFA", SESSION, {"SMS_MFA_CODE": "1"}, CLIENT))
    assert status(gate).failures == 1  # only the NotAuthorized one


# -- the translation table ------------------------------------------------------------------------


def client_error(code: str, message: str = "text from cognito", status: int = 400) -> Exception:
    from botocore.exceptions import ClientError

    error: Exception = ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "AdminInitiateAuth",
    )
    return error


F, N = Outcome.FAILURE, Outcome.NEUTRAL

PASSWORD_CASES = [
    ("NotAuthorizedException", "Incorrect username or password.", e.InvalidCredentials, F),
    ("NotAuthorizedException", "Password attempts exceeded", e.AccountLocked, N),
    (
        "NotAuthorizedException",
        "Unable to verify secret hash for client c",
        e.CognitoUnavailable,
        N,
    ),
    ("UserNotFoundException", "User does not exist.", e.InvalidCredentials, F),
    ("CodeMismatchException", "Invalid code", e.InvalidCredentials, F),
    ("EnableSoftwareTokenMFAException", "x", e.InvalidCredentials, F),
    ("UserNotConfirmedException", "User is not confirmed.", e.UserNotConfirmed, N),
    ("PasswordResetRequiredException", "Password reset required", e.PasswordResetRequired, N),
    ("TooManyFailedAttemptsException", "x", e.AccountLocked, N),
    ("InvalidPasswordException", "Password did not conform", e.InvalidPassword, N),
    ("PasswordHistoryPolicyViolationException", "x", e.InvalidPassword, N),
    ("ExpiredCodeException", "x", e.InvalidChallenge, N),
    ("InvalidParameterException", "x", e.InvalidChallenge, N),
    ("UserLambdaValidationException", "x", e.InvalidCredentials, N),
    ("TooManyRequestsException", "x", e.CognitoUnavailable, N),
    ("ThrottlingException", "x", e.CognitoUnavailable, N),
    ("LimitExceededException", "x", e.CognitoUnavailable, N),
    ("InternalErrorException", "x", e.CognitoUnavailable, N),
    ("ServiceUnavailableException", "x", e.CognitoUnavailable, N),
    ("ResourceNotFoundException", "x", e.CognitoUnavailable, N),
    ("SomeBrandNewException", "x", e.CognitoUnavailable, N),
]


@pytest.mark.parametrize(("code", "message", "cls", "outcome"), PASSWORD_CASES)
@pytest.mark.parametrize("operation", ["password", "challenge"])
def test_translate_password_and_challenge_errors(
    code: str, message: str, cls: type[e.GateError], outcome: Outcome, operation: Any
) -> None:
    if (code, operation) == ("InvalidParameterException", "password"):
        cls = e.CognitoUnavailable  # the gateway's own login refused: a misconfigured client
    error, got = translate(client_error(code, message), operation)
    assert type(error) is cls
    assert got is outcome


def test_every_code_in_the_table_is_covered_by_the_cases() -> None:
    assert set(AUTH_ERRORS) <= {case[0] for case in PASSWORD_CASES}


def test_translated_lockouts_carry_cognitos_lockout_length() -> None:
    for code, message in [
        ("NotAuthorizedException", "Password attempts exceeded"),
        ("TooManyFailedAttemptsException", "x"),
    ]:
        error, _ = translate(client_error(code, message), "password")
        assert isinstance(error, e.AccountLocked)
        assert error.retry_after == COGNITO_LOCKOUT_SECONDS


def test_translate_keeps_only_the_password_policy_text() -> None:
    text = "Password did not conform with policy: Password not long enough"
    error, _ = translate(client_error("InvalidPasswordException", text), "password")
    assert error.message == text
    error, _ = translate(client_error("InvalidPasswordException", ""), "password")
    assert error.message == e.InvalidPassword.default_message


@pytest.mark.parametrize(
    ("code", "message", "operation", "cls"),
    [
        ("NotAuthorizedException", "User is disabled.", "refresh", e.AccountDisabled),
        (
            "NotAuthorizedException",
            "Refresh Token has been revoked",
            "refresh",
            e.InvalidRefreshToken,
        ),
        ("NotAuthorizedException", "Invalid Refresh Token", "refresh", e.InvalidRefreshToken),
        ("UserNotFoundException", "x", "refresh", e.InvalidRefreshToken),
        ("InvalidParameterException", "x", "refresh", e.InvalidRefreshToken),
        ("TooManyRequestsException", "x", "refresh", e.CognitoUnavailable),
        ("InternalErrorException", "x", "refresh", e.CognitoUnavailable),
        ("SomeBrandNewException", "x", "refresh", e.CognitoUnavailable),
        ("NotAuthorizedException", "Password attempts exceeded", "refresh", e.InvalidRefreshToken),
        ("UnsupportedTokenTypeException", "x", "revoke", e.InvalidRefreshToken),
        ("NotAuthorizedException", "x", "revoke", e.InvalidRefreshToken),
        ("NotAuthorizedException", "Access Token has been revoked", "signout", e.InvalidToken),
        ("NotAuthorizedException", "User is disabled.", "signout", e.AccountDisabled),
        ("ThrottlingException", "x", "signout", e.CognitoUnavailable),
        ("NotAuthorizedException", "Unable to verify secret hash", "refresh", e.CognitoUnavailable),
        ("ResourceNotFoundException", "x", "refresh", e.CognitoUnavailable),
    ],
)
def test_translate_token_errors(code: str, message: str, operation: Any, cls: type) -> None:
    error, outcome = translate(client_error(code, message), operation)
    assert type(error) is cls
    assert outcome is Outcome.NEUTRAL  # no token error says anything about a password


@pytest.mark.parametrize(
    "failure",
    [
        EndpointConnectionError(endpoint_url="https://x"),
        ReadTimeoutError(endpoint_url="https://x"),
    ],
)
@pytest.mark.parametrize("operation", ["password", "refresh", "read"])
def test_translate_transport_errors_are_unavailable(failure: Exception, operation: Any) -> None:
    error, outcome = translate(failure, operation)
    assert isinstance(error, e.CognitoUnavailable)
    assert outcome is Outcome.NEUTRAL


# moto puts the username, the refresh token, the JWT or the secret hash in its messages.
SENSITIVE = [
    "alice@example.com",
    "3c2f1a10-6a27-4a4b-9a0e-4b7d0a1e9b11",
    fake_jwt({"username": "alice", "token_use": "access"}),
    "qZk1lW0sZ5n2m3nq3b3Ue5+gAa0Yl8oX1cJ7Tt0rK9E=",
]


@pytest.mark.parametrize("sensitive", SENSITIVE)
@pytest.mark.parametrize(
    ("code", "operation"),
    [
        ("NotAuthorizedException", "password"),
        ("NotAuthorizedException", "refresh"),
        ("NotAuthorizedException", "signout"),
        ("NotAuthorizedException", "revoke"),
        ("UserNotFoundException", "password"),
        ("UsernameExistsException", "password"),
        ("ResourceNotFoundException", "read"),
        ("TooManyRequestsException", "password"),
        ("CodeMismatchException", "challenge"),
        ("ExpiredCodeException", "challenge"),
        ("UserNotConfirmedException", "password"),
    ],
)
def test_no_translated_message_repeats_cognitos(
    sensitive: str, code: str, operation: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    error, _ = translate(client_error(code, sensitive), operation)
    assert sensitive not in error.message
    assert sensitive not in str(error)
    assert all(sensitive not in r.getMessage() for r in caplog.records)


# -- logs -------------------------------------------------------------------------------------------


def test_debug_logging_never_writes_the_password_or_tokens(
    gate: Gate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = login(gate, "Demo-passw0rd!")
    assert answer.status_code == 200
    assert login(gate, "Unusual-Pa55word!").status_code == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Demo-passw0rd!" not in logged
    assert "Unusual-Pa55word!" not in logged
    assert answer.json()["refreshToken"] not in logged
    assert answer.json()["accessToken"] not in logged


# -- known bugs -------------------------------------------------------------------------------------


def test_a_malformed_challenge_session_is_the_callers_error_not_503(gate: Gate) -> None:
    body = {
        "username": "demo",
        "challengeName": "SOFTWARE_TOKEN_MFA",
        "session": "short",
        "responses": {"SOFTWARE_TOKEN_MFA_CODE": "123456"},
    }
    answer = post(gate, "/auth/challenge", body)
    assert answer.status_code in (400, 422)
    assert answer.json()["error"] in ("invalid_request", "invalid_challenge")
