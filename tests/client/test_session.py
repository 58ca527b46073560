"""CognitoUserSession follows the JS library's clock-drift rule exactly."""

from __future__ import annotations

import pytest

from cognito_gate.client import CognitoAccessToken, CognitoIdToken, CognitoUserSession
from tests.client.jwt_helpers import make_jwt, token_pair
from tests.conftest import FakeClock


def _session(clock: FakeClock, iat: int, drift: int | None = None) -> CognitoUserSession:
    id_token, access_token = token_pair(iat)
    return CognitoUserSession(
        CognitoIdToken(id_token), CognitoAccessToken(access_token), clock_drift=drift, clock=clock
    )


def test_clock_drift_is_now_minus_the_earlier_iat_in_whole_seconds() -> None:
    clock = FakeClock(1_000_500.7)
    id_token = make_jwt({"iat": 1_000_000, "exp": 1_003_600})
    access_token = make_jwt({"iat": 1_000_010, "exp": 1_003_610})
    session = CognitoUserSession(
        CognitoIdToken(id_token), CognitoAccessToken(access_token), clock=clock
    )
    assert session.clock_drift == 500
    assert session.get_clock_drift() == 500


def test_a_session_is_valid_until_exactly_its_drift_adjusted_expiry() -> None:
    # The local clock runs 2 hours ahead of Cognito's: the drift cancels it.
    clock = FakeClock(1_000_000 + 7200)
    session = _session(clock, iat=1_000_000)
    assert session.clock_drift == 7200
    clock.advance(3599)
    assert session.is_valid()
    clock.advance(1)
    assert not session.is_valid()


def test_a_stored_drift_is_used_as_given() -> None:
    clock = FakeClock(1_000_000)
    # A drift of -100: this clock runs 100 s behind the issuer's, so the session ends 100 s early.
    session = _session(clock, iat=1_000_000, drift=-100)
    assert session.clock_drift == -100
    clock.advance(3600 - 101)
    assert session.is_valid()
    clock.advance(1)
    assert not session.is_valid()


def test_leeway_asks_for_time_to_spare() -> None:
    clock = FakeClock(1_000_000)
    session = _session(clock, iat=1_000_000)
    clock.advance(3500)
    assert session.is_valid()
    assert session.is_valid(leeway=99)
    assert not session.is_valid(leeway=100)


def test_a_token_without_exp_is_never_valid() -> None:
    clock = FakeClock(1_000_000)
    session = CognitoUserSession(
        CognitoIdToken(make_jwt({"iat": 1_000_000})),
        CognitoAccessToken(make_jwt({"iat": 1_000_000, "exp": 2_000_000})),
        clock=clock,
    )
    assert not session.is_valid()
    assert session.expires_at is None


def test_expiry_and_life_are_reported_on_the_local_clock() -> None:
    clock = FakeClock(1_000_000 + 50)
    session = _session(clock, iat=1_000_000)
    assert session.expires_at == 1_003_650
    assert session.issued_at == 1_000_050
    assert session.lifetime == 3600


def test_both_tokens_are_required() -> None:
    with pytest.raises(ValueError, match="must be present"):
        CognitoUserSession(None, CognitoAccessToken(""))  # type: ignore[arg-type]
