"""``/auth/*`` account flows: sign-up, confirmation, resend code, password reset, change password.

Mounted by :func:`cognito_gate.server.routes.gate_router`; the logic is in
:mod:`cognito_gate.flows`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from cognito_gate import errors as e
from cognito_gate.flows import Flows
from cognito_gate.gate import Gate
from cognito_gate.server.deps import access_verifier, bearer, client_context
from cognito_gate.server.flow_schemas import (
    ChangePasswordBody,
    ConfirmForgotPasswordBody,
    ConfirmSignUpBody,
    SignUpBody,
    UsernameBody,
)
from cognito_gate.server.problems import GateRoute
from cognito_gate.verify import Claims
from cognito_gate.verify.fastapi import bearer_claims

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: The one answer of forgot-password and resend-code, whoever the name belongs to (or nobody).
SENT = {"message": "If an account with that name can receive a code, a code has been sent to it."}


def _sent() -> JSONResponse:
    return JSONResponse(SENT, status_code=202, headers=NO_STORE)


def _done() -> Response:
    return Response(status_code=204, headers=NO_STORE)


def flow_router(gate: Gate, flows: Flows | None = None) -> APIRouter:
    """``POST /auth/signup``, ``/confirm-signup``, ``/resend-code``, ``/forgot-password``,
    ``/confirm-forgot-password`` and ``/change-password``."""
    router = APIRouter(prefix="/auth", route_class=GateRoute, tags=["account flows"])
    flows = flows or Flows(gate)
    verified = bearer_claims(access_verifier(gate))

    @router.post("/signup", status_code=201)
    async def signup(body: SignUpBody, request: Request) -> JSONResponse:
        client = client_context(request, gate.settings)
        answer = await flows.sign_up(body.username, body.password, body.attributes, client)
        return JSONResponse(answer.to_json(), status_code=201, headers=NO_STORE)

    @router.post("/confirm-signup", status_code=204)
    async def confirm_signup(body: ConfirmSignUpBody, request: Request) -> Response:
        client = client_context(request, gate.settings)
        await flows.confirm_sign_up(body.username, body.code, client)
        return _done()

    @router.post("/resend-code", status_code=202)
    async def resend_code(body: UsernameBody, request: Request) -> JSONResponse:
        await flows.resend_code(body.username, client_context(request, gate.settings))
        return _sent()

    @router.post("/forgot-password", status_code=202)
    async def forgot_password(body: UsernameBody, request: Request) -> JSONResponse:
        await flows.forgot_password(body.username, client_context(request, gate.settings))
        return _sent()

    @router.post("/confirm-forgot-password", status_code=204)
    async def confirm_forgot_password(
        body: ConfirmForgotPasswordBody, request: Request
    ) -> Response:
        client = client_context(request, gate.settings)
        await flows.confirm_forgot_password(body.username, body.code, body.new_password, client)
        return _done()

    @router.post("/change-password", status_code=204)
    async def change_password(
        body: ChangePasswordBody, request: Request, claims: Claims = Depends(verified)
    ) -> Response:
        token = bearer(request)
        username = claims.get("username")
        if token is None or not isinstance(username, str) or not username:
            raise e.InvalidToken()
        await flows.change_password(
            username,
            token,
            body.previous_password,
            body.proposed_password,
            client_context(request, gate.settings),
        )
        return _done()

    return router
