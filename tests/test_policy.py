"""The policy is pure: state + now -> verdict. Every rule of SPEC's "Policy semantics" here."""

from __future__ import annotations

import pytest

from cognito_gate.policy import AccountState, LockoutPolicy, Outcome

T0 = 1_800_000_000.0


def fail(policy: LockoutPolicy, state: AccountState, now: float, n: int = 1) -> AccountState:
    """n sequential failed attempts at ``now``, each reserved then recorded."""
    for i in range(n):
        verdict, state = policy.admit(state, now, f"r{now}-{i}")
        assert verdict.allowed, verdict
        state = policy.record(state, now, f"r{now}-{i}", Outcome.FAILURE).state
    return state


def test_the_nth_failure_locks_and_starts_a_fresh_count() -> None:
    policy = LockoutPolicy(max_attempts=3, lockout_seconds=60)
    state = fail(policy, AccountState(), T0, 2)
    assert policy.check(state, T0).allowed
    verdict, state = policy.admit(state, T0, "third")
    assert verdict.allowed
    done = policy.record(state, T0, "third", Outcome.FAILURE)
    assert done.locked
    assert done.lock_seconds == 60
    assert done.state.failures == ()
    assert done.state.lockouts == 1
    refused, _ = policy.admit(done.state, T0 + 1, "fourth")
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(59)
    assert refused.reason == "locked"


def test_the_lock_releases_exactly_at_its_end() -> None:
    policy = LockoutPolicy(max_attempts=1, lockout_seconds=60)
    state = fail(policy, AccountState(), T0)
    assert not policy.check(state, T0 + 59.999).allowed
    assert policy.check(state, T0 + 60).allowed


@pytest.mark.parametrize(
    ("nth", "expected"), [(1, 10), (2, 30), (3, 90), (4, 100), (50, 100), (10**9, 100)]
)
def test_backoff_multiplies_and_is_capped_without_overflow(nth: int, expected: float) -> None:
    policy = LockoutPolicy(lockout_seconds=10, backoff_multiplier=3, max_lockout_seconds=100)
    assert policy.lockout_length(nth) == expected


def test_each_lockout_lasts_longer_until_the_cap() -> None:
    policy = LockoutPolicy(
        max_attempts=2, lockout_seconds=60, backoff_multiplier=2, max_lockout_seconds=200
    )
    state, now, lengths = AccountState(), T0, []
    for _ in range(4):
        state = fail(policy, state, now, 2)
        assert state.locked_until is not None
        lengths.append(state.locked_until - now)
        now = state.locked_until
    assert lengths == [60, 120, 200, 200]


def test_attempts_while_locked_neither_count_nor_extend() -> None:
    policy = LockoutPolicy(max_attempts=2, lockout_seconds=60)
    locked = fail(policy, AccountState(), T0, 2)
    verdict, after = policy.admit(locked, T0 + 10, "while-locked")
    assert not verdict.allowed
    assert after == locked
    # A check that was already in flight when the lock started cannot extend it either.
    assert policy.record(locked, T0 + 10, None, Outcome.FAILURE).state == locked


def test_success_clears_failures_and_lockouts() -> None:
    policy = LockoutPolicy(max_attempts=2, lockout_seconds=60)
    state = fail(policy, AccountState(), T0, 2)
    state = fail(policy, state, T0 + 60, 1)
    assert state.lockouts == 1
    assert len(state.failures) == 1
    verdict, state = policy.admit(state, T0 + 61, "ok")
    assert verdict.allowed
    state = policy.record(state, T0 + 61, "ok", Outcome.SUCCESS).state
    assert state == AccountState()


def test_failures_older_than_the_window_no_longer_count() -> None:
    policy = LockoutPolicy(max_attempts=3, failure_window_seconds=100)
    state = fail(policy, AccountState(), T0, 2)
    state = fail(policy, state, T0 + 101, 2)
    assert state.locked_until is None
    assert len(state.failures) == 2


def test_the_lockout_that_reaches_permanent_after_never_ends() -> None:
    policy = LockoutPolicy(max_attempts=1, lockout_seconds=60, permanent_after=2)
    state = fail(policy, AccountState(), T0)
    assert not state.permanent
    state = fail(policy, state, T0 + 60)
    assert state.permanent
    verdict = policy.check(state, T0 + 10**9)
    assert not verdict.allowed
    assert verdict.retry_after is None
    assert verdict.admin_only
    assert policy.expires_at(state) is None


def test_reservations_bound_checks_in_flight_and_expire_by_themselves() -> None:
    policy = LockoutPolicy(max_attempts=3, reservation_seconds=30)
    state = AccountState()
    for i in range(3):
        verdict, state = policy.admit(state, T0, f"r{i}")
        assert verdict.allowed
    busy, _ = policy.admit(state, T0 + 1, "r3")
    assert not busy.allowed
    assert busy.reason == "busy"
    assert busy.retry_after == pytest.approx(29)
    # The three requests crashed: their places come back after reservation_seconds.
    verdict, _ = policy.admit(state, T0 + 30, "r4")
    assert verdict.allowed


def test_a_neutral_outcome_releases_the_place_without_counting() -> None:
    policy = LockoutPolicy(max_attempts=1)
    verdict, state = policy.admit(AccountState(), T0, "r")
    assert verdict.allowed
    state = policy.record(state, T0, "r", Outcome.NEUTRAL).state
    assert state == AccountState()


def test_the_address_throttle_is_not_reset_by_a_success() -> None:
    policy = LockoutPolicy(max_attempts=3, reset_on_success=False)
    state = fail(policy, AccountState(), T0, 2)
    verdict, state = policy.admit(state, T0, "ok")
    assert verdict.allowed
    state = policy.record(state, T0, "ok", Outcome.SUCCESS).state
    assert len(state.failures) == 2


def test_the_lockout_count_is_forgotten_after_a_quiet_period() -> None:
    policy = LockoutPolicy(max_attempts=1, lockout_seconds=10, max_lockout_seconds=100)
    state = fail(policy, AccountState(), T0)
    assert policy.current(state, T0 + 109).lockouts == 1
    assert policy.current(state, T0 + 110) == AccountState()


def test_an_admin_lock_blocks_without_retry_after() -> None:
    policy = LockoutPolicy()
    verdict, _ = policy.admit(AccountState(admin_locked=True), T0, "r")
    assert not verdict.allowed
    assert verdict.reason == "admin"
    assert verdict.retry_after is None


def test_state_survives_its_json_form() -> None:
    state = AccountState(
        failures=(T0, T0 + 1), pending=(("a", T0 + 60),), locked_until=T0 + 5, lockouts=3
    )
    assert AccountState.from_json(state.to_json()) == state


@pytest.mark.parametrize(
    "bad",
    [
        {"max_attempts": 0},
        {"lockout_seconds": 0},
        {"lockout_seconds": 100, "max_lockout_seconds": 10},
        {"backoff_multiplier": 0.5},
    ],
)
def test_inconsistent_policies_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LockoutPolicy(**bad)  # type: ignore[arg-type]
