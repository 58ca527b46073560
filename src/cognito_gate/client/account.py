"""Account flows through the gateway: sign up, confirm, resend a code, reset and change a password.

Each call is built once, without I/O (:class:`FlowCall`), and sent by a thin sync or async driver.
None is retried: a code or a password sent twice would count twice towards a lockout, and a code
requested twice would spend the account's budget of codes.

::

    from cognito_gate.client import sign_up, confirm_sign_up, forgot_password

    sign_up(URL, "alice", "Str0ng-pass!", {"email": "alice@example.com"})
    confirm_sign_up(URL, "alice", "123456")          # the code from the email
    forgot_password(URL, "alice")                    # the same answer for every name
    confirm_forgot_password(URL, "alice", "654321", "N3w-pass!")
    change_password(user, "N3w-pass!", "N3wer-pass!")  # a signed-in CognitoUser
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from cognito_gate.client import wire
from cognito_gate.client.errors import GatewayUnavailable, UnexpectedResponse
from cognito_gate.client.user import CognitoUser

T = TypeVar("T")


@dataclass(frozen=True)
class CodeDelivery:
    """Where Cognito sent a code, masked as Cognito shows it (``a***@e***``, ``EMAIL``)."""

    destination: str
    delivery_medium: str
    attribute_name: str


@dataclass(frozen=True)
class SignUpResult:
    """``POST /auth/signup``'s answer: confirmed already (a pre-sign-up trigger may do that),
    the user's ``sub``, and where the confirmation code went (None when none was sent)."""

    user_confirmed: bool
    user_sub: str
    code_delivery: CodeDelivery | None


@dataclass(frozen=True)
class FlowCall:
    """One request to the gateway and how to read its answer."""

    request: httpx.Request
    parse: Callable[[httpx.Response], Any]


def _empty(secrets: tuple[str | None, ...]) -> Callable[[httpx.Response], None]:
    def parse(response: httpx.Response) -> None:
        if not response.is_success:
            raise wire.gateway_error(response, secrets)

    return parse


def _sign_up_result(secrets: tuple[str | None, ...]) -> Callable[[httpx.Response], SignUpResult]:
    def parse(response: httpx.Response) -> SignUpResult:
        body = wire.parse_gateway_json(response, secrets)
        sub = body.get("userSub")
        if not isinstance(sub, str):
            raise UnexpectedResponse("the gateway's sign-up answer has no userSub")
        details = body.get("codeDeliveryDetails")
        delivery = None
        if isinstance(details, dict):
            delivery = CodeDelivery(
                str(details.get("destination") or ""),
                str(details.get("deliveryMedium") or ""),
                str(details.get("attributeName") or ""),
            )
        return SignUpResult(body.get("userConfirmed") is True, sub, delivery)

    return parse


# -- the calls, built without I/O ------------------------------------------------------------------


def sign_up_call(
    gateway_url: str, username: str, password: str, attributes: Mapping[str, str] | None = None
) -> FlowCall:
    """``POST /auth/signup``."""
    body = {"username": username, "password": password, "attributes": dict(attributes or {})}
    request = wire.gateway_request(gateway_url, "/auth/signup", body)
    return FlowCall(request, _sign_up_result((password,)))


def confirm_sign_up_call(gateway_url: str, username: str, code: str) -> FlowCall:
    """``POST /auth/confirm-signup``."""
    body = {"username": username, "code": code}
    return FlowCall(
        wire.gateway_request(gateway_url, "/auth/confirm-signup", body), _empty((code,))
    )


def resend_code_call(gateway_url: str, username: str) -> FlowCall:
    """``POST /auth/resend-code``."""
    body = {"username": username}
    return FlowCall(wire.gateway_request(gateway_url, "/auth/resend-code", body), _empty(()))


def forgot_password_call(gateway_url: str, username: str) -> FlowCall:
    """``POST /auth/forgot-password``."""
    body = {"username": username}
    return FlowCall(wire.gateway_request(gateway_url, "/auth/forgot-password", body), _empty(()))


def confirm_forgot_password_call(
    gateway_url: str, username: str, code: str, new_password: str
) -> FlowCall:
    """``POST /auth/confirm-forgot-password``."""
    body = {"username": username, "code": code, "newPassword": new_password}
    request = wire.gateway_request(gateway_url, "/auth/confirm-forgot-password", body)
    return FlowCall(request, _empty((code, new_password)))


def change_password_call(
    gateway_url: str, access_token: str, previous_password: str, proposed_password: str
) -> FlowCall:
    """``POST /auth/change-password`` with the user's access token."""
    body = {"previousPassword": previous_password, "proposedPassword": proposed_password}
    request = wire.gateway_request(gateway_url, "/auth/change-password", body, bearer=access_token)
    return FlowCall(request, _empty((access_token, previous_password, proposed_password)))


# -- the drivers -----------------------------------------------------------------------------------


def _send(call: FlowCall, http_client: httpx.Client | None, timeout: float) -> Any:
    client = http_client or httpx.Client(timeout=timeout)
    try:
        return wire.send(client, call.request, call.parse, unavailable=GatewayUnavailable)
    finally:
        if http_client is None:
            client.close()


async def _asend(call: FlowCall, http_client: httpx.AsyncClient | None, timeout: float) -> Any:
    client = http_client or httpx.AsyncClient(timeout=timeout)
    try:
        return await wire.asend(client, call.request, call.parse, unavailable=GatewayUnavailable)
    finally:
        if http_client is None:
            await client.aclose()


def _base(url: str) -> str:
    return url.rstrip("/")


def sign_up(
    gateway_url: str,
    username: str,
    password: str,
    attributes: Mapping[str, str] | None = None,
    *,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> SignUpResult:
    """Sign up; Cognito sends a confirmation code (see :attr:`SignUpResult.code_delivery`).
    Raises ``UsernameExists``, ``InvalidPassword`` (with the pool's rule), ``TooManyRequests``."""
    call = sign_up_call(_base(gateway_url), username, password, attributes)
    result: SignUpResult = _send(call, http_client, timeout)
    return result


async def asign_up(
    gateway_url: str,
    username: str,
    password: str,
    attributes: Mapping[str, str] | None = None,
    *,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
) -> SignUpResult:
    """:func:`sign_up` for asyncio."""
    call = sign_up_call(_base(gateway_url), username, password, attributes)
    result: SignUpResult = await _asend(call, http_client, timeout)
    return result


def confirm_sign_up(
    gateway_url: str,
    username: str,
    code: str,
    *,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> None:
    """Confirm a sign-up with its code. Raises ``CodeMismatch``, ``ExpiredCode``, and
    ``AccountLocked`` after too many wrong codes."""
    _send(confirm_sign_up_call(_base(gateway_url), username, code.strip()), http_client, timeout)


async def aconfirm_sign_up(
    gateway_url: str,
    username: str,
    code: str,
    *,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
) -> None:
    """:func:`confirm_sign_up` for asyncio."""
    call = confirm_sign_up_call(_base(gateway_url), username, code.strip())
    await _asend(call, http_client, timeout)


def resend_code(
    gateway_url: str,
    username: str,
    *,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> None:
    """Ask for a new sign-up code (the gateway answers the same whoever the name is)."""
    _send(resend_code_call(_base(gateway_url), username), http_client, timeout)


async def aresend_code(
    gateway_url: str,
    username: str,
    *,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
) -> None:
    """:func:`resend_code` for asyncio."""
    await _asend(resend_code_call(_base(gateway_url), username), http_client, timeout)


def forgot_password(
    gateway_url: str,
    username: str,
    *,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> None:
    """Ask for a reset code (the gateway answers the same whoever the name is)."""
    _send(forgot_password_call(_base(gateway_url), username), http_client, timeout)


async def aforgot_password(
    gateway_url: str,
    username: str,
    *,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
) -> None:
    """:func:`forgot_password` for asyncio."""
    await _asend(forgot_password_call(_base(gateway_url), username), http_client, timeout)


def confirm_forgot_password(
    gateway_url: str,
    username: str,
    code: str,
    new_password: str,
    *,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> None:
    """Set a new password with a reset code; the account's failed logins and temporary lockout
    are cleared. Raises ``CodeMismatch``, ``ExpiredCode``, ``InvalidPassword``."""
    call = confirm_forgot_password_call(_base(gateway_url), username, code.strip(), new_password)
    _send(call, http_client, timeout)


async def aconfirm_forgot_password(
    gateway_url: str,
    username: str,
    code: str,
    new_password: str,
    *,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
) -> None:
    """:func:`confirm_forgot_password` for asyncio."""
    call = confirm_forgot_password_call(_base(gateway_url), username, code.strip(), new_password)
    await _asend(call, http_client, timeout)


def _gateway_of(user: CognitoUser, gateway_url: str | None) -> str:
    url = gateway_url or user.pool.gateway_url
    if not url:
        raise UnexpectedResponse(
            "this session came from no gateway: pass gateway_url to change the password"
        )
    return _base(url)


def change_password(
    user: CognitoUser,
    previous_password: str,
    proposed_password: str,
    *,
    gateway_url: str | None = None,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> None:
    """Change a signed-in user's password at the gateway the session came from. A wrong
    ``previous_password`` counts as a failed login (``InvalidCredentials``)."""
    url = _gateway_of(user, gateway_url)
    token = user.get_session(min_ttl=30).access_token.jwt_token
    call = change_password_call(url, token, previous_password, proposed_password)
    _send(call, http_client, timeout)


async def achange_password(
    user: CognitoUser,
    previous_password: str,
    proposed_password: str,
    *,
    gateway_url: str | None = None,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
) -> None:
    """:func:`change_password` for asyncio."""
    url = _gateway_of(user, gateway_url)
    token = (await user.aget_session(min_ttl=30)).access_token.jwt_token
    call = change_password_call(url, token, previous_password, proposed_password)
    await _asend(call, http_client, timeout)
