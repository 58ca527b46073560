"""Gate: the login engine. Login, challenge, refresh and logout, each one straight path on the
guard (``guard``): which account the name reaches (``identity``), a read and a reservation in the
store, one check at Cognito, its outcome recorded. Administration lives in ``admin``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, NoReturn

from cognito_gate import errors as e
from cognito_gate.answers import TokenAnswer, token_digest
from cognito_gate.audit import Audit
from cognito_gate.cognito.idp import Challenge, ClientContext, CognitoError, CognitoIdp, Tokens
from cognito_gate.config import Settings
from cognito_gate.devices import DEVICE_CHALLENGES, Devices
from cognito_gate.doctor import (
    Finding,
    device_mode,
    device_remembering,
    inspect_pool,
    refresh_validity,
)
from cognito_gate.guard import Guard, failure_floor
from cognito_gate.identity import SEP, Account, Identity, SignInNames
from cognito_gate.metrics import Metrics
from cognito_gate.policy import Outcome
from cognito_gate.stores import Store, open_store

logger = logging.getLogger("cognito_gate.gate")

#: Challenges the gateway answers through AdminRespondToAuthChallenge.
CHALLENGES = (
    frozenset(
        {"NEW_PASSWORD_REQUIRED", "SOFTWARE_TOKEN_MFA", "SMS_MFA", "EMAIL_OTP", "SELECT_MFA_TYPE"}
    )
    | DEVICE_CHALLENGES
)
#: Cognito's answers at start-up that no retry will mend: a setting or a permission is wrong.
CONFIG_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "NotAuthorizedException",
    }
)
#: Refresh-token owners are remembered this long when the client's validity is unknown.
DEFAULT_REFRESH_VALIDITY = 30 * 86400


def _check_refresh_token(refresh_token: str) -> None:
    """Refuse what cannot be a Cognito refresh token (empty, huge, not ASCII: a lone surrogate
    would not even encode) before it reaches the store or Cognito."""
    if not refresh_token or len(refresh_token) > 8192 or not refresh_token.isascii():
        raise e.InvalidRefreshToken()


def _judge(result: Tokens | Challenge) -> Outcome:
    return Outcome.SUCCESS if isinstance(result, Tokens) else Outcome.NEUTRAL


class Gate:
    """The gateway's engine, usable without HTTP (tests, other frameworks)."""

    def __init__(
        self,
        settings: Settings,
        *,
        idp: CognitoIdp,
        store: Store,
        clock: Callable[[], float] = time.time,
        names: SignInNames | None = None,
        refresh_validity: float = DEFAULT_REFRESH_VALIDITY,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.idp = idp
        self.store = store
        self.clock = clock
        self.refresh_validity = refresh_validity
        self.metrics = metrics or Metrics()
        self.identity = Identity(idp, names)
        self.audit = Audit(store, self.metrics)
        self.guard = Guard(settings, store, self.identity, clock, self.metrics, self.audit)
        self.devices = Devices(lambda: self.idp, self.metrics)
        self.findings: list[Finding] = []
        self.device_remembering = False
        self.device_mode = "off"  # off | always | opt-in
        self._started = names is not None
        self._starting = asyncio.Lock()

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
        store = open_store(settings.store, clock, region=settings.aws_region)
        return cls(settings, idp=idp, store=store, clock=clock)

    async def start(self) -> None:
        """Read what the policy needs from the pool (its sign-in names and case rule, token
        lifetimes) and doctor's findings; once, however many requests ask at the same time.

        Fails when the pool cannot be read: guessing the names wrong would split one account's
        counter, or lock out users whose names differ only in case. Cognito unreachable is
        :class:`~cognito_gate.errors.CognitoUnavailable` (503); the pool or client not readable
        (wrong id, no permission) is a :class:`~cognito_gate.errors.ConfigError`.
        """
        if self._started:
            return
        async with self._starting:
            if self._started:
                return
            try:
                pool, client, findings = await inspect_pool(self.idp)
            except CognitoError as err:
                raise self._start_error(err) from None
            self.identity.names = SignInNames.of(pool)
            self.refresh_validity = refresh_validity(client)
            self.device_remembering = device_remembering(pool)
            self.device_mode = device_mode(pool)
            self.findings = findings
            await self.store.ping()
            self._started = True

    def _start_error(self, err: CognitoError) -> e.GateError:
        if isinstance(err.error, e.Unavailable) and err.code not in CONFIG_CODES:
            return e.CognitoUnavailable("Cognito is unreachable; the gateway cannot start yet.")
        return e.ConfigError(
            f"cannot read user pool {self.idp.user_pool_id} ({err.error.code}): check"
            " COGNITO_GATE_USER_POOL_ID, COGNITO_GATE_CLIENT_ID, COGNITO_GATE_REGION and the"
            " gateway's AWS credentials (cognito-idp:DescribeUserPool, DescribeUserPoolClient)"
        )

    async def close(self) -> None:
        """Write the queued audit events and release the store."""
        await self.audit.close()
        await self.store.close()

    # -- password checks --------------------------------------------------------------------------

    async def login(
        self,
        username: str,
        password: str,
        client: ClientContext,
        device_key: str | None = None,
        remember_device: bool | None = None,
    ) -> TokenAnswer | Challenge:
        """One login attempt under the policy (``device_key``: the client's remembered device;
        ``remember_device``: remember a new device on an opt-in pool; see ``devices``)."""
        if not password or len(password) > 256:
            raise e.InvalidRequest("password must be 1 to 256 characters")
        async with failure_floor(self.settings.min_failure_seconds):
            account = await self._account("login", username, client)
            check = self.devices.password_check(account, password, client, device_key)
            call, owner = self._remembering(account, check)
            result = await self.guard.attempt("login", account, client, call, _judge)
        return await self._answer(
            account,
            result,
            None,
            client=client,
            remember=remember_device,
            forgot=check.forgot,
            owner=owner,
        )

    async def respond(
        self,
        username: str,
        challenge: str,
        session: str,
        responses: Mapping[str, str],
        client: ClientContext,
        remember_device: bool | None = None,
    ) -> TokenAnswer | Challenge:
        """Answer a challenge (a wrong code, or a wrong device claim, counts as a failed
        attempt)."""
        if challenge not in CHALLENGES:
            raise e.InvalidRequest(f"challengeName must be one of {', '.join(sorted(CHALLENGES))}")
        context = replace(client, server_path="/auth/challenge")
        account = await self._account("challenge", username, context)
        answers = {k: v for k, v in responses.items() if k not in ("USERNAME", "SECRET_HASH")}
        call, owner = self._remembering(
            account,
            lambda: self.devices.respond(
                account.username or account.name, challenge, session, answers, context
            ),
        )
        async with failure_floor(self.settings.min_failure_seconds):
            result = await self.guard.attempt("challenge", account, context, call, _judge)
        return await self._answer(
            account, result, None, client=context, remember=remember_device, owner=owner
        )

    async def _account(self, kind: str, username: str, client: ClientContext) -> Account:
        """The account a name reaches, once the address may try (a throttled address makes no
        lookup at Cognito)."""
        await self.start()
        await self.guard.address_open(kind, client)
        return await self.identity.account(username)

    def _remembering(
        self, account: Account, call: Callable[[], Awaitable[Tokens | Challenge]]
    ) -> tuple[Callable[[], Awaitable[Tokens | Challenge]], list[asyncio.Future[None]]]:
        """``call``, made to start writing the new refresh token's owner as soon as Cognito
        answers with tokens, so that the write runs while the attempt settles (on a network
        store: one round trip less on the login's path); and where that write is found."""
        started: list[asyncio.Future[None]] = []

        async def calling() -> Tokens | Challenge:
            result = await call()
            if isinstance(result, Tokens) and result.refresh_token:
                started.append(asyncio.ensure_future(self._remember_owner(account, result)))
            return result

        return calling, started

    async def _remember_owner(self, account: Account, tokens: Tokens) -> None:
        """Remember who ``tokens``' refresh token belongs to, for :meth:`refresh`; a store that
        is down is logged here, not raised (the attempt's own store steps answer for it)."""
        if not tokens.refresh_token:
            return
        internal = str(tokens.id_claims.get("cognito:username") or account.name)
        try:
            await self.store.put_token_owner(
                token_digest(tokens.refresh_token),
                f"{internal}{SEP}{self.identity.account_of(internal).key}",
                self.clock() + self.refresh_validity,
            )
        except e.StoreUnavailable:
            logger.warning("could not remember a refresh token's owner: store unavailable")

    async def _answer(
        self,
        account: Account,
        result: Tokens | Challenge,
        sent_refresh: str | None,
        *,
        client: ClientContext | None = None,
        remember: bool | None = None,
        forgot: bool = False,
        owner: list[asyncio.Future[None]] | None = None,
    ) -> TokenAnswer | Challenge:
        """The answer to a login, challenge or refresh. A login's (``client`` given) new device is
        confirmed for the client here, and handed over once (``devices``). The refresh token's
        owner is written here, or was started as Cognito answered (``owner``, see
        :meth:`_remembering`): either way it is written before the tokens are handed over."""
        if isinstance(result, Challenge):
            return replace(result, forget_device=True) if forgot else result
        internal = str(result.id_claims.get("cognito:username") or account.name)
        refresh = result.refresh_token or sent_refresh or ""
        if owner:
            await owner[0]
        else:
            await self._remember_owner(account, result)
        new_device = None
        if client is not None and result.new_device is not None:
            new_device = await self.devices.confirm(result, remember, client)
        return TokenAnswer(
            tokens=result,
            refresh_token=refresh,
            username=internal,
            user_pool_id=self.idp.user_pool_id,
            client_id=self.idp.client_id,
            region=self.idp.region,
            new_device=new_device,
            forget_device=forgot,
        )

    # -- refresh and logout -----------------------------------------------------------------------

    async def owner(self, refresh_token: str) -> str | None:
        """The account's username remembered for this refresh token at login."""
        found = await self.store.token_owner(token_digest(refresh_token), self.clock())
        if not found:
            return None
        return found.partition(SEP)[0] or None

    async def _disabled(self, username: str | None) -> bool:
        """True when the account of a username Cognito issued is admin- or permanently locked."""
        if not username:
            return False
        verdict = await self.guard.account_lock(self.identity.account_of(username))
        return not verdict.allowed

    async def refresh(
        self,
        refresh_token: str,
        username: str | None,
        device_key: str | None = None,
        *,
        get_tokens: bool = False,
    ) -> TokenAnswer:
        """New tokens from a refresh token, unless the account is admin- or permanently locked.

        The account is the one the token belongs to: remembered at login, else the one Cognito's
        answer names; never the ``username`` the caller claims, so a refusal tells nothing about
        a name the caller holds no token for. ``get_tokens`` asks Cognito with
        GetTokensFromRefreshToken (which may rotate the refresh token) instead of InitiateAuth
        REFRESH_TOKEN_AUTH.
        """
        await self.start()
        _check_refresh_token(refresh_token)
        internal = await self.owner(refresh_token)
        if internal is None and self.idp.has_secret:
            if username:
                internal = (await self.identity.account(username)).username
            if internal is None:
                # SECRET_HASH needs the token's user, and no login through this gateway said who.
                logger.info("refresh refused: a secret client, and the token's owner is unknown")
                raise e.InvalidRefreshToken()
        if await self._disabled(internal):
            self._refused_refresh(internal)
        try:
            if get_tokens:
                tokens = await self.idp.get_tokens(refresh_token, internal, device_key)
            else:
                tokens = await self.idp.refresh(refresh_token, internal, device_key)
        except CognitoError as err:
            self.metrics.inc("cognito_gate_refreshes_total", outcome=err.error.code)
            raise err.error from None
        issued_to = str(tokens.id_claims.get("cognito:username") or internal or "")
        if issued_to != internal and await self._disabled(issued_to):
            self._refused_refresh(issued_to)
        self.metrics.inc("cognito_gate_refreshes_total", outcome="success")
        answer = await self._answer(self.identity.account_of(issued_to), tokens, refresh_token)
        assert isinstance(answer, TokenAnswer)
        return answer

    def _refused_refresh(self, username: str | None) -> NoReturn:
        self.metrics.inc("cognito_gate_refreshes_total", outcome="disabled")
        account = self.identity.account_of(username) if username else None
        self.guard.event("refresh", account, None, "disabled")
        raise e.AccountDisabled()

    async def logout(self, refresh_token: str, everywhere: bool, access_token: str | None) -> None:
        """Revoke the refresh token; with ``everywhere``, sign the user out of every session."""
        if everywhere:
            if not access_token:
                raise e.InvalidToken("everywhere: true needs Authorization: Bearer ACCESS_TOKEN")
            try:
                await self.idp.global_sign_out(access_token)
            except CognitoError as err:
                raise err.error from None
        _check_refresh_token(refresh_token)
        try:
            await self.idp.revoke(refresh_token)
        except CognitoError as err:
            raise err.error from None
        owner = await self.owner(refresh_token)
        account = self.identity.account_of(owner) if owner else None
        self.guard.event("logout", account, None, "success")

    async def user(self, access_token: str) -> dict[str, Any]:
        """Cognito's GetUser for the holder of an access token (attributes, MFA settings)."""
        try:
            return await self.idp.get_user(access_token)
        except CognitoError as err:
            raise err.error from None
