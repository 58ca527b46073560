"""The same lock inside Cognito: Pre and Post Authentication triggers on the guard.

Clients that talk to Cognito directly (Amplify's SRP sign-in, the hosted UI, a script calling
``InitiateAuth``) never pass through the gateway. These two triggers hold them to the same policy,
in the same store, under the same keys (``Identity.user_key`` of the event's ``userName`` in the
event's ``userPoolId``):

- **Pre Authentication** (before Cognito checks the password): a locked account is refused (the
  trigger raises, so Cognito answers ``UserLambdaValidationException``); otherwise an attempt is
  reserved, as the gateway reserves before its own check, so at most ``MAX_ATTEMPTS`` checks of one
  account reach Cognito per lockout cycle, however many arrive at once. When the checks in flight
  already fill the budget, the attempt is refused as busy.
- **Post Authentication** (after a success, before tokens are issued): the success is recorded,
  as the gateway records one: failures and lockouts cleared, and with them the account's trigger
  reservations (each attempt they stand for ended before the success or overlapped it). An account
  an admin locked meanwhile (or locked permanently) gets no tokens.

Cognito tells no trigger of a wrong password. So a trigger's reservation is made with an id that
:func:`~cognito_gate.policy.fails_on_expiry`, held for ``TRIGGER_SETTLE_SECONDS`` (default 180,
Cognito's sign-in session): unless a success settles it by then, the policy counts it as a failed
attempt at its expiry, whoever reads the record next (a trigger, the gateway, an admin).

The gateway's own checks carry its mark (``cognito.marker``): Pre Authentication finds it in
``validationData`` and counts nothing, since the gateway reserved the check and records its
outcome. A success through the gateway also reaches Post Authentication, which records it once
more: a success recorded twice is one success.

Not available inside Cognito: the address (the triggers count in ``user`` scope and apply no
address throttle), and ``LOCKOUT_RESPONSE=opaque`` (Cognito answers a trigger's refusal with its
own exception, whatever the trigger says).

Settings come from the environment, as for the gateway; ``COGNITO_GATE_USER_POOL_ID`` is not
needed (the pool is the event's). The pool's case rule is read once per pool and container
(``cognito-idp:DescribeUserPool``), so that keys match the gateway's.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from cognito_gate import errors as e
from cognito_gate.audit import Audit
from cognito_gate.cognito import marker
from cognito_gate.cognito.idp import CognitoError, CognitoIdp
from cognito_gate.config import Settings, load_settings
from cognito_gate.guard import Guard
from cognito_gate.identity import Account, Identity, SignInNames, clean
from cognito_gate.metrics import Metrics
from cognito_gate.policy import (
    FAILS_ON_EXPIRY,
    AccountState,
    LockoutPolicy,
    Outcome,
    Verdict,
    account_policy,
)
from cognito_gate.stores import Store, open_store, update

from ._loop import LoopThread

logger = logging.getLogger("cognito_gate.aws")

Event = dict[str, Any]
#: The audit log's event type for what the triggers decide.
KIND = "cognito-trigger"


def settle_policy(settings: Settings) -> LockoutPolicy:
    """The account policy, with reservations held for ``trigger_settle_seconds``."""
    return replace(account_policy(settings), reservation_seconds=settings.trigger_settle_seconds)


def refusal(verdict: Verdict) -> e.GateError:
    """What a refused sign-in raises. Cognito answers ``UserLambdaValidationException`` with
    ``"PreAuthentication failed with error {message}."``, so the message ends without a stop."""
    if verdict.reason == "busy":
        return e.TooManyRequests("Too many sign-in attempts at once; try again", retry_after=1)
    if verdict.admin_only or verdict.retry_after is None:
        return e.AccountLocked("The account is locked")
    seconds = max(1, math.ceil(verdict.retry_after))
    return e.AccountLocked(
        f"The account is locked; try again in {seconds} seconds", retry_after=seconds
    )


class Triggers:
    """Pre and Post Authentication for any pool, on one store. Async: see :func:`lambda_triggers`
    for the Lambda functions."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        credentials: Mapping[str, str] | None = None,
        names: SignInNames | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store or open_store(settings.store, clock, region=settings.aws_region)
        self.metrics = Metrics()
        self.audit = Audit(self.store, self.metrics)
        self.policy = settle_policy(settings)
        self._credentials = credentials
        self._names = names  # given: the pools' sign-in names are not read (tests)
        self._guards: dict[str, Guard] = {}
        self._lock = threading.Lock()

    # -- the two triggers ----------------------------------------------------------------------

    async def pre_authentication(self, event: Event) -> Event:
        """Refuse a locked account, or reserve an attempt for Cognito's password check."""
        guard, account = await self._account(event)
        request = event.get("request") or {}
        if self._marked(guard, account, request.get("validationData")):
            return event  # the gateway's own check: reserved there, recorded there
        now = self.clock()
        reservation = FAILS_ON_EXPIRY + uuid.uuid4().hex
        try:
            verdict = await update(
                self.store,
                guard.identity.user_key(account),
                lambda state: self.policy.admit(state, now, reservation),
                self.policy.expires_at,
            )
            if not verdict.allowed:
                outcome = "busy" if verdict.reason == "busy" else "locked"
                guard.event(KIND, account, None, outcome, reason=verdict.reason)
                raise refusal(verdict)
            guard.event(KIND, account, None, "reserved")
        finally:
            await self._flush()
        return event

    async def post_authentication(self, event: Event) -> Event:
        """Record the success (settling the account's trigger reservations); refuse an account
        an admin locked meanwhile."""
        guard, account = await self._account(event)
        now = self.clock()
        policy = self.policy

        def succeed(state: AccountState) -> tuple[Verdict, AccountState]:
            state = policy.current(state, now)
            verdict = policy.check(state, now)
            if verdict.admin_only:
                return verdict, state
            return Verdict(True), policy.record(state, now, None, Outcome.SUCCESS).state

        try:
            verdict = await update(
                self.store, guard.identity.user_key(account), succeed, policy.expires_at
            )
            if not verdict.allowed:
                guard.event(KIND, account, None, "locked", reason=verdict.reason)
                raise refusal(verdict)
            guard.event(KIND, account, None, "success")
        finally:
            await self._flush()
        return event

    # -- pieces ---------------------------------------------------------------------------------

    async def _account(self, event: Event) -> tuple[Guard, Account]:
        name = event.get("userName")
        if not isinstance(name, str) or not name:
            raise e.InvalidRequest("The trigger event has no userName.")
        guard = await self._guard(event)
        with contextlib.suppress(e.GateError):
            name = clean(name)
        return guard, guard.identity.account_of(name)

    async def _guard(self, event: Event) -> Guard:
        pool_id = event.get("userPoolId")
        if not isinstance(pool_id, str) or not pool_id:
            raise e.InvalidRequest("The trigger event has no userPoolId.")
        guard = self._guards.get(pool_id)
        if guard is not None:
            return guard
        caller = event.get("callerContext") or {}
        idp = CognitoIdp(
            user_pool_id=pool_id,
            client_id=str(caller.get("clientId") or ""),
            region=str(event.get("region") or self.settings.aws_region),
            endpoint=self.settings.cognito_endpoint,
            credentials=self._credentials,
        )
        names = self._names
        if names is None:
            try:
                names = SignInNames.of(await idp.describe_pool())
            except CognitoError as err:
                logger.error("cannot read user pool %s (%s)", pool_id, err.code)
                raise e.CognitoUnavailable("The sign-in check cannot read the pool.") from None
        identity = Identity(idp, names)
        with self._lock:
            return self._guards.setdefault(
                pool_id,
                Guard(
                    self.settings,
                    self.store,
                    identity,
                    self.clock,
                    self.metrics,
                    self.audit,
                    policy=self.policy,
                ),
            )

    def _marked(self, guard: Guard, account: Account, data: object) -> bool:
        """True when ``data`` carries the gateway's valid mark for this account."""
        secret = self.settings.trigger_secret
        if secret is None or not isinstance(data, Mapping):
            return False
        found = marker.verify(
            data.get(marker.KEY),
            secret.get_secret_value(),
            guard.identity.pool_id,
            account.key,
            self.clock(),
        )
        return found is not None

    async def _flush(self) -> None:
        # Lambda freezes the container once the trigger returns: write the audit events now.
        with contextlib.suppress(e.StoreUnavailable):
            await self.audit.flush()

    async def close(self) -> None:
        """Write queued audit events and release the store."""
        await self.audit.close()
        await self.store.close()


TriggerFunction = Callable[[Event, Any], Event]


class LambdaTriggers:
    """The Lambda functions of a :class:`Triggers`, run on one loop (built on first use)."""

    def __init__(self, factory: Callable[[], Triggers], loop: LoopThread | None = None) -> None:
        self._factory = factory
        self._loop = loop or LoopThread("cognito-gate-triggers")
        self._triggers: Triggers | None = None
        self._lock = threading.Lock()

    @property
    def triggers(self) -> Triggers:
        """The container's triggers (settings read and store opened once)."""
        with self._lock:
            if self._triggers is None:
                self._triggers = self._factory()
            return self._triggers

    def pre_authentication(self, event: Event, context: Any = None) -> Event:
        """Cognito's Pre Authentication trigger."""
        return self._loop.run(self.triggers.pre_authentication(event))

    def post_authentication(self, event: Event, context: Any = None) -> Event:
        """Cognito's Post Authentication trigger."""
        return self._loop.run(self.triggers.post_authentication(event))

    def close(self) -> None:
        """Close the store and stop the loop (tests, the embedded emulator's end)."""
        with self._lock:
            triggers, self._triggers = self._triggers, None
        if triggers is not None:
            with contextlib.suppress(Exception):
                self._loop.run(triggers.close())
        self._loop.stop()


#: The names the embedded emulator's pools give the two functions (``embed``).
PRE_FUNCTION = "cognito-gate-pre-authentication"
POST_FUNCTION = "cognito-gate-post-authentication"


def embed(
    settings: Settings,
    pool_id: str,
    *,
    clock: Callable[[], float] = time.time,
    credentials: Mapping[str, str] | None = None,
) -> LambdaTriggers:
    """Attach the triggers to an embedded emulator pool, run in this process on ``settings``
    (``COGNITO_GATE_EMBEDDED_TRIGGERS``): the pool's LambdaConfig names them, and the emulator
    calls them where Cognito would (``cognito.local_triggers``)."""
    from cognito_gate.cognito import local_triggers

    functions = LambdaTriggers(lambda: Triggers(settings, clock=clock, credentials=credentials))
    pre = local_triggers.function_arn(f"{PRE_FUNCTION}-{pool_id}")
    post = local_triggers.function_arn(f"{POST_FUNCTION}-{pool_id}")
    local_triggers.register(pre, functions.pre_authentication)
    local_triggers.register(post, functions.post_authentication)
    local_triggers.attach(pool_id, PreAuthentication=pre, PostAuthentication=post)
    return functions


def _from_environment() -> Triggers:
    return Triggers(load_settings())


_DEFAULT = LambdaTriggers(_from_environment)


def pre_authentication(event: Event, context: Any) -> Event:
    """Cognito Pre Authentication trigger (Lambda handler ``cognito_gate.aws.pre_authentication``)."""
    return _DEFAULT.pre_authentication(event, context)


def post_authentication(event: Event, context: Any) -> Event:
    """Cognito Post Authentication trigger (handler ``cognito_gate.aws.post_authentication``)."""
    return _DEFAULT.post_authentication(event, context)


__all__ = [
    "POST_FUNCTION",
    "PRE_FUNCTION",
    "LambdaTriggers",
    "Triggers",
    "embed",
    "post_authentication",
    "pre_authentication",
    "refusal",
    "settle_policy",
]
