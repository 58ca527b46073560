"""The lock's one path: refuse what is locked, reserve, ask Cognito once, record what it said.

Every check of a secret (a password, an MFA code, later a confirmation or reset code) goes through
:meth:`Guard.attempt`, so that the promise holds for all of them: at most ``max_attempts`` checks
of one account reach Cognito per lockout cycle, however many arrive at once, on however many
processes share the store.

1. A read of the account's record (no write): a locked account is refused at once. A refusal read
   once is remembered briefly (``refusals``): the next attempts on it cost no store work at all.
2. A reservation on the address and one on the account, in one store step (each atomic); if one
   is refused, the other is given back.
3. One Cognito call.
4. Its outcome recorded on both, in one store step; an unexpected exception releases both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from cognito_gate import errors as e
from cognito_gate.audit import Audit
from cognito_gate.cognito import marker
from cognito_gate.cognito.idp import ClientContext, CognitoError
from cognito_gate.config import Settings
from cognito_gate.identity import Account, Identity
from cognito_gate.metrics import Metrics
from cognito_gate.policy import AccountState, LockoutPolicy, Outcome, Verdict, account_policy
from cognito_gate.policy import address_policy as make_address_policy
from cognito_gate.refusals import Refusals
from cognito_gate.stores import Store, Versioned, read, update, update_many, watch_writes
from cognito_gate.stores.base import Change

logger = logging.getLogger("cognito_gate.gate")

R = TypeVar("R")
#: A shared read ended without an answer (its reader was cancelled): read again.
_RETRY: Any = object()


@dataclass
class _Read:
    """A read of one key in flight, shared by the checks that arrive meanwhile."""

    future: asyncio.Future[Versioned | None]
    stale: bool = False  # a write of this process to the key landed meanwhile


#: The answers a failed attempt gets, which :func:`failure_floor` pads.
FAILED = (e.InvalidCredentials, e.AccountLocked, e.TooManyRequests, e.CodeMismatch)


#: The last stretch of a floor is waited by yielding to the loop, not by a timer: the selector
#: rounds a timer up to a whole millisecond, which ends a short wait later on average than a long
#: one, and that difference alone told a locked account from a wrong password (measured).
_FLOOR_FINE = 0.0015
_FLOOR_NOISE = 0.001
_NOISE = random.SystemRandom()


@contextlib.asynccontextmanager
async def failure_floor(seconds: float) -> AsyncIterator[None]:
    """A failed attempt inside takes at least ``seconds`` (``MIN_FAILURE_SECONDS``), so that its
    duration tells nothing: not whether the user exists, nor (``opaque`` mode) whether the
    account is locked, which is refused without a Cognito round trip. Successes are not padded."""
    if seconds <= 0:
        yield
        return
    started = time.monotonic()
    try:
        yield
    except FAILED:
        # A little noise hides what no floor can: microseconds of work after the wait.
        deadline = started + seconds + _NOISE.uniform(0, _FLOOR_NOISE)
        coarse = deadline - _FLOOR_FINE - time.monotonic()
        if coarse > 0:
            await asyncio.sleep(coarse)
        while time.monotonic() < deadline:
            await asyncio.sleep(0)  # other requests run meanwhile
        raise


class Guard:
    """Policy, store and audit log around one kind of secret check."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        identity: Identity,
        clock: Callable[[], float],
        metrics: Metrics,
        audit: Audit,
        policy: LockoutPolicy | None = None,
        space: str = "user",
    ) -> None:
        self.settings = settings
        self.store = store
        self.identity = identity
        self.clock = clock
        self.metrics = metrics
        self.audit = audit
        self.policy = policy or account_policy(settings)
        self.space = space  # the store's key space: "user" for passwords
        self.address_policy = make_address_policy(settings)
        self.refusals = Refusals(settings.refusal_cache_seconds)
        # One read of a key at a time (_read): when a remembered refusal runs out, the requests
        # of an attack all miss it at once, and each read of a network store costs a Cognito-
        # sized slice of CPU in its driver (profiled on DynamoDB: a quarter of the samples).
        self._reads: dict[str, _Read] = {}
        watch_writes(store, self._written)

    # -- reading ------------------------------------------------------------------------------------

    def _written(self, key: str) -> None:
        """This process wrote ``key``: what was remembered or is being read of it is stale."""
        self.refusals.forget(key)
        pending = self._reads.pop(key, None)  # checks arriving from now on read afresh
        if pending is not None:
            pending.stale = True  # and what the read in flight finds is not remembered

    async def _read(self, key: str) -> tuple[Versioned | None, bool]:
        """The record under ``key``, and whether no write of this process to the key raced the
        read (only then may its verdict be remembered). A check arriving while a read of the key
        is in flight shares that read's answer; a write drops the shared read (:meth:`_written`),
        so no check arriving after it takes an older answer."""
        pending = self._reads.get(key)
        if pending is not None:
            answer = await asyncio.shield(pending.future)
            if answer is not _RETRY:
                return answer, not pending.stale
        current = _Read(asyncio.get_running_loop().create_future())
        self._reads[key] = current
        future = current.future
        try:
            record = await read(self.store, key)  # also a hint for the reservation that follows
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters, if any, raise it too
            raise
        except BaseException:  # cancelled: whoever waits reads for itself
            future.set_result(_RETRY)
            raise
        else:
            future.set_result(record)
        finally:
            if self._reads.get(key) is current:
                del self._reads[key]
        return record, not current.stale

    async def _check(
        self,
        policy: LockoutPolicy,
        key: str,
        now: float,
        *,
        current: bool = False,
        advisory: bool = False,
    ) -> Verdict:
        """``policy``'s verdict on the record under ``key``: remembered, or read (``current``:
        with what time has made irrelevant dropped first; ``advisory``: a reservation follows,
        so an open verdict may be remembered too; see ``refusals``)."""
        remembered = self.refusals.get(key, now)
        if remembered is not None:
            return remembered
        record, fresh = await self._read(key)
        state = record.state if record else AccountState()
        verdict = policy.check(policy.current(state, now) if current else state, now)
        if fresh:
            self.refusals.put(key, verdict, now, advisory=advisory)
        return verdict

    async def account_lock(self, account: Account) -> Verdict:
        """The admin lock or permanent lockout on the account itself (any scope)."""
        verdict = await self._check(self.policy, self.identity.user_key(account), self.clock())
        return verdict if verdict.admin_only else Verdict(True)

    async def address_open(self, kind: str, client: ClientContext) -> None:
        """Refuse an address the throttle holds, with a read at most (before any Cognito call)."""
        key = self.identity.address_key(client.ip)
        verdict = await self._check(self.address_policy, key, self.clock(), advisory=True)
        if not verdict.allowed:
            self._throttled(kind, None, client, verdict)

    def refusal(self, verdict: Verdict) -> e.GateError:
        """What a refused attempt is answered (SPEC: locked, busy, opaque)."""
        if self.settings.lockout_response == "opaque":
            return e.InvalidCredentials()
        if verdict.reason == "busy":
            # Checks in flight fill the budget; no lockout exists (yet).
            return e.TooManyRequests("Too many attempts at once; try again.", retry_after=1)
        return e.AccountLocked(retry_after=None if verdict.admin_only else verdict.retry_after)

    # -- the attempt --------------------------------------------------------------------------------

    async def attempt(
        self,
        kind: str,
        account: Account,
        client: ClientContext,
        call: Callable[[], Awaitable[R]],
        judge: Callable[[R], Outcome],
    ) -> R:
        """Run ``call`` (one check at Cognito) under the policy; ``judge`` says what its result
        tells of the secret. A CognitoError's outcome is recorded and its error raised."""
        key = self.identity.counter_key(account, client.ip, self.settings.lock_scope, self.space)
        addr_key = self.identity.address_key(client.ip)
        now = self.clock()
        # A read first (or a refusal remembered): an attacker hammering a locked account costs no
        # reservation, and mostly not even a read.
        if key != self.identity.user_key(account):  # locks live on the account's own record
            verdict = await self.account_lock(account)
            if not verdict.allowed:
                self._refuse(kind, account, client, verdict)
        verdict = await self._check(self.policy, key, now, current=True)
        if not verdict.allowed:
            self._refuse(kind, account, client, verdict)
        reservation = uuid.uuid4().hex
        try:  # both places in one store step (one transaction, or two swaps at once)
            addr, verdict = await update_many(
                self.store,
                [
                    self._admitting(self.address_policy, addr_key, reservation),
                    self._admitting(self.policy, key, reservation),
                ],
            )
        except BaseException:
            await asyncio.shield(self._release_both(key, addr_key, reservation))
            raise
        if not addr.allowed:
            if verdict.allowed:
                await self._release(key, reservation, self.policy)
            self._throttled(kind, account, client, addr)
        if not verdict.allowed:
            await self._release(addr_key, reservation)
            self._refuse(kind, account, client, verdict)
        try:
            result = await marker.marked(self._mark(account, reservation, now), call)
        except CognitoError as err:
            await self._settle(kind, account, client, key, addr_key, reservation, err.outcome)
            self.metrics.inc("cognito_gate_cognito_errors_total", code=err.error.code)
            word = "failure" if err.outcome is Outcome.FAILURE else "error"
            self.event(kind, account, client.ip, word, code=err.error.code)
            if isinstance(err.error, e.AccountLocked):
                # Cognito's own lockout: not counted, answered as ours is (opaque or explicit).
                raise self.refusal(Verdict(False, err.error.retry_after, "locked")) from None
            raise err.error from None
        except BaseException:
            # Not Cognito's answer (a bug, a cancelled request): nothing learned, nothing kept.
            await asyncio.shield(self._release_both(key, addr_key, reservation))
            raise
        outcome = judge(result)
        await self._settle(kind, account, client, key, addr_key, reservation, outcome)
        self.event(
            kind, account, client.ip, "success" if outcome is Outcome.SUCCESS else "challenge"
        )
        return result

    def _mark(self, account: Account, reservation: str, now: float) -> str | None:
        """With a trigger secret: the token telling the pool's Cognito triggers that this check
        is reserved and recorded here, so they count nothing (``cognito.marker``)."""
        secret = self.settings.trigger_secret
        if secret is None:
            return None
        return marker.sign(
            secret.get_secret_value(), self.identity.pool_id, account.key, reservation, now
        )

    # -- store steps --------------------------------------------------------------------------------

    def _admitting(self, policy: LockoutPolicy, key: str, reservation: str) -> Change:
        """The store change reserving a place under ``key`` (its result: the verdict)."""
        now = self.clock()
        return key, lambda state: policy.admit(state, now, reservation), policy.expires_at

    def _recording(
        self, policy: LockoutPolicy, key: str, reservation: str | None, outcome: Outcome
    ) -> Change:
        """The store change applying ``outcome`` under ``key`` and releasing ``reservation``
        (its result: whether it locked)."""
        now = self.clock()

        def change(state: AccountState) -> tuple[bool, AccountState]:
            done = policy.record(state, now, reservation, outcome)
            return done.locked, done.state

        return key, change, policy.expires_at

    def _locked(self, policy: LockoutPolicy, locked: bool) -> bool:
        if locked:
            self.metrics.inc("cognito_gate_lockouts_total", kind=policy.name)
        return locked

    async def record(
        self, policy: LockoutPolicy, key: str, reservation: str | None, outcome: Outcome
    ) -> bool:
        """Apply ``outcome`` under ``key`` (releasing ``reservation``); True if it locked."""
        locked = await update(self.store, *self._recording(policy, key, reservation, outcome))
        return self._locked(policy, locked)

    async def _release(
        self, key: str, reservation: str, policy: LockoutPolicy | None = None
    ) -> None:
        """Give a place back (the address's by default). When the store is down, the
        reservation expires by itself."""
        with contextlib.suppress(e.StoreUnavailable):
            await self.record(policy or self.address_policy, key, reservation, Outcome.NEUTRAL)

    async def _release_both(self, key: str, addr_key: str, reservation: str) -> None:
        with contextlib.suppress(e.StoreUnavailable):
            await update_many(
                self.store,
                [
                    self._recording(self.policy, key, reservation, Outcome.NEUTRAL),
                    self._recording(self.address_policy, addr_key, reservation, Outcome.NEUTRAL),
                ],
            )

    async def _settle(
        self,
        kind: str,
        account: Account,
        client: ClientContext,
        key: str,
        addr_key: str,
        reservation: str,
        outcome: Outcome,
    ) -> None:
        self.metrics.inc("cognito_gate_login_attempts_total", outcome=outcome.value)
        addr_outcome = Outcome.FAILURE if outcome is Outcome.FAILURE else Outcome.NEUTRAL
        locked, addr_locked = await update_many(  # both in one store step
            self.store,
            [
                self._recording(self.policy, key, reservation, outcome),
                self._recording(self.address_policy, addr_key, reservation, addr_outcome),
            ],
        )
        self._locked(self.address_policy, addr_locked)
        if self._locked(self.policy, locked):
            logger.info("account locked: user=%s ip=%s", account.key, client.ip)
            self.event("lockout", account, client.ip, "locked")

    def _refuse(
        self, kind: str, account: Account, client: ClientContext, verdict: Verdict
    ) -> NoReturn:
        outcome = "busy" if verdict.reason == "busy" else "locked"
        self.metrics.inc("cognito_gate_login_attempts_total", outcome=outcome)
        self.event(kind, account, client.ip, outcome, reason=verdict.reason)
        raise self.refusal(verdict)

    def _throttled(
        self, kind: str, account: Account | None, client: ClientContext, verdict: Verdict
    ) -> NoReturn:
        self.metrics.inc("cognito_gate_login_attempts_total", outcome="throttled")
        self.event(kind, account, client.ip, "throttled")
        raise e.TooManyRequests(retry_after=verdict.retry_after)

    # -- audit --------------------------------------------------------------------------------------

    def event(
        self, kind: str, account: Account | None, ip: str | None, outcome: str, **more: Any
    ) -> None:
        """Queue an audit event for the store (written off the request path)."""
        self.audit.add(
            {
                "time": float(self.clock()),  # formatted when written (audit)
                "type": kind,
                "username": account.key if account else None,
                "ip": ip,
                "outcome": outcome,
                **more,
            }
        )
