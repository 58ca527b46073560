"""InvalidParameterException at login (review #12): Cognito refusing the gateway's own password
check is a misconfigured app client, not the user's mistake: 503, logged loudly, nothing counted.
A malformed challenge answer keeps its meaning (400 ``invalid_challenge``)."""

from __future__ import annotations

import logging

import pytest
from botocore.stub import Stubber

from cognito_gate.cognito.local import LocalPool
from tests.cognito.test_cognito_errors import SESSION, WRONG, login, post, started, status
from tests.conftest import FakeClock

#: What Cognito answers when the app client does not allow ALLOW_ADMIN_USER_PASSWORD_AUTH.
FLOW_REFUSED = "Auth flow not enabled for this client"


def test_invalid_parameter_at_login_is_503_logged_and_counts_nothing(
    pool: LocalPool, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    # One attempt per account and per address: anything counted would refuse the real login.
    gate = started(pool, clock, max_attempts=1, ip_max_attempts=1)
    caplog.set_level(logging.DEBUG)
    with Stubber(gate.idp.client) as stub:
        for _ in range(3):
            stub.add_client_error("admin_initiate_auth", "InvalidParameterException", FLOW_REFUSED)
        answers = [login(gate, password) for password in (WRONG, WRONG, "Demo-passw0rd!")]
        stub.assert_no_pending_responses()
    for answer in answers:
        assert answer.status_code == 503
        assert answer.json() == {
            "error": "unavailable",
            "message": "The service is unavailable; try again shortly.",
        }
    assert status(gate) is None  # no failure, no reservation left behind
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len([m for m in errors if "InvalidParameterException" in m]) == 3
    assert all("ALLOW_ADMIN_USER_PASSWORD_AUTH" in m for m in errors)
    assert all("cognito-gate doctor" in m and "admin_flow_missing" in m for m in errors)
    assert WRONG not in "\n".join(r.getMessage() for r in caplog.records)
    # Fixed, the same user on the same address logs in at once.
    real = login(gate, pool.demo_password or "")
    assert real.status_code == 200, real.text


def test_invalid_parameter_on_a_challenge_answer_is_still_invalid_challenge(
    pool: LocalPool, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    gate = started(pool, clock)
    caplog.set_level(logging.DEBUG)
    body = {
        "username": "demo",
        "challengeName": "SOFTWARE_TOKEN_MFA",
        "session": SESSION,
        "responses": {"SOFTWARE_TOKEN_MFA_CODE": "12"},
    }
    with Stubber(gate.idp.client) as stub:
        stub.add_client_error(
            "admin_respond_to_auth_challenge", "InvalidParameterException", "Invalid code"
        )
        answer = post(gate, "/auth/challenge", body)
        stub.assert_no_pending_responses()
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_challenge"
    assert status(gate) is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
