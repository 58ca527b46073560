"""Budgets for actions that check no secret but cost something: sending a code, signing up.

A :class:`Throttle` allows ``limit`` actions per key; the action that uses the last of them starts
a wait of ``window`` seconds, after which the key has ``limit`` again (the shape of the
per-address login throttle). It is exact the way the login lock is: every action reserves its
place in the store before Cognito is called, so at most ``limit`` of them reach Cognito however
many arrive at once, on however many processes share the store; a reservation of a crashed
request expires by itself.

:func:`spend` runs one Cognito call under several throttles at once (an account's and an
address's): all reserve or none does, and the call is counted on all of them unless Cognito could
not be asked (unavailable, throttling the gateway), which costs the caller nothing.

The guard (``guard.py``) counts only failures, on the login's own address key; these budgets count
every action, each on keys of its own, so a forgot-password never counts as a failed login.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from cognito_gate import errors as e
from cognito_gate.cognito.idp import CognitoError
from cognito_gate.identity import SEP
from cognito_gate.policy import AccountState, LockoutPolicy, Outcome, Verdict
from cognito_gate.stores import Store, update

R = TypeVar("R")


class Throttle:
    """``limit`` actions per key, then a wait of ``window`` seconds."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        *,
        pool_id: str,
        space: str,
        limit: int,
        window: float,
    ) -> None:
        self.store = store
        self.clock = clock
        self.pool_id = pool_id
        self.space = space
        # An action is recorded as a "failure" of the policy: it uses up one place; nothing
        # refunds it, and the wait does not grow.
        self.policy = LockoutPolicy(
            max_attempts=limit,
            lockout_seconds=window,
            backoff_multiplier=1.0,
            max_lockout_seconds=window,
            failure_window_seconds=window,
            reset_on_success=False,
            name=space,
        )

    def key(self, subject: str) -> str:
        """The store key of ``subject`` (an account, a name or an address) in this budget."""
        return f"{self.pool_id}{SEP}{self.space}{SEP}{subject}"

    async def check(self, subject: str) -> None:
        """Refuse a subject already out of budget with a read alone (nothing reserved)."""
        record = await self.store.load(self.key(subject))
        state = record.state if record else AccountState()
        verdict = self.policy.check(state, self.clock())
        if not verdict.allowed:
            raise refusal(verdict)

    async def reserve(self, subject: str, reservation: str) -> Verdict:
        """Take a place for one action, or refuse (a refusal changes nothing)."""
        now = self.clock()
        return await update(
            self.store,
            self.key(subject),
            lambda s: self.policy.admit(s, now, reservation),
            self.policy.expires_at,
        )

    async def settle(self, subject: str, reservation: str, counted: bool) -> None:
        """Count the action (``counted``), or give its place back."""
        now = self.clock()
        outcome = Outcome.FAILURE if counted else Outcome.NEUTRAL

        def change(state: AccountState) -> tuple[None, AccountState]:
            return None, self.policy.record(state, now, reservation, outcome).state

        await update(self.store, self.key(subject), change, self.policy.expires_at)


def refusal(verdict: Verdict) -> e.TooManyRequests:
    """What an action out of budget is answered: 429 with the wait."""
    if verdict.reason == "busy":
        return e.TooManyRequests("Too many requests at once; try again.", retry_after=1)
    return e.TooManyRequests("Too many requests; try again later.", retry_after=verdict.retry_after)


async def spend(budgets: Sequence[tuple[Throttle, str]], call: Callable[[], Awaitable[R]]) -> R:
    """Run ``call`` once every ``(throttle, subject)`` has given it a place; count it on all.

    A CognitoError is counted too (Cognito was asked), unless it says Cognito could not answer;
    it is raised as it came, for the caller to answer.
    """
    reservation = uuid.uuid4().hex
    taken: list[tuple[Throttle, str]] = []
    for throttle, subject in budgets:
        try:
            verdict = await throttle.reserve(subject, reservation)
        except BaseException:
            await _release(taken, reservation)
            raise
        if not verdict.allowed:
            await _release(taken, reservation)
            raise refusal(verdict)
        taken.append((throttle, subject))
    try:
        result = await call()
    except CognitoError as err:
        counted = not isinstance(err.error, e.Unavailable)
        await _settle(taken, reservation, counted)
        raise
    except BaseException:
        await asyncio.shield(_release(taken, reservation))
        raise
    await _settle(taken, reservation, True)
    return result


async def _settle(taken: Sequence[tuple[Throttle, str]], reservation: str, counted: bool) -> None:
    for throttle, subject in taken:
        await throttle.settle(subject, reservation, counted)


async def _release(taken: Sequence[tuple[Throttle, str]], reservation: str) -> None:
    # When the store is down, the reservations expire by themselves.
    for throttle, subject in taken:
        with contextlib.suppress(e.StoreUnavailable):
            await throttle.settle(subject, reservation, False)
