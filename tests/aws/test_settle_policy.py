"""The policy's one addition for the triggers: a reservation Cognito never settles (no trigger
hears of a wrong password) counts as a failure when it expires; a success settles them all."""

from __future__ import annotations

from dataclasses import replace

from cognito_gate.policy import (
    FAILS_ON_EXPIRY,
    AccountState,
    LockoutPolicy,
    Outcome,
    fails_on_expiry,
)

T0 = 1_800_000_000.0
POLICY = LockoutPolicy(max_attempts=3, lockout_seconds=60, max_lockout_seconds=600)
HELD = replace(POLICY, reservation_seconds=180)  # the triggers' policy


def trigger(n: int) -> str:
    return f"{FAILS_ON_EXPIRY}{n}"


def reserve(state: AccountState, now: float, *ids: str) -> AccountState:
    for reservation in ids:
        verdict, state = HELD.admit(state, now, reservation)
        assert verdict.allowed, verdict
    return state


def test_only_trigger_reservations_fail_on_expiry() -> None:
    assert fails_on_expiry(trigger(1))
    assert not fails_on_expiry("0123456789abcdef")


def test_an_unsettled_trigger_reservation_is_a_failure_at_its_expiry() -> None:
    state = reserve(AccountState(), T0, trigger(1))
    assert POLICY.current(state, T0 + 179).failures == ()
    later = POLICY.current(state, T0 + 500)
    assert later.failures == (T0 + 180,)
    assert later.pending == ()


def test_a_gateway_reservation_still_expires_without_counting() -> None:
    verdict, state = POLICY.admit(AccountState(), T0, "gateway-reservation")
    assert verdict.allowed
    assert POLICY.current(state, T0 + 61) == AccountState()


def test_unsettled_reservations_fill_the_budget_and_then_lock_from_their_expiry() -> None:
    state = reserve(AccountState(), T0, trigger(1), trigger(2), trigger(3))
    busy, _ = POLICY.admit(state, T0 + 1, "another")
    assert busy.reason == "busy"
    verdict, after = POLICY.admit(state, T0 + 200, "another")
    assert verdict.reason == "locked"
    assert after.locked_until == T0 + 180 + 60
    assert verdict.retry_after == 40
    assert after.lockouts == 1
    assert after.failures == ()


def test_a_reservation_expiring_inside_a_lockout_does_not_extend_it() -> None:
    locked = AccountState(locked_until=T0 + 300, lockouts=1)
    state = reserve(AccountState(), T0, trigger(1))
    state = replace(state, locked_until=locked.locked_until, lockouts=locked.lockouts)
    after = POLICY.current(state, T0 + 400)
    assert after.failures == ()
    assert after.locked_until == T0 + 300


def test_failures_out_of_the_window_at_expiry_do_not_count_with_it() -> None:
    policy = replace(POLICY, failure_window_seconds=100)
    old = AccountState(failures=(T0 - 50, T0 - 40))
    state = reserve(old, T0, trigger(1))
    assert policy.current(state, T0 + 200).failures == (T0 + 180,)


def test_a_success_settles_every_trigger_reservation_and_keeps_the_gateway_s() -> None:
    wide = replace(POLICY, max_attempts=5)
    state = AccountState(failures=(T0,))
    for reservation in (trigger(1), trigger(2), "gateway"):
        verdict, state = wide.admit(state, T0, reservation)
        assert verdict.allowed
    done = wide.record(state, T0 + 1, None, Outcome.SUCCESS)
    assert done.state.failures == ()
    assert [p[0] for p in done.state.pending] == ["gateway"]
    assert wide.current(done.state, T0 + 1000) == AccountState()


def test_the_address_throttle_is_not_cleared_by_a_success() -> None:
    throttle = replace(POLICY, reset_on_success=False)
    state = reserve(AccountState(), T0, trigger(1))
    done = throttle.record(state, T0, None, Outcome.SUCCESS)
    assert done.state.pending == state.pending


def test_the_store_keeps_a_record_until_what_its_reservations_become_expires() -> None:
    one = reserve(AccountState(), T0, trigger(1))
    assert POLICY.expires_at(one) == T0 + 180 + POLICY.failure_window_seconds
    three = reserve(AccountState(), T0, trigger(1), trigger(2), trigger(3))
    assert POLICY.expires_at(three) == T0 + 180 + 60 + POLICY.max_lockout_seconds
    permanent = replace(POLICY, permanent_after=1)
    assert permanent.expires_at(three) is None
