"""Confirmation and reset codes on the embedded emulator, issued and checked as Cognito does them.

moto confirms a sign-up whatever code it is given, has no ``ResendConfirmationCode``, and hands
the forgot-password code out in a response header (``x-moto-forgot-password-confirmation-code``)
while accepting any other string. Here, instead:

- ``SignUp`` sends a 6-digit code to the attribute the pool verifies automatically
  (``AutoVerifiedAttributes``: the phone first, then the email, as Cognito prefers), and answers
  where it went; a pool that verifies nothing sends none (an admin confirms such users);
- ``ResendConfirmationCode`` sends a new code to an unconfirmed user (the old one then answers
  ``ExpiredCodeException``); a confirmed user gets ``InvalidParameterException``;
- ``ForgotPassword`` sends a reset code to a verified email or phone (``AccountRecoverySetting``
  decides which first); without one, ``InvalidParameterException``; no header carries the code;
- ``ConfirmSignUp`` and ``ConfirmForgotPassword`` take the newest code of that user and purpose
  once, within its lifetime (24 hours for sign-up, 1 hour for a reset):
  ``CodeMismatchException`` for a wrong code, ``ExpiredCodeException`` for a used, superseded
  or expired one. The new password is held to the pool's policy before the code is looked at;
- an unknown user gets, where the app client has ``PreventUserExistenceErrors: ENABLED``, what
  Cognito gives: a simulated delivery for ``ForgotPassword`` and ``ResendConfirmationCode``, and
  ``CodeMismatchException`` for the two confirmations; else ``UserNotFoundException``;
- an unconfirmed user's right password gets ``UserNotConfirmedException`` at
  ``AdminInitiateAuth`` (moto issued tokens), so a sign-up is of no use until it is confirmed;
- ``ChangePassword`` and password-policy refusals speak Cognito's words ("Incorrect username or
  password.", "Access Token has been revoked", "Password did not conform with policy: ...")
  instead of moto's (which put the username or the token itself in the message).

Codes are "delivered" to the log (``cognito_gate.cognito.local``, INFO) and to :data:`MAILBOX`,
which ``GET /dev/codes`` reads on the embedded default. Nothing here runs against a real pool.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("cognito_gate.cognito.local")

SIGNUP = "signup"
RESET = "reset"
#: How long a code can be used, in seconds, as Cognito keeps them.
LIFETIME = {SIGNUP: 24 * 3600.0, RESET: 3600.0}
#: Codes kept per pool for ``GET /dev/codes``, and spent codes remembered per user and purpose.
MAILBOX_SIZE = 200
SPENT_SIZE = 20

MISMATCH = "Invalid verification code provided, please try again."
EXPIRED = "Invalid code provided, please request a code again."
SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")


@dataclass(frozen=True)
class Delivery:
    """One code "sent": to whom, for what, where, and when."""

    pool_id: str
    username: str
    purpose: str
    code: str
    destination: str
    medium: str
    attribute: str
    sent_at: float

    def details(self) -> dict[str, str]:
        """Cognito's ``CodeDeliveryDetails``."""
        return {
            "Destination": self.destination,
            "DeliveryMedium": self.medium,
            "AttributeName": self.attribute,
        }

    def to_json(self) -> dict[str, Any]:
        """What ``GET /dev/codes`` shows of it."""
        return {
            "username": self.username,
            "purpose": self.purpose,
            "code": self.code,
            "destination": self.destination,
            "deliveryMedium": self.medium,
            "sentAt": self.sent_at,
        }


class CodeError(Exception):
    """A code check failed: ``kind`` is ``mismatch`` or ``expired``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Codes:
    """The codes the emulator has sent, and the ones used up (thread-safe: moto's server runs a
    thread per request)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str, str], Delivery] = {}
        self._spent: dict[tuple[str, str, str], deque[str]] = {}
        self._mailbox: dict[str, deque[Delivery]] = {}

    def issue(self, pool_id: str, username: str, purpose: str, details: dict[str, str]) -> Delivery:
        """A new code for ``username``'s ``purpose`` (never one of its earlier ones); the previous
        one is spent."""
        key = (pool_id, username, purpose)
        with self._lock:
            old = self._active.get(key)
            if old is not None:
                self._retire(key, old.code)
            spent = self._spent.get(key, ())
            code = f"{secrets.randbelow(1_000_000):06d}"
            while code in spent:
                code = f"{secrets.randbelow(1_000_000):06d}"
            delivery = Delivery(
                pool_id=pool_id,
                username=username,
                purpose=purpose,
                code=code,
                destination=details["Destination"],
                medium=details["DeliveryMedium"],
                attribute=details["AttributeName"],
                sent_at=self.clock(),
            )
            self._active[key] = delivery
            self._mailbox.setdefault(pool_id, deque(maxlen=MAILBOX_SIZE)).append(delivery)
        kind = "sign-up" if purpose == SIGNUP else "password reset"
        logger.info(
            "emulator: %s code for %s (%s %s): %s",
            kind,
            username,
            delivery.medium.lower(),
            delivery.destination,
            delivery.code,
        )
        return delivery

    def use(self, pool_id: str, username: str, purpose: str, code: str) -> None:
        """Spend ``code`` if it is the user's current one; else raise :class:`CodeError`."""
        key = (pool_id, username, purpose)
        with self._lock:
            active = self._active.get(key)
            if active is not None and hmac.compare_digest(active.code, code):
                del self._active[key]
                self._retire(key, code)
                if self.clock() - active.sent_at > LIFETIME[purpose]:
                    raise CodeError("expired")
                return
            if code in self._spent.get(key, ()):
                raise CodeError("expired")
        raise CodeError("mismatch")

    def _retire(self, key: tuple[str, str, str], code: str) -> None:
        self._spent.setdefault(key, deque(maxlen=SPENT_SIZE)).append(code)

    def delivered(self, pool_id: str, username: str | None = None) -> list[Delivery]:
        """The codes sent in ``pool_id`` (to ``username`` only, when given), newest first."""
        with self._lock:
            sent = list(self._mailbox.get(pool_id, ()))
        return [d for d in reversed(sent) if username is None or d.username == username]


#: The emulator's codes, for the whole process (moto's backends are process-wide too).
MAILBOX = Codes()


def latest_code(pool_id: str, username: str, purpose: str | None = None) -> str:
    """The newest code sent to ``username`` (an account's own username) in ``pool_id``."""
    for delivery in MAILBOX.delivered(pool_id, username):
        if purpose is None or delivery.purpose == purpose:
            return delivery.code
    raise LookupError(f"no {purpose or ''} code was sent to {username}")


# -- where codes go ----------------------------------------------------------------------------


def mask_email(email: str) -> str:
    """``a***@e***``, as Cognito shows where a code went."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def mask_phone(phone: str) -> str:
    """``+*******4567``."""
    return f"+{'*' * max(0, len(phone) - 5)}{phone[-4:]}"


def _details(attribute: str, value: str) -> dict[str, str]:
    if attribute == "phone_number":
        return {
            "Destination": mask_phone(value),
            "DeliveryMedium": "SMS",
            "AttributeName": attribute,
        }
    return {"Destination": mask_email(value), "DeliveryMedium": "EMAIL", "AttributeName": attribute}


def _attrs(user: Any) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in user.attributes}


def signup_destination(pool: Any, user: Any) -> dict[str, str] | None:
    """Where a sign-up code goes: an attribute the pool verifies automatically (phone first)."""
    auto = pool.extended_config.get("AutoVerifiedAttributes") or []
    attrs = _attrs(user)
    for attribute in ("phone_number", "email"):
        if attribute in auto and attrs.get(attribute):
            return _details(attribute, attrs[attribute])
    return None


def reset_destination(pool: Any, user: Any) -> dict[str, str] | None:
    """Where a reset code goes: a verified email or phone, in ``AccountRecoverySetting``'s order
    (legacy default: the phone first). ``admin_only`` comes back as ``{}``."""
    setting = pool.extended_config.get("AccountRecoverySetting") or {}
    mechanisms = sorted(setting.get("RecoveryMechanisms") or [], key=lambda m: m["Priority"])
    names = [m["Name"] for m in mechanisms] or ["verified_phone_number", "verified_email"]
    if names[0] == "admin_only":
        return {}
    attrs = _attrs(user)
    for name in names:
        attribute = {"verified_phone_number": "phone_number", "verified_email": "email"}.get(name)
        if attribute and attrs.get(attribute) and attrs.get(f"{attribute}_verified") == "true":
            return _details(attribute, attrs[attribute])
    return None


def simulated_destination(username: str) -> dict[str, str]:
    """The delivery Cognito pretends for a user that does not exist."""
    return {
        "Destination": f"{username[:1] or 'x'}***@e***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }


# -- the patches ---------------------------------------------------------------------------------


def password_problem(policy: dict[str, Any], password: str) -> str | None:
    """Cognito's words for the first rule ``password`` breaks, None when it keeps them all."""
    if len(password) < int(policy.get("MinimumLength", 8)):
        return "Password not long enough"
    if policy.get("RequireLowercase", True) and not re.search(r"[a-z]", password):
        return "Password must have lowercase characters"
    if policy.get("RequireUppercase", True) and not re.search(r"[A-Z]", password):
        return "Password must have uppercase characters"
    if policy.get("RequireNumbers", True) and not re.search(r"\d", password):
        return "Password must have numeric characters"
    if policy.get("RequireSymbols", True) and not any(c in SYMBOLS for c in password):
        return "Password must have symbol characters"
    return None


def install_codes() -> None:
    """Patch moto's Cognito (backend and responses) as the module docstring says."""
    from moto.cognitoidp import models
    from moto.cognitoidp.exceptions import (
        CodeMismatchException,
        ExpiredCodeException,
        InvalidParameterException,
        NotAuthorizedError,
        ResourceNotFoundError,
        UserNotConfirmedException,
        UserNotFoundError,
    )
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult, EmptyResult

    backend_cls = models.CognitoIdpBackend
    confirmed = models.UserStatus.CONFIRMED
    unconfirmed = models.UserStatus.UNCONFIRMED
    original_sign_up = backend_cls.sign_up
    original_admin_auth = backend_cls.admin_initiate_auth
    password_flows = ("ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH")

    def pool_of(backend: Any, client_id: str) -> Any:
        for pool in backend.user_pools.values():
            if client_id in pool.clients:
                return pool
        raise ResourceNotFoundError(client_id)

    def hides_users(pool: Any, client_id: str) -> bool:
        client = pool.clients[client_id]
        return bool(client.extended_config.get("PreventUserExistenceErrors") == "ENABLED")

    def code_error(err: CodeError) -> Exception:
        if err.kind == "expired":
            return ExpiredCodeException(EXPIRED)
        return CodeMismatchException(MISMATCH)

    def validate_password(self: Any, user_pool_id: str, password: str) -> None:
        pool = self.describe_user_pool(user_pool_id)
        policy = pool.extended_config.get("Policies", {}).get("PasswordPolicy", {})
        problem = password_problem(policy, password)
        if problem is not None:
            raise JsonRESTError(
                "InvalidPasswordException", f"Password did not conform with policy: {problem}"
            )

    def sign_up(
        self: Any, client_id: str, username: str, password: str, attributes: list[dict[str, str]]
    ) -> tuple[Any, Any]:
        user, _ = original_sign_up(self, client_id, username, password, attributes)
        pool = pool_of(self, client_id)
        details = signup_destination(pool, user)
        if details is None:
            return user, None
        return user, MAILBOX.issue(pool.id, user.username, SIGNUP, details).details()

    def confirm_sign_up(self: Any, client_id: str, username: str, code: str | None = None) -> str:
        pool = pool_of(self, client_id)
        user = pool._get_user(username)
        if user is None:
            if hides_users(pool, client_id):
                raise CodeMismatchException(MISMATCH)
            raise UserNotFoundError("Username/client id combination not found.")
        if user.status == confirmed:
            raise NotAuthorizedError("User cannot be confirmed. Current status is CONFIRMED")
        try:
            MAILBOX.use(pool.id, user.username, SIGNUP, str(code or ""))
        except CodeError as err:
            raise code_error(err) from None
        user.status = confirmed
        verified = signup_destination(pool, user)
        if verified is not None:
            user.update_attributes(
                [{"Name": f"{verified['AttributeName']}_verified", "Value": "true"}]
            )
        return ""

    def resend_confirmation_code(self: Any, client_id: str, username: str) -> dict[str, str]:
        pool = pool_of(self, client_id)
        user = pool._get_user(username)
        if user is None:
            if hides_users(pool, client_id):
                return simulated_destination(username)
            raise UserNotFoundError("Username/client id combination not found.")
        if user.status != unconfirmed:
            raise InvalidParameterException("User is already confirmed.")
        details = signup_destination(pool, user)
        if details is None:
            raise InvalidParameterException("No verifiable attribute to send a code to.")
        return MAILBOX.issue(pool.id, user.username, SIGNUP, details).details()

    def forgot_password(self: Any, client_id: str, username: str) -> tuple[None, dict[str, Any]]:
        pool = pool_of(self, client_id)
        user = pool._get_user(username)
        if user is None:
            if hides_users(pool, client_id):
                return None, {"CodeDeliveryDetails": simulated_destination(username)}
            raise UserNotFoundError("Username/client id combination not found.")
        details = reset_destination(pool, user)
        if details == {}:
            raise NotAuthorizedError("Contact administrator to reset password.")
        if details is None:
            raise InvalidParameterException(
                "Cannot reset password for the user as there is no registered/verified email"
                " or phone_number"
            )
        delivery = MAILBOX.issue(pool.id, user.username, RESET, details)
        return None, {"CodeDeliveryDetails": delivery.details()}

    def confirm_forgot_password(
        self: Any, client_id: str, username: str, password: str, confirmation_code: str
    ) -> None:
        pool = pool_of(self, client_id)
        self._validate_password(pool.id, password)
        user = pool._get_user(username)
        if user is None:
            if hides_users(pool, client_id):
                raise CodeMismatchException(MISMATCH)
            raise UserNotFoundError("Username/client id combination not found.")
        try:
            MAILBOX.use(pool.id, user.username, RESET, str(confirmation_code or ""))
        except CodeError as err:
            raise code_error(err) from None
        user.password = password
        if user.status == models.UserStatus.RESET_REQUIRED:
            user.status = confirmed

    def admin_initiate_auth(
        self: Any, user_pool_id: str, client_id: str, auth_flow: str, params: dict[str, str]
    ) -> Any:
        if auth_flow in password_flows:
            pool = self.describe_user_pool(user_pool_id)
            user = pool._get_user(params.get("USERNAME"))
            if (
                user is not None
                and user.enabled
                and user.status == unconfirmed
                and user.password == params.get("PASSWORD")
            ):
                raise UserNotConfirmedException("User is not confirmed.")
        return original_admin_auth(self, user_pool_id, client_id, auth_flow, params)

    def change_password(self: Any, access_token: str, previous: str, proposed: str) -> None:
        for pool in self.user_pools.values():
            if access_token in pool.access_tokens:
                self._validate_password(pool.id, proposed)
                _, username = pool.access_tokens[access_token]
                user = self.admin_get_user(pool.id, username)
                if user.password != previous:
                    raise NotAuthorizedError("Incorrect username or password.")
                user.password = proposed
                if user.status in (
                    models.UserStatus.FORCE_CHANGE_PASSWORD,
                    models.UserStatus.RESET_REQUIRED,
                ):
                    user.status = confirmed
                return
        raise NotAuthorizedError("Access Token has been revoked")

    patches: tuple[tuple[str, Callable[..., Any]], ...] = (
        ("_validate_password", validate_password),
        ("sign_up", sign_up),
        ("confirm_sign_up", confirm_sign_up),
        ("resend_confirmation_code", resend_confirmation_code),
        ("forgot_password", forgot_password),
        ("confirm_forgot_password", confirm_forgot_password),
        ("change_password", change_password),
        ("admin_initiate_auth", admin_initiate_auth),
    )
    for name, patched in patches:
        setattr(backend_cls, name, patched)

    # -- the response side: pass the code on, add the missing call, and no code in a header ----

    def backend_for(response: Any, client_id: str) -> Any:
        return response._get_region_agnostic_backend()._find_backend_for_clientid(client_id)

    def confirm_sign_up_response(self: Any) -> Any:
        client_id = self._get_param("ClientId")
        backend_for(self, client_id).confirm_sign_up(
            client_id, self._get_param("Username"), self._get_param("ConfirmationCode")
        )
        return EmptyResult()

    def resend_response(self: Any) -> Any:
        client_id = self._get_param("ClientId")
        details = backend_for(self, client_id).resend_confirmation_code(
            client_id, self._get_param("Username")
        )
        return ActionResult({"CodeDeliveryDetails": details})

    def forgot_password_response(self: Any) -> Any:
        client_id = self._get_param("ClientId")
        _, answer = backend_for(self, client_id).forgot_password(
            client_id, self._get_param("Username")
        )
        return ActionResult(answer)

    responses: tuple[tuple[str, Callable[..., Any]], ...] = (
        ("confirm_sign_up", confirm_sign_up_response),
        ("resend_confirmation_code", resend_response),
        ("forgot_password", forgot_password_response),
    )
    for name, patched in responses:
        setattr(CognitoIdpResponse, name, patched)
