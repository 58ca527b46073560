"""Refusals remembered briefly: an attacker hammering a locked account costs no store work at all.

A refusal read from the store (an account locked, an address throttled, an admin lock) can only
end in two ways: its time runs out, or someone clears it (an admin unlock, a password reset). So
the process that read it may answer the same refusal again without asking the store, for at most
``REFUSAL_CACHE_SECONDS`` (and never past the lockout's own end). What it saves, profiled: one
store read per refused attempt, a third of a refusal's time on SQLite and more on Redis.

- Only refusals are remembered, never "allowed": an entry can only ever refuse more, never let an
  attempt through, so the promise (at most ``MAX_ATTEMPTS`` checks reach Cognito) is untouched.
  Transient refusals ("busy": checks in flight fill the budget) are not remembered.
- Every write this process makes to a key (:func:`cognito_gate.stores.update`: an unlock, a reset,
  a recorded attempt) forgets that key's entry at once, and the guard does not remember what a
  read that raced such a write of the same key found (``Guard._read``).
- An unlock made by another process (another replica, the CLI) is seen here within
  ``REFUSAL_CACHE_SECONDS`` (default 1; 0 turns the memo off).
- At most :data:`MAX_ENTRIES` keys are remembered; past that, the expired go first, then all.

One exception to "only refusals": an address found open is remembered as open too (``advisory``).
Its read is only an early refusal before any lookup: every attempt that goes on still reserves a
place on the address in one atomic store step, which refuses a throttled address whatever was
remembered. So a refused attempt on a locked account costs no read at all, where before it cost
the address's read.
"""

from __future__ import annotations

from dataclasses import dataclass

from cognito_gate.policy import Verdict

#: Keys remembered at most (one entry: a key and two numbers).
MAX_ENTRIES = 10_000
_OPEN = Verdict(True)


@dataclass(frozen=True, slots=True)
class _Entry:
    until: float  # the memo's own end: min(seen + hold, the refusal's end)
    ends: float | None  # the refusal's end (epoch seconds); None: only an admin ends it
    reason: str


class Refusals:
    """One process's memo of refusals read from one store (see the module docstring)."""

    def __init__(self, hold: float, *, max_entries: int = MAX_ENTRIES) -> None:
        self.hold = hold
        self.max_entries = max_entries
        self._entries: dict[str, _Entry] = {}

    def get(self, key: str, now: float) -> Verdict | None:
        """The refusal remembered for ``key`` at ``now``, if any."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.until <= now:
            del self._entries[key]
            return None
        if entry.reason == "ok":
            return _OPEN
        return Verdict(False, None if entry.ends is None else entry.ends - now, entry.reason)

    def put(self, key: str, verdict: Verdict, now: float, *, advisory: bool = False) -> None:
        """Remember ``verdict``, read at ``now`` by a read no write of this process raced
        (``advisory``: an allowed verdict too, where a reservation decides anyway)."""
        if self.hold <= 0 or verdict.reason == "busy":
            return
        if verdict.allowed and not advisory:
            return
        ends = None if verdict.retry_after is None else now + verdict.retry_after
        until = now + self.hold if ends is None else min(now + self.hold, ends)
        if len(self._entries) >= self.max_entries:
            self._entries = {k: v for k, v in self._entries.items() if v.until > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key] = _Entry(until, ends, verdict.reason)

    def forget(self, key: str) -> None:
        """``key`` was written by this process: its refusal may have ended."""
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
