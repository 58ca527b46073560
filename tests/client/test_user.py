"""CognitoUser without a network: what it reads from storage, and when."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from cognito_gate.client import CognitoUserPool, MemoryStorage, NotSignedIn, setup_session
from tests.client.jwt_helpers import token_pair
from tests.conftest import FakeClock


class CountingStorage(MemoryStorage):
    """A MemoryStorage that counts its reads."""

    reads = 0

    def _read(self) -> Mapping[str, str]:
        self.reads += 1
        return super()._read()


def _setup(storage: MemoryStorage, clock: FakeClock, lifetime: int = 3600) -> None:
    id_token, access_token = token_pair(int(clock()), lifetime=lifetime)
    setup_session(
        "demo",
        access_token,
        id_token,
        "rt",
        "us-east-1_abc",
        "client",
        storage=storage,
        clock=clock,
    )


def test_current_user_and_its_session_come_from_one_read_of_the_storage() -> None:
    clock = FakeClock()
    storage = CountingStorage()
    _setup(storage, clock)
    pool = CognitoUserPool("us-east-1_abc", "client", storage=storage, clock=clock)
    storage.reads = 0
    user = pool.get_current_user()
    assert user is not None
    assert user.get_session().is_valid()
    assert storage.reads == 1


def test_a_user_kept_a_while_reads_the_storage_again(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    storage = CountingStorage()
    _setup(storage, clock)
    pool = CognitoUserPool("us-east-1_abc", "client", storage=storage, clock=clock)
    user = pool.get_current_user()
    assert user is not None
    user.sign_out()  # elsewhere, meanwhile
    monkeypatch.setattr("cognito_gate.client.user._FIRST_READ_FRESH", -1.0)
    with pytest.raises(NotSignedIn):
        user.get_session()


def test_a_held_valid_session_needs_no_read_at_all() -> None:
    clock = FakeClock()
    storage = CountingStorage()
    _setup(storage, clock)
    user = CognitoUserPool("us-east-1_abc", "client", storage=storage, clock=clock)
    current = user.get_current_user()
    assert current is not None
    current.get_session()
    storage.reads = 0
    for _ in range(10):
        current.get_session()
    assert storage.reads == 0


def test_min_ttl_never_asks_for_more_than_half_a_tokens_life() -> None:
    clock = FakeClock()
    storage = MemoryStorage()
    _setup(storage, clock, lifetime=100)
    pool = CognitoUserPool("us-east-1_abc", "client", storage=storage, clock=clock)
    user = pool.get_current_user()
    assert user is not None
    # A 60 s margin on 100 s tokens is capped at 50 s: fresh tokens are good enough.
    assert user.get_session(min_ttl=60).is_valid()


def test_the_clock_drift_is_read_as_the_js_library_reads_it() -> None:
    clock = FakeClock()
    storage = MemoryStorage()
    _setup(storage, clock)
    key = "CognitoIdentityServiceProvider.client.demo.clockDrift"
    pool = CognitoUserPool("us-east-1_abc", "client", storage=storage, clock=clock)
    for stored, drift in [("12", 12), (" -7", -7), ("3.9", 3), ("junk", 0), ("", 0)]:
        storage.set_item(key, stored)
        user = pool.get_current_user()
        assert user is not None
        session = user.get_stored_session()
        assert session is not None
        assert session.clock_drift == drift


def test_a_pool_id_must_look_like_one() -> None:
    with pytest.raises(ValueError, match="Invalid UserPoolId"):
        CognitoUserPool("not a pool", "client")
    with pytest.raises(ValueError, match="required"):
        CognitoUserPool("us-east-1_abc", "")
    assert CognitoUserPool("eu-west-1_AbC123", "c").endpoint == (
        "https://cognito-idp.eu-west-1.amazonaws.com/"
    )
