"""Gate: one straight path per request: normalise the name, reserve an attempt, ask Cognito,
record the outcome, audit. The policy decides (``policy``), the store counts (``stores``).

Keys in the store: ``user\\x1f{name}`` (the account: its counters in ``user`` scope, and always its
admin lock), ``user\\x1f{name}\\x1f{ip}`` (the counters in ``user+ip`` scope) and ``addr\\x1f{ip}``
(the per-address throttle).
"""

from __future__ import annotations

import contextlib
import logging
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, NoReturn

from cognito_gate import errors as e
from cognito_gate.answers import AccountStatus, TokenAnswer, iso_utc, token_digest
from cognito_gate.cognito.idp import Challenge, ClientContext, CognitoError, CognitoIdp, Tokens
from cognito_gate.config import Settings
from cognito_gate.doctor import (
    Finding,
    check_client,
    check_pool,
    device_remembering,
    refresh_validity,
)
from cognito_gate.metrics import Metrics
from cognito_gate.policy import AccountState, LockoutPolicy, Outcome, Verdict, account_policy
from cognito_gate.policy import address_policy as make_address_policy
from cognito_gate.stores import Store, open_store, update

logger = logging.getLogger("cognito_gate.gate")

SEP = "\x1f"
MAX_USERNAME = 128
#: Challenges the gateway answers through AdminRespondToAuthChallenge.
CHALLENGES = frozenset(
    {"NEW_PASSWORD_REQUIRED", "SOFTWARE_TOKEN_MFA", "SMS_MFA", "EMAIL_OTP", "SELECT_MFA_TYPE"}
)
#: Refresh-token owners are remembered this long when the client's validity is unknown.
DEFAULT_REFRESH_VALIDITY = 30 * 86400


class Gate:
    """The gateway's engine, usable without HTTP (tests, other frameworks)."""

    def __init__(
        self,
        settings: Settings,
        *,
        idp: CognitoIdp,
        store: Store,
        clock: Callable[[], float] = time.time,
        case_sensitive: bool = True,
        refresh_validity: float = DEFAULT_REFRESH_VALIDITY,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.idp = idp
        self.store = store
        self.clock = clock
        self.case_sensitive = case_sensitive
        self.refresh_validity = refresh_validity
        self.metrics = metrics or Metrics()
        self.policy: LockoutPolicy = account_policy(settings)
        self.address_policy: LockoutPolicy = make_address_policy(settings)
        self.findings: list[Finding] = []
        self.device_remembering = False
        self._started = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        credentials: Mapping[str, str] | None = None,
    ) -> Gate:
        """A gate for a configured pool (no I/O yet: call :meth:`start`)."""
        if settings.user_pool_id is None or settings.client_id is None:
            raise e.ConfigError(
                "COGNITO_GATE_USER_POOL_ID: not set (use cognito_gate.runtime for the embedded"
                " emulator)"
            )
        secret = settings.client_secret.get_secret_value() if settings.client_secret else None
        idp = CognitoIdp(
            user_pool_id=settings.user_pool_id,
            client_id=settings.client_id,
            region=settings.aws_region,
            client_secret=secret,
            endpoint=settings.cognito_endpoint,
            credentials=credentials,
        )
        return cls(settings, idp=idp, store=open_store(settings.store, clock), clock=clock)

    async def start(self) -> None:
        """Read what the policy needs from the pool (case sensitivity, token lifetimes, findings).

        Fails when the pool cannot be read: guessing case sensitivity wrong would either split
        one account's counter or lock out users whose names differ only in case.
        """
        if self._started:
            return
        try:
            pool = await self.idp.describe_pool()
            client = await self.idp.describe_client()
        except CognitoError as err:
            raise e.ConfigError(
                f"cannot read user pool {self.idp.user_pool_id} ({err.error.code}): check"
                " COGNITO_GATE_USER_POOL_ID, COGNITO_GATE_CLIENT_ID, COGNITO_GATE_REGION and the"
                " gateway's AWS credentials (cognito-idp:DescribeUserPool, DescribeUserPoolClient)"
            ) from None
        self.case_sensitive = bool(
            (pool.get("UsernameConfiguration") or {}).get("CaseSensitive", True)
        )
        self.refresh_validity = refresh_validity(client)
        self.device_remembering = device_remembering(pool)
        self.findings = check_pool(pool, self.idp.client_id) + check_client(
            client, self.idp.client_id
        )
        await self.store.ping()
        self._started = True

    async def close(self) -> None:
        """Release the store."""
        await self.store.close()

    # -- names and keys ---------------------------------------------------------------------------

    def normalize(self, username: str) -> str:
        """Trim, NFC, and case-fold where the pool is case-insensitive; refuse malformed names."""
        name = unicodedata.normalize("NFC", username.strip())
        if not name or len(name) > MAX_USERNAME:
            raise e.InvalidRequest(f"username must be 1 to {MAX_USERNAME} characters")
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
            raise e.InvalidRequest("username contains control characters")
        return name if self.case_sensitive else name.casefold()

    def _user_key(self, name: str) -> str:
        return f"user{SEP}{name}"

    def _account_key(self, name: str, ip: str) -> str:
        if self.settings.lock_scope == "user+ip":
            return f"user{SEP}{name}{SEP}{ip}"
        return self._user_key(name)

    # -- store steps ------------------------------------------------------------------------------

    async def _admit(self, policy: LockoutPolicy, key: str, reservation: str) -> Verdict:
        now = self.clock()
        return await update(
            self.store, key, lambda s: policy.admit(s, now, reservation), policy.expires_at
        )

    async def _record(
        self, policy: LockoutPolicy, key: str, reservation: str | None, outcome: Outcome
    ) -> bool:
        now = self.clock()

        def change(state: AccountState) -> tuple[bool, AccountState]:
            done = policy.record(state, now, reservation, outcome)
            return done.locked, done.state

        locked = await update(self.store, key, change, policy.expires_at)
        if locked:
            self.metrics.inc("cognito_gate_lockouts_total", kind=policy.name)
        return locked

    async def _account_lock(self, name: str) -> Verdict:
        """The admin lock / permanent lockout on the account itself (any scope)."""
        record = await self.store.load(self._user_key(name))
        state = record.state if record else AccountState()
        verdict = self.policy.check(state, self.clock())
        return verdict if verdict.admin_only else Verdict(True)

    def _refusal(self, verdict: Verdict) -> e.GateError:
        if self.settings.lockout_response == "opaque":
            return e.InvalidCredentials()
        return e.AccountLocked(retry_after=None if verdict.admin_only else verdict.retry_after)

    async def _event(
        self, kind: str, name: str | None, ip: str | None, outcome: str, **more: Any
    ) -> None:
        event = {
            "time": iso_utc(self.clock()),
            "type": kind,
            "username": name,
            "ip": ip,
            "outcome": outcome,
            **more,
        }
        try:
            await self.store.add_event(event)
        except e.StoreUnavailable:
            logger.warning("could not record a %s event: store unavailable", kind)

    # -- password checks --------------------------------------------------------------------------

    async def _guarded(
        self,
        kind: str,
        name: str,
        client: ClientContext,
        call: Callable[[str], Awaitable[Tokens | Challenge]],
    ) -> Tokens | Challenge:
        """Reserve on the address and the account, make one Cognito check, record what it said."""
        if self.settings.lock_scope == "user+ip":
            verdict = await self._account_lock(name)
            if not verdict.allowed:
                await self._refuse(kind, name, client, verdict)
        reservation = uuid.uuid4().hex
        addr_key = f"addr{SEP}{client.ip}"
        addr = await self._admit(self.address_policy, addr_key, reservation)
        if not addr.allowed:
            self.metrics.inc("cognito_gate_login_attempts_total", outcome="throttled")
            await self._event(kind, name, client.ip, "throttled")
            raise e.TooManyRequests(retry_after=addr.retry_after)
        key = self._account_key(name, client.ip)
        try:
            verdict = await self._admit(self.policy, key, reservation)
        except e.StoreUnavailable:
            await self._release(addr_key, reservation)
            raise
        if not verdict.allowed:
            await self._release(addr_key, reservation)
            await self._refuse(kind, name, client, verdict)
        hash_name = name
        try:
            if self.idp.has_secret:
                hash_name = await self.idp.internal_username(name) or name
            result = await call(hash_name)
        except CognitoError as err:
            await self._settle(kind, name, client, key, addr_key, reservation, err.outcome)
            self.metrics.inc("cognito_gate_cognito_errors_total", code=err.error.code)
            await self._event(kind, name, client.ip, _outcome_word(err), code=err.error.code)
            if isinstance(err.error, e.AccountLocked):
                # Cognito's own lockout: not counted, answered as ours is (opaque or explicit).
                raise self._refusal(Verdict(False, err.error.retry_after, "locked")) from None
            raise err.error from None
        outcome = Outcome.SUCCESS if isinstance(result, Tokens) else Outcome.NEUTRAL
        await self._settle(kind, name, client, key, addr_key, reservation, outcome)
        word = "success" if outcome is Outcome.SUCCESS else "challenge"
        await self._event(kind, name, client.ip, word)
        return result

    async def _release(self, addr_key: str, reservation: str) -> None:
        # When the store is down, the reservation expires by itself.
        with contextlib.suppress(e.StoreUnavailable):
            await self._record(self.address_policy, addr_key, reservation, Outcome.NEUTRAL)

    async def _settle(
        self,
        kind: str,
        name: str,
        client: ClientContext,
        key: str,
        addr_key: str,
        reservation: str,
        outcome: Outcome,
    ) -> None:
        self.metrics.inc("cognito_gate_login_attempts_total", outcome=outcome.value)
        locked = await self._record(self.policy, key, reservation, outcome)
        addr_outcome = Outcome.FAILURE if outcome is Outcome.FAILURE else Outcome.NEUTRAL
        await self._record(self.address_policy, addr_key, reservation, addr_outcome)
        if locked:
            logger.info("account locked: user=%s ip=%s", name, client.ip)
            await self._event("lockout", name, client.ip, "locked")

    async def _refuse(
        self, kind: str, name: str, client: ClientContext, verdict: Verdict
    ) -> NoReturn:
        self.metrics.inc("cognito_gate_login_attempts_total", outcome="locked")
        await self._event(kind, name, client.ip, "locked", reason=verdict.reason)
        raise self._refusal(verdict)

    async def login(
        self, username: str, password: str, client: ClientContext
    ) -> TokenAnswer | Challenge:
        """One login attempt under the policy."""
        name = self.normalize(username)
        if not password or len(password) > 256:
            raise e.InvalidRequest("password must be 1 to 256 characters")
        result = await self._guarded(
            "login",
            name,
            client,
            lambda hash_name: self.idp.password_auth(name, password, client, hash_name),
        )
        return await self._answer(name, result, None)

    async def respond(
        self,
        username: str,
        challenge: str,
        session: str,
        responses: Mapping[str, str],
        client: ClientContext,
    ) -> TokenAnswer | Challenge:
        """Answer a challenge (a wrong code counts as a failed attempt)."""
        name = self.normalize(username)
        if challenge not in CHALLENGES:
            raise e.InvalidRequest(f"challengeName must be one of {', '.join(sorted(CHALLENGES))}")
        answers = {k: v for k, v in responses.items() if k not in ("USERNAME", "SECRET_HASH")}
        context = replace(client, server_path="/auth/challenge")
        result = await self._guarded(
            "challenge",
            name,
            context,
            lambda hash_name: self.idp.respond(
                name, challenge, session, answers, context, hash_name
            ),
        )
        return await self._answer(name, result, None)

    async def _answer(
        self, name: str, result: Tokens | Challenge, sent_refresh: str | None
    ) -> TokenAnswer | Challenge:
        if isinstance(result, Challenge):
            return result
        internal = str(result.id_claims.get("cognito:username") or name)
        refresh = result.refresh_token or sent_refresh or ""
        if result.refresh_token:
            try:
                await self.store.put_token_owner(
                    token_digest(result.refresh_token),
                    f"{internal}{SEP}{name}",
                    self.clock() + self.refresh_validity,
                )
            except e.StoreUnavailable:
                logger.warning("could not remember a refresh token's owner: store unavailable")
        return TokenAnswer(
            tokens=result,
            refresh_token=refresh,
            username=internal,
            user_pool_id=self.idp.user_pool_id,
            client_id=self.idp.client_id,
            region=self.idp.region,
        )

    # -- refresh and logout -----------------------------------------------------------------------

    async def owner(self, refresh_token: str) -> tuple[str, str] | None:
        """(internal username, login name) remembered for this refresh token at login."""
        found = await self.store.token_owner(token_digest(refresh_token), self.clock())
        if not found:
            return None
        internal, _, name = found.partition(SEP)
        return internal, name or internal

    async def _refresh_refused(self, *names: str | None) -> bool:
        for raw in {n for n in names if n}:
            try:
                name = self.normalize(raw)
            except e.InvalidRequest:
                continue
            if not (await self._account_lock(name)).allowed:
                return True
        return False

    async def refresh(
        self,
        refresh_token: str,
        username: str | None,
        device_key: str | None = None,
        *,
        get_tokens: bool = False,
    ) -> TokenAnswer:
        """New tokens from a refresh token, unless the account is admin- or permanently locked.

        ``get_tokens`` asks Cognito with GetTokensFromRefreshToken (which may rotate the refresh
        token) instead of InitiateAuth REFRESH_TOKEN_AUTH.
        """
        if not refresh_token or len(refresh_token) > 8192:
            raise e.InvalidRefreshToken()
        owner = await self.owner(refresh_token)
        internal, login_name = owner if owner else (username, username)
        if internal is None and self.idp.has_secret:
            # SECRET_HASH needs the token's user, and no login through this gateway recorded it.
            logger.info("refresh refused: a secret client, and the token's owner is not known")
            raise e.InvalidRefreshToken()
        if await self._refresh_refused(username, login_name, internal):
            self.metrics.inc("cognito_gate_refreshes_total", outcome="disabled")
            await self._event("refresh", login_name, None, "disabled")
            raise e.AccountDisabled()
        try:
            if get_tokens:
                tokens = await self.idp.get_tokens(refresh_token, internal, device_key)
            else:
                tokens = await self.idp.refresh(refresh_token, internal, device_key)
        except CognitoError as err:
            self.metrics.inc("cognito_gate_refreshes_total", outcome=err.error.code)
            raise err.error from None
        issued_to = str(tokens.id_claims.get("cognito:username") or internal or "")
        if await self._refresh_refused(issued_to):
            self.metrics.inc("cognito_gate_refreshes_total", outcome="disabled")
            raise e.AccountDisabled()
        self.metrics.inc("cognito_gate_refreshes_total", outcome="success")
        answer = await self._answer(login_name or issued_to, tokens, refresh_token)
        assert isinstance(answer, TokenAnswer)
        return answer

    async def logout(self, refresh_token: str, everywhere: bool, access_token: str | None) -> None:
        """Revoke the refresh token; with ``everywhere``, sign the user out of every session."""
        if everywhere:
            if not access_token:
                raise e.InvalidToken("everywhere: true needs Authorization: Bearer ACCESS_TOKEN")
            try:
                await self.idp.global_sign_out(access_token)
            except CognitoError as err:
                raise err.error from None
        if not refresh_token or len(refresh_token) > 8192:
            raise e.InvalidRefreshToken()
        try:
            await self.idp.revoke(refresh_token)
        except CognitoError as err:
            raise err.error from None
        owner = await self.owner(refresh_token)
        await self._event("logout", owner[1] if owner else None, None, "success")

    async def user(self, access_token: str) -> dict[str, Any]:
        """Cognito's GetUser for the holder of an access token (attributes, MFA settings)."""
        try:
            return await self.idp.get_user(access_token)
        except CognitoError as err:
            raise err.error from None

    # -- administration ---------------------------------------------------------------------------

    async def status(self, username: str) -> AccountStatus | None:
        """The account's state (summed over addresses in ``user+ip`` scope), None if unknown."""
        name = self.normalize(username)
        now = self.clock()
        base = self._user_key(name)
        keys = [base] + await self.store.keys(base + SEP)
        states = []
        for key in keys:
            record = await self.store.load(key)
            if record is not None:
                states.append(self.policy.current(record.state, now))
        if not states:
            return None
        until = [s.locked_until for s in states if s.locked_until and s.locked_until > now]
        return AccountStatus(
            username=name,
            failures=sum(len(s.failures) for s in states),
            locked_until=max(until) if until else None,
            lockouts=max(s.lockouts for s in states),
            permanent=any(s.permanent for s in states),
            admin_locked=any(s.admin_locked for s in states),
        )

    async def unlock(self, username: str) -> None:
        """Clear failures, lockouts and locks (every address too)."""
        name = self.normalize(username)
        base = self._user_key(name)
        for key in [base] + await self.store.keys(base + SEP):
            await update(self.store, key, lambda s: (None, AccountState()), self.policy.expires_at)
        logger.info("account unlocked by an admin: user=%s", name)
        await self._event("unlock", name, None, "success")

    async def lock(self, username: str) -> None:
        """Refuse login and refresh until an admin unlocks."""
        name = self.normalize(username)
        await update(
            self.store,
            self._user_key(name),
            lambda s: (None, replace(s, admin_locked=True)),
            self.policy.expires_at,
        )
        logger.info("account locked by an admin: user=%s", name)
        await self._event("lock", name, None, "success")

    async def events(self, username: str | None, limit: int) -> list[dict[str, Any]]:
        """Recent auth events, newest first."""
        name = self.normalize(username) if username else None
        return await self.store.events(name, limit)


def _outcome_word(err: CognitoError) -> str:
    if err.outcome is Outcome.FAILURE:
        return "failure"
    return "error"
