"""The lockout policy: pure functions of (state, now). No I/O and no clock reads here.

A login attempt first *reserves* a place (:meth:`LockoutPolicy.admit`), so that at most
``max_attempts`` password checks of one account reach Cognito per lockout cycle however many
requests arrive at once; its outcome is then *recorded* (:meth:`LockoutPolicy.record`). A reservation
whose request crashed expires by itself after ``reservation_seconds``.

A reservation whose id starts with :data:`FAILS_ON_EXPIRY` (a Cognito trigger's: Cognito tells a
trigger of a success, never of a wrong password) counts instead as a failed attempt when it
expires unsettled, at its expiry time: :meth:`LockoutPolicy.current` converts it, so whoever
reads the record next (an attempt, a trigger, an admin) sees the failure, and the lockout it may
start, exactly as if it had been recorded then. A success settles every such reservation (the
attempts reserved before it are cleared with the failures).

Semantics (SPEC "Policy semantics"):

- failures older than ``failure_window_seconds`` no longer count;
- the failure that reaches ``max_attempts`` starts a lockout and a fresh count; attempts while
  locked neither count nor extend it;
- the k-th lockout lasts ``lockout_seconds * backoff_multiplier ** (k - 1)``, capped at
  ``max_lockout_seconds``; the lockout that reaches ``permanent_after`` (when > 0) never ends;
- a success clears failures, lockouts and any temporary lock;
- the lockout count is forgotten once the key has been quiet for ``max_lockout_seconds`` after its
  last lockout ended, so stored state stays bounded;
- an admin lock blocks until an admin unlocks.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace
from typing import Protocol

#: A reservation whose id starts with this counts as a failure when it expires unsettled.
FAILS_ON_EXPIRY = "settle:"


def fails_on_expiry(reservation: str) -> bool:
    """True for a reservation that only a success settles (see :data:`FAILS_ON_EXPIRY`)."""
    return reservation.startswith(FAILS_ON_EXPIRY)


class Outcome(enum.Enum):
    """What Cognito said about a reserved attempt."""

    SUCCESS = "success"  # the password (or challenge answer) was right
    FAILURE = "failure"  # wrong password, unknown user, wrong code
    NEUTRAL = "neutral"  # nothing learned about the password: Cognito down, challenge pending...


@dataclass(frozen=True)
class AccountState:
    """Everything the store keeps for one key (an account, an account+address, or an address)."""

    failures: tuple[float, ...] = ()
    pending: tuple[tuple[str, float], ...] = ()
    locked_until: float | None = None
    lockouts: int = 0
    permanent: bool = False
    admin_locked: bool = False

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (the stores keep this)."""
        return {
            "f": list(self.failures),
            "p": [list(p) for p in self.pending],
            "u": self.locked_until,
            "l": self.lockouts,
            "pm": self.permanent,
            "a": self.admin_locked,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> AccountState:
        """Inverse of :meth:`to_json`."""
        failures = data.get("f") or []
        pending = data.get("p") or []
        locked_until = data.get("u")
        assert isinstance(failures, list)
        assert isinstance(pending, list)
        return cls(
            failures=tuple(float(t) for t in failures),
            pending=tuple((str(p[0]), float(p[1])) for p in pending),
            locked_until=None if locked_until is None else float(str(locked_until)),
            lockouts=int(str(data.get("l") or 0)),
            permanent=bool(data.get("pm")),
            admin_locked=bool(data.get("a")),
        )


@dataclass(frozen=True)
class Verdict:
    """The answer to "may this attempt go to Cognito?"."""

    allowed: bool
    retry_after: float | None = None  # seconds; None with allowed=False: only an admin unlocks
    reason: str = "ok"  # ok | locked | permanent | admin | busy

    @property
    def admin_only(self) -> bool:
        """True when waiting will not help."""
        return self.reason in ("permanent", "admin")


@dataclass(frozen=True)
class Recorded:
    """What :meth:`LockoutPolicy.record` did."""

    state: AccountState
    locked: bool = False  # this outcome started a lockout
    lock_seconds: float | None = None  # its length; None when permanent


@dataclass(frozen=True)
class LockoutPolicy:
    """The operator's rule. Build it from settings with :func:`account_policy` / :func:`address_policy`."""

    max_attempts: int = 5
    lockout_seconds: float = 900.0
    backoff_multiplier: float = 2.0
    max_lockout_seconds: float = 86400.0
    failure_window_seconds: float = 900.0
    permanent_after: int = 0
    reservation_seconds: float = 60.0
    reset_on_success: bool = True
    name: str = field(default="account", compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.lockout_seconds <= 0 or self.max_lockout_seconds < self.lockout_seconds:
            raise ValueError("need 0 < lockout_seconds <= max_lockout_seconds")
        if self.backoff_multiplier < 1:
            raise ValueError("backoff_multiplier must be >= 1")

    # -- pieces ---------------------------------------------------------------------------------

    def lockout_length(self, nth: int) -> float:
        """How long the ``nth`` lockout (1-based) lasts, capped; no overflow for huge ``nth``."""
        exponent = max(0, nth - 1)
        if self.backoff_multiplier == 1:
            return self.lockout_seconds
        # log-space comparison keeps multiplier ** exponent from overflowing.
        room = math.log(self.max_lockout_seconds / self.lockout_seconds)
        if exponent * math.log(self.backoff_multiplier) >= room:
            return self.max_lockout_seconds
        return min(
            self.max_lockout_seconds, self.lockout_seconds * self.backoff_multiplier**exponent
        )

    def current(self, state: AccountState, now: float) -> AccountState:
        """Drop what time has made irrelevant: old failures, expired reservations, stale history.
        A reservation :func:`fails_on_expiry` that expired unsettled becomes a failure at its
        expiry (oldest first), with the lockout it may start then."""
        due = sorted(
            (p for p in state.pending if p[1] <= now and fails_on_expiry(p[0])),
            key=lambda p: p[1],
        )
        for reservation, at in due:
            rest = tuple(p for p in state.pending if p[0] != reservation)
            state = self._fail(self._forget(replace(state, pending=rest), at), at).state
        pending = tuple(p for p in state.pending if p[1] > now)
        if pending != state.pending:
            state = replace(state, pending=pending)
        return self._forget(state, now)

    def _forget(self, state: AccountState, now: float) -> AccountState:
        """Failures out of the window, and a lockout history quiet for long enough, forgotten."""
        horizon = now - self.failure_window_seconds
        failures = tuple(t for t in state.failures if t > horizon)
        lockouts = state.lockouts
        locked_until = state.locked_until
        if (
            lockouts
            and not state.permanent
            and locked_until is not None
            and now >= locked_until + self.max_lockout_seconds
            and not failures
        ):
            lockouts, locked_until = 0, None
        if (
            failures == state.failures
            and lockouts == state.lockouts
            and locked_until == state.locked_until
        ):
            return state
        return replace(state, failures=failures, lockouts=lockouts, locked_until=locked_until)

    def check(self, state: AccountState, now: float) -> Verdict:
        """Is the key locked right now? (Reservations aside.)"""
        if state.admin_locked:
            return Verdict(False, None, "admin")
        if state.permanent:
            return Verdict(False, None, "permanent")
        if state.locked_until is not None and state.locked_until > now:
            return Verdict(False, state.locked_until - now, "locked")
        return Verdict(True)

    # -- the two steps of an attempt ------------------------------------------------------------

    def admit(
        self, state: AccountState, now: float, reservation: str
    ) -> tuple[Verdict, AccountState]:
        """Reserve a place for one password check, or refuse. Refusals change nothing."""
        state = self.current(state, now)
        verdict = self.check(state, now)
        if not verdict.allowed:
            return verdict, state
        if len(state.failures) + len(state.pending) >= self.max_attempts:
            # Every remaining place is taken by checks in flight; when they fail, the key locks.
            soonest = min(p[1] for p in state.pending) - now if state.pending else None
            return Verdict(False, soonest, "busy"), state
        pending = (*state.pending, (reservation, now + self.reservation_seconds))
        return Verdict(True), replace(state, pending=pending)

    def record(
        self, state: AccountState, now: float, reservation: str | None, outcome: Outcome
    ) -> Recorded:
        """Release ``reservation`` and apply ``outcome``."""
        state = self.current(state, now)
        pending = tuple(p for p in state.pending if p[0] != reservation)
        state = replace(state, pending=pending)
        if outcome is Outcome.SUCCESS and self.reset_on_success:
            # Attempts reserved through Cognito's triggers before this success are settled with
            # it: each either ended before it or overlapped it, and the success clears failures.
            pending = tuple(p for p in pending if not fails_on_expiry(p[0]))
            cleared = replace(state, pending=pending, failures=(), lockouts=0, locked_until=None)
            return Recorded(cleared)
        if outcome is not Outcome.FAILURE:
            return Recorded(state)
        return self._fail(state, now)

    def _fail(self, state: AccountState, at: float) -> Recorded:
        """One failed attempt at ``at`` on a state current at ``at``."""
        if not self.check(state, at).allowed:
            # A check that was in flight when the key locked: it cannot extend the lock.
            return Recorded(state)
        failures = (*state.failures, at)
        if len(failures) < self.max_attempts:
            return Recorded(replace(state, failures=failures))
        nth = state.lockouts + 1
        if self.permanent_after and nth >= self.permanent_after:
            locked = replace(state, failures=(), lockouts=nth, permanent=True, locked_until=None)
            return Recorded(locked, locked=True, lock_seconds=None)
        length = self.lockout_length(nth)
        locked = replace(state, failures=(), lockouts=nth, locked_until=at + length)
        return Recorded(locked, locked=True, lock_seconds=length)

    def expires_at(self, state: AccountState) -> float | None:
        """When the state can be forgotten (None: keep until an admin clears it). A state with
        reservations that fail on expiry is kept for as long as the failures (and any lockout)
        they will become."""
        unsettled = [p[1] for p in state.pending if fails_on_expiry(p[0])]
        if unsettled:
            state = self.current(state, max(unsettled))
        if state.permanent or state.admin_locked:
            return None
        times = [t + self.failure_window_seconds for t in state.failures]
        times += [p[1] for p in state.pending]
        if state.locked_until is not None:
            times.append(state.locked_until + self.max_lockout_seconds)
        return max(times) if times else 0.0

    def is_empty(self, state: AccountState) -> bool:
        """True when the state says nothing at all (the store may delete it)."""
        return state == AccountState()


def account_policy(settings: PolicySettings) -> LockoutPolicy:
    """The per-account (or account+address) policy from settings."""
    return LockoutPolicy(
        max_attempts=settings.max_attempts,
        lockout_seconds=settings.lockout_seconds,
        backoff_multiplier=settings.backoff_multiplier,
        max_lockout_seconds=settings.max_lockout_seconds,
        failure_window_seconds=settings.failure_window_seconds,
        permanent_after=settings.permanent_after,
        name="account",
    )


def address_policy(settings: PolicySettings) -> LockoutPolicy:
    """The per-address throttle: a fixed throttle, never permanent, not reset by a success."""
    return LockoutPolicy(
        max_attempts=settings.ip_max_attempts,
        lockout_seconds=settings.ip_window_seconds,
        backoff_multiplier=1.0,
        max_lockout_seconds=settings.ip_window_seconds,
        failure_window_seconds=settings.ip_window_seconds,
        reset_on_success=False,
        name="address",
    )


class PolicySettings(Protocol):
    """The settings the policy reads (``cognito_gate.config.Settings`` satisfies this)."""

    @property
    def max_attempts(self) -> int: ...

    @property
    def lockout_seconds(self) -> float: ...

    @property
    def backoff_multiplier(self) -> float: ...

    @property
    def max_lockout_seconds(self) -> float: ...

    @property
    def failure_window_seconds(self) -> float: ...

    @property
    def permanent_after(self) -> int: ...

    @property
    def ip_max_attempts(self) -> int: ...

    @property
    def ip_window_seconds(self) -> float: ...
