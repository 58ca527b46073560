"""``POST /cognito/``: Amplify refreshes through the gateway, speaking Cognito's JSON protocol.

Point ``CognitoUserPool({..., endpoint})`` (Amplify v5) or ``userPoolEndpoint`` (v6) at
``GATEWAY/cognito/``. Only refresh is forwarded: InitiateAuth with REFRESH_TOKEN_AUTH (v5) and
GetTokensFromRefreshToken (v6). Everything else is refused, so this route never checks a password.
The gateway adds SECRET_HASH for clients with a secret, and refuses admin-locked and permanently
locked accounts with Cognito's own "User is disabled." so Amplify ends the session.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from cognito_gate import errors as e
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
    if isinstance(error, e.InvalidRequest):
        return cognito_error("InvalidParameterException", error.message)
    return cognito_error(
        "InternalErrorException", "Cognito is unavailable through the gateway.", 503
    )


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise e.InvalidRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise e.InvalidRequest("the body must be a JSON object")
    return body


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise e.InvalidRequest(f"{name} is required")
    return value


def cognito_proxy_router(gate: Gate) -> APIRouter:
    """The ``/cognito/`` route."""
    router = APIRouter(tags=["cognito"])

    @router.post("/cognito/")
    @router.post("/cognito", include_in_schema=False)
    async def cognito(request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        operation = target.removeprefix(TARGET_PREFIX)
        if operation not in ("InitiateAuth", "GetTokensFromRefreshToken"):
            return cognito_error(
                "InvalidParameterException",
                "Only InitiateAuth with REFRESH_TOKEN_AUTH and GetTokensFromRefreshToken go"
                " through the gateway.",
            )
        try:
            await gate.start()
            body = _parse(await request.body())
            if body.get("ClientId") != gate.idp.client_id:
                return cognito_error(
                    "ResourceNotFoundException", "User pool client does not exist."
                )
            if operation == "InitiateAuth":
                if body.get("AuthFlow") not in REFRESH_FLOWS:
                    return cognito_error(
                        "InvalidParameterException",
                        "Only REFRESH_TOKEN_AUTH goes through the gateway; log in at /auth/login.",
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
        except e.GateError as error:
            return _from_gate_error(error)
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
        return JSONResponse(payload, media_type=AMZ_JSON, headers={"Cache-Control": "no-store"})

    return router
