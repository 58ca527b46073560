"""Account flows on the login's lock: sign-up, confirmation, password reset, change password.

Each is one straight path, on the same primitives as login (resolve the account, reserve in the
store, one call at Cognito, record, audit):

- **Codes are secrets.** A confirmation or reset code is checked through a :class:`Guard` of its
  own (key space ``code``, :func:`code_policy`: ``CODE_MAX_ATTEMPTS`` wrong codes lock the code
  routes for ``LOCKOUT_SECONDS``, with the login's backoff, never permanently), which reserves
  before Cognito is called, so at most ``CODE_MAX_ATTEMPTS`` guesses of one account's code reach
  Cognito per lockout cycle. Wrong codes also count on the login's per-address throttle.
- **Sending costs.** Forgot-password and resend-code are throttled per account and per address
  (``CODE_SEND_*``), sign-up per name and per address (``SIGNUP_*``), in the same store and with
  the same exactness (:mod:`cognito_gate.throttle`).
- **No enumeration.** Forgot-password and resend-code answer the same 202 whoever the name
  belongs to, or nobody: the same status, body and headers, after the same calls to Cognito;
  Cognito's answers about the user (unknown, confirmed already, no verified email, its own
  limit) are kept for the audit log. An unknown user's code is "wrong", and counted, like any
  other. Sign-up's ``username_exists`` is the one exception (Cognito's too), and it is throttled.
- **A reset ends a temporary lockout.** A completed password reset clears the account's failed
  logins and temporary lockout (not an admin lock or a permanent lockout).
- **Change password is a password check.** It goes through the login's own guard: a wrong
  previous password counts as a failed login, a locked account cannot change it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cognito_gate import errors as e
from cognito_gate.cognito.idp import ClientContext, CognitoError, SignUpResult
from cognito_gate.config import Settings
from cognito_gate.gate import Gate
from cognito_gate.guard import Guard
from cognito_gate.identity import SEP, Account, clean
from cognito_gate.policy import LockoutPolicy, Outcome
from cognito_gate.throttle import Throttle, spend

MAX_PASSWORD = 256
MAX_CODE = 64
MAX_ATTRIBUTES = 50


def code_policy(settings: Settings) -> LockoutPolicy:
    """Wrong confirmation and reset codes: ``CODE_MAX_ATTEMPTS``, then the login's lockout
    length and backoff. Never permanent: anyone can type wrong codes for someone else."""
    return LockoutPolicy(
        max_attempts=settings.code_max_attempts,
        lockout_seconds=settings.lockout_seconds,
        backoff_multiplier=settings.backoff_multiplier,
        max_lockout_seconds=settings.max_lockout_seconds,
        failure_window_seconds=settings.failure_window_seconds,
        permanent_after=0,
        name="code",
    )


@dataclass(frozen=True)
class SignUpAnswer:
    """The 201 of ``POST /auth/signup``."""

    result: SignUpResult

    def to_json(self) -> dict[str, Any]:
        """``{userConfirmed, userSub, codeDeliveryDetails}`` in camelCase."""
        details = self.result.delivery
        return {
            "userConfirmed": self.result.user_confirmed,
            "userSub": self.result.user_sub,
            "codeDeliveryDetails": None
            if details is None
            else {
                "destination": details.get("Destination"),
                "deliveryMedium": details.get("DeliveryMedium"),
                "attributeName": details.get("AttributeName"),
            },
        }


def _password(value: str, field: str) -> None:
    if not value or len(value) > MAX_PASSWORD:
        raise e.InvalidRequest(f"{field} must be 1 to {MAX_PASSWORD} characters")


def _code(value: str) -> str:
    code = value.strip()
    if not code or len(code) > MAX_CODE or any(ch.isspace() for ch in code):
        raise e.InvalidRequest(f"code must be 1 to {MAX_CODE} characters, without spaces")
    return code


class Flows:
    """Sign-up, confirmation, reset and change password, on a gate's guard, store and pool."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        s = gate.settings
        self.codes = Guard(
            s,
            gate.store,
            gate.identity,
            gate.clock,
            gate.metrics,
            gate.audit,
            policy=code_policy(s),
            space="code",
        )

        def throttle(space: str, limit: int, window: float) -> Throttle:
            return Throttle(
                gate.store,
                gate.clock,
                pool_id=gate.identity.pool_id,
                space=space,
                limit=limit,
                window=window,
            )

        window = s.code_send_window_seconds
        self.sends = throttle("send", s.code_send_max, window)
        self.send_addresses = throttle("send-addr", s.code_send_max_per_ip, window)
        self.signups = throttle("signup", s.signup_max, s.signup_window_seconds)
        self.signup_addresses = throttle(
            "signup-addr", s.signup_max_per_ip, s.signup_window_seconds
        )

    # -- sign-up ----------------------------------------------------------------------------------

    async def sign_up(
        self,
        username: str,
        password: str,
        attributes: Mapping[str, str],
        client: ClientContext,
    ) -> SignUpAnswer:
        """SignUp under the per-name and per-address sign-up budgets."""
        _password(password, "password")
        if len(attributes) > MAX_ATTRIBUTES:
            raise e.InvalidRequest(f"attributes: at most {MAX_ATTRIBUTES}")
        await self.gate.start()
        name = clean(username)
        await self.signup_addresses.check(client.ip)
        account = Account(name, self.gate.identity.fold(name), None)
        budgets = [(self.signup_addresses, client.ip), (self.signups, account.key)]
        try:
            result = await spend(
                budgets, lambda: self.gate.idp.sign_up(name, password, attributes, client)
            )
        except CognitoError as err:
            self._event("signup", account, client, "refused", code=err.error.code)
            raise err.error from None
        self._event("signup", account, client, "success", confirmed=result.user_confirmed)
        return SignUpAnswer(result)

    # -- codes sent: the same 202 for everyone ---------------------------------------------------

    async def resend_code(self, username: str, client: ClientContext) -> None:
        """ResendConfirmationCode; answers the same for every name (see the module)."""
        await self._send(
            "resend_code",
            username,
            client,
            lambda a: self.gate.idp.resend_confirmation_code(a.name, client, self._hash_name(a)),
        )

    async def forgot_password(self, username: str, client: ClientContext) -> None:
        """ForgotPassword; answers the same for every name (see the module)."""
        await self._send(
            "forgot_password",
            username,
            client,
            lambda a: self.gate.idp.forgot_password(a.name, client, self._hash_name(a)),
        )

    async def _send(
        self,
        kind: str,
        username: str,
        client: ClientContext,
        call: Callable[[Account], Awaitable[object]],
    ) -> None:
        await self.gate.start()
        # A throttled address makes no lookup at Cognito.
        await self.send_addresses.check(client.ip)
        account = await self.gate.identity.account(username)
        budgets = [(self.send_addresses, client.ip), (self.sends, account.key)]
        try:
            await spend(budgets, lambda: call(account))
        except CognitoError as err:
            if isinstance(err.error, e.Unavailable):
                raise err.error from None
            # What Cognito said of this user stays here: the caller gets the usual answer.
            self._event(kind, account, client, "not_sent", code=err.code or err.error.code)
            return
        self._event(kind, account, client, "sent")

    # -- codes checked: the code guard -----------------------------------------------------------

    async def confirm_sign_up(self, username: str, code: str, client: ClientContext) -> None:
        """ConfirmSignUp: one guess of the account's code, under the code lock."""
        code = _code(code)
        account = await self._code_account("confirm_signup", username, client)
        await self._check_code(
            "confirm_signup",
            account,
            client,
            lambda: self.gate.idp.confirm_sign_up(
                account.name, code, client, self._hash_name(account)
            ),
        )

    async def confirm_forgot_password(
        self, username: str, code: str, new_password: str, client: ClientContext
    ) -> None:
        """ConfirmForgotPassword under the code lock; then the account's failed logins and
        temporary lockout are cleared (an admin lock and a permanent lockout stay)."""
        code = _code(code)
        _password(new_password, "newPassword")
        account = await self._code_account("confirm_forgot_password", username, client)
        await self._check_code(
            "confirm_forgot_password",
            account,
            client,
            lambda: self.gate.idp.confirm_forgot_password(
                account.name, code, new_password, client, self._hash_name(account)
            ),
        )
        await self._clear_login_failures(account)
        self._event("reset", account, client, "success")

    async def _code_account(self, kind: str, username: str, client: ClientContext) -> Account:
        await self.gate.start()
        await self.codes.address_open(kind, client)
        return await self.gate.identity.account(username)

    async def _check_code(
        self,
        kind: str,
        account: Account,
        client: ClientContext,
        call: Callable[[], Awaitable[None]],
    ) -> None:
        try:
            await self.codes.attempt(kind, account, client, call, lambda _: Outcome.SUCCESS)
        except e.InvalidCredentials:
            # The guard's opaque refusal is a wrong password; on a code route it is a wrong code.
            raise e.CodeMismatch() from None

    async def _clear_login_failures(self, account: Account) -> None:
        guard = self.gate.guard
        base = self.gate.identity.user_key(account)
        for key in [base, *await self.gate.store.keys(base + SEP)]:
            await guard.record(guard.policy, key, None, Outcome.SUCCESS)

    # -- change password: the login's own guard ------------------------------------------------

    async def change_password(
        self,
        username: str,
        access_token: str,
        previous_password: str,
        proposed_password: str,
        client: ClientContext,
    ) -> None:
        """ChangePassword as a password check of the login's guard. ``username`` is the
        ``username`` claim of ``access_token``, which the caller has verified (signature,
        expiry, client): a forged token must not count failures against anyone."""
        _password(previous_password, "previousPassword")
        _password(proposed_password, "proposedPassword")
        await self.gate.start()
        account = self.gate.identity.account_of(username)
        await self.gate.guard.attempt(
            "change_password",
            account,
            client,
            lambda: self.gate.idp.change_password(
                access_token, previous_password, proposed_password
            ),
            lambda _: Outcome.SUCCESS,
        )

    # -- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _hash_name(account: Account) -> str:
        # SECRET_HASH is computed over the account's own username where it is known.
        return account.username or account.name

    def _event(
        self, kind: str, account: Account, client: ClientContext, outcome: str, **more: Any
    ) -> None:
        self.gate.guard.event(kind, account, client.ip, outcome, **more)
