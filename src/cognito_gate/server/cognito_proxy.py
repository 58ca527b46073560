"""``POST /cognito/``: Amplify refreshes through the gateway, speaking Cognito's JSON protocol.

Point ``CognitoUserPool({..., endpoint})`` (Amplify v5) or ``userPoolEndpoint`` (v6) at
``GATEWAY/cognito/``. Forwarded: refresh (InitiateAuth with REFRESH_TOKEN_AUTH from v5,
GetTokensFromRefreshToken from v6, with the device key Amplify sends: ``DEVICE_KEY`` /
``DeviceKey``), RevokeToken (Amplify's own sign-out), GetUser (v5 reads the user's attributes),
and the device calls Amplify makes with the access token (``rememberDevice``, ``forgetDevice``,
``fetchDevices``: UpdateDeviceStatus, ForgetDevice, ListDevices, GetDevice). Everything else is
refused, so this route never checks a password.
The gateway adds SECRET_HASH for clients with a secret, and refuses admin-locked and permanently
locked accounts with Cognito's own "User is disabled." so Amplify ends the session.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from cognito_gate import errors as e
from cognito_gate.answers import TokenAnswer
from cognito_gate.cognito.idp import CognitoError
from cognito_gate.gate import Gate

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
AMZ_JSON = "application/x-amz-json-1.1"
REFRESH_FLOWS = ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN")


def cognito_error(code: str, message: str, status: int = 400) -> JSONResponse:
    """An error in Cognito's wire format."""
    return JSONResponse(
        {"__type": code, "message": message},
        status_code=status,
        media_type=AMZ_JSON,
        headers={"x-amzn-errortype": code},
    )


def _from_gate_error(error: e.GateError) -> JSONResponse:
    if isinstance(error, e.AccountDisabled):
        return cognito_error("NotAuthorizedException", "User is disabled.")
    if isinstance(error, e.InvalidRefreshToken):
        return cognito_error("NotAuthorizedException", "Invalid Refresh Token")
    if isinstance(error, e.InvalidToken):
        return cognito_error("NotAuthorizedException", "Invalid Access Token")
    if isinstance(error, e.InvalidRequest):
        return cognito_error("InvalidParameterException", error.message)
    return cognito_error(
        "InternalErrorException", "Cognito is unavailable through the gateway.", 503
    )


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python recurses
        raise e.InvalidRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise e.InvalidRequest("the body must be a JSON object")
    return body


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise e.InvalidRequest(f"{name} is required")
    return value


def _refresh_answer(answer: TokenAnswer, operation: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "AccessToken": answer.tokens.access_token,
        "IdToken": answer.tokens.id_token,
        "ExpiresIn": answer.tokens.expires_in,
        "TokenType": answer.tokens.token_type,
    }
    if answer.tokens.refresh_token:
        result["RefreshToken"] = answer.tokens.refresh_token
    payload: dict[str, Any] = {"AuthenticationResult": result}
    if operation == "InitiateAuth":
        payload["ChallengeParameters"] = {}
    return payload


async def _refresh(gate: Gate, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    if operation == "InitiateAuth":
        if body.get("AuthFlow") not in REFRESH_FLOWS:
            raise _Refused(
                "Only REFRESH_TOKEN_AUTH goes through the gateway; log in at /auth/login."
            )
        params = body.get("AuthParameters") or {}
        if not isinstance(params, dict):
            raise e.InvalidRequest("AuthParameters must be an object")
        token = _string(params.get("REFRESH_TOKEN"), "REFRESH_TOKEN")
        device = params.get("DEVICE_KEY")
    else:
        token = _string(body.get("RefreshToken"), "RefreshToken")
        device = body.get("DeviceKey")
    answer = await gate.refresh(
        token,
        None,
        device if isinstance(device, str) and device else None,
        get_tokens=operation == "GetTokensFromRefreshToken",
    )
    return _refresh_answer(answer, operation)


async def _revoke(gate: Gate, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    # Amplify's own signOut() sends this; the gateway adds ClientSecret for a secret client.
    await gate.logout(_string(body.get("Token"), "Token"), everywhere=False, access_token=None)
    return {}


async def _get_user(gate: Gate, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    # Amplify v5's currentSession() reads the user's attributes with the access token.
    return await gate.user(_string(body.get("AccessToken"), "AccessToken"))


#: The fields of each device call that are forwarded (all of them, by Cognito's API).
DEVICE_FIELDS: dict[str, tuple[str, ...]] = {
    "UpdateDeviceStatus": ("AccessToken", "DeviceKey", "DeviceRememberedStatus"),
    "ForgetDevice": ("AccessToken", "DeviceKey"),
    "ListDevices": ("AccessToken", "Limit", "PaginationToken"),
    "GetDevice": ("AccessToken", "DeviceKey"),
}


def _wire(value: Any) -> Any:
    """A boto3 answer as Cognito's JSON says it (times as epoch seconds)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


async def _device(gate: Gate, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    # Authorized by the access token at Cognito; the gateway passes the call on unchanged.
    params = {k: body[k] for k in DEVICE_FIELDS[operation] if body.get(k) is not None}
    try:
        answer = await gate.idp.device_call(operation, params)
    except CognitoError as err:
        if err.code.endswith("Exception"):  # Cognito's own answer
            raise _Passed(err.code) from None
        raise err.error from None  # malformed here (422 -> 400), or Cognito unreachable (503)
    return {str(k): _wire(v) for k, v in answer.items()}


class _Refused(Exception):
    """A call this route does not forward."""


class _Passed(Exception):
    """Cognito refused a forwarded call: its code goes back as it is."""


Handler = Callable[[Gate, str, dict[str, Any]], Awaitable[dict[str, Any]]]

#: What goes through: refresh, revocation and reading the user. Nothing that checks a password.
OPERATIONS: dict[str, tuple[Handler, bool]] = {
    "InitiateAuth": (_refresh, True),
    "GetTokensFromRefreshToken": (_refresh, True),
    "RevokeToken": (_revoke, True),
    "GetUser": (_get_user, False),
    **dict.fromkeys(DEVICE_FIELDS, (_device, False)),
}


def cognito_proxy_router(gate: Gate) -> APIRouter:
    """The ``/cognito/`` route."""
    router = APIRouter(tags=["cognito"])

    @router.post("/cognito/")
    @router.post("/cognito", include_in_schema=False)
    async def cognito(request: Request) -> Response:
        operation = request.headers.get("x-amz-target", "").removeprefix(TARGET_PREFIX)
        if operation not in OPERATIONS:
            return cognito_error(
                "InvalidParameterException",
                "Only refresh (InitiateAuth REFRESH_TOKEN_AUTH, GetTokensFromRefreshToken),"
                " RevokeToken, GetUser and the device calls go through the gateway.",
            )
        handler, has_client = OPERATIONS[operation]
        try:
            await gate.start()
            body = _parse(await request.body())
            if has_client and body.get("ClientId") != gate.idp.client_id:
                return cognito_error(
                    "ResourceNotFoundException", "User pool client does not exist."
                )
            payload = await handler(gate, operation, body)
        except _Refused as refused:
            return cognito_error("InvalidParameterException", str(refused))
        except _Passed as passed:
            return cognito_error(str(passed), f"{passed} (Cognito's answer, through the gateway)")
        except e.GateError as error:
            return _from_gate_error(error)
        return JSONResponse(payload, media_type=AMZ_JSON, headers={"Cache-Control": "no-store"})

    return router
