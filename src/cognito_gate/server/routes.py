"""The gateway's routes, as routers a team can mount in its own FastAPI app."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from cognito_gate import errors as e
from cognito_gate.admin import Admin
from cognito_gate.answers import TokenAnswer
from cognito_gate.cognito.idp import Challenge, CognitoError
from cognito_gate.gate import Gate
from cognito_gate.server.deps import AdminCheck, access_verifier, bearer, client_context
from cognito_gate.server.flow_routes import flow_router
from cognito_gate.server.problems import GateRoute
from cognito_gate.server.schemas import ChallengeBody, LoginBody, LogoutBody, RefreshBody
from cognito_gate.verify import Claims
from cognito_gate.verify.fastapi import bearer_claims

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _answer(result: TokenAnswer | Challenge) -> JSONResponse:
    if isinstance(result, Challenge):
        body: dict[str, Any] = {
            "challengeName": result.name,
            "session": result.session,
            "challengeParameters": result.parameters,
        }
        if result.forget_device:
            body["forgetDevice"] = True
    else:
        body = result.to_json()
    return JSONResponse(body, headers=NO_STORE)


def auth_router(gate: Gate) -> APIRouter:
    """``/auth/*``: login, challenge, refresh, logout, config, me."""
    router = APIRouter(prefix="/auth", route_class=GateRoute, tags=["auth"])
    verified = bearer_claims(access_verifier(gate))

    @router.get("/me")
    async def me(claims: Claims = Depends(verified)) -> Claims:
        return claims

    @router.post("/login")
    async def login(body: LoginBody, request: Request) -> JSONResponse:
        await gate.start()
        client = client_context(request, gate.settings)
        return _answer(
            await gate.login(
                body.username, body.password, client, body.device_key, body.remember_device
            )
        )

    @router.post("/challenge")
    async def challenge(body: ChallengeBody, request: Request) -> JSONResponse:
        await gate.start()
        client = client_context(request, gate.settings)
        result = await gate.respond(
            body.username,
            body.challenge_name,
            body.session,
            body.responses,
            client,
            body.remember_device,
        )
        return _answer(result)

    @router.post("/refresh")
    async def refresh(body: RefreshBody) -> JSONResponse:
        await gate.start()
        return _answer(await gate.refresh(body.refresh_token, body.username, body.device_key))

    @router.post("/logout", status_code=204)
    async def logout(body: LogoutBody, request: Request) -> Response:
        await gate.start()
        await gate.logout(body.refresh_token, body.everywhere, bearer(request))
        return Response(status_code=204)

    @router.get("/config")
    async def config() -> dict[str, Any]:
        await gate.start()
        return {
            "userPoolId": gate.idp.user_pool_id,
            "clientId": gate.idp.client_id,
            "region": gate.idp.region,
            "cognitoEndpoint": gate.idp.endpoint,
            "clientHasSecret": gate.idp.has_secret,
            "deviceRemembering": gate.device_remembering,
            "deviceRememberingMode": gate.device_mode,
            "warnings": [f.message for f in gate.findings if f.severity != "info"],
        }

    return router


def _account_name(request: Request, routed: str, suffix: tuple[str, ...] = ()) -> str:
    """The ``{username}`` segment of ``/admin/accounts/{username}[/suffix]``, decoded alone.

    A username may hold ``/`` (Cognito allows it), sent as ``%2F``; the server decodes the path
    before routing, so the routes take the rest of the path and the name is read again from the
    raw path: the segment before ``suffix``, percent-decoded by itself. A path whose raw segments
    do not have that shape (``a/b`` sent unencoded, ``a%2Flock`` posted as if it were ``a/lock``)
    names no account route: 404.
    """
    raw = request.scope.get("raw_path")
    if not isinstance(raw, bytes):  # a server that gives no raw path: trust the routing
        return routed
    segments = raw.decode("latin-1").split("?", 1)[0].split("/")
    size = len(suffix)
    if (
        len(segments) < size + 3
        or tuple(segments[len(segments) - size :]) != suffix
        or segments[-size - 2] != "accounts"
        or not segments[-size - 1]
    ):
        raise e.NotFound()
    return unquote(segments[-size - 1])


def admin_router(gate: Gate) -> APIRouter:
    """``/admin/*``: account status, lock, unlock, and the event log (admin bearer token).

    The token is checked by the router itself (:class:`~cognito_gate.server.deps.AdminCheck`),
    before any parameter: without it every admin request is 401, and an address that keeps
    failing it is throttled. ``{username}`` is percent-encoded (``a%2Fb`` for ``a/b``).
    """
    router = APIRouter(
        prefix="/admin",
        route_class=GateRoute,
        tags=["admin"],
        dependencies=[Depends(AdminCheck(gate))],
    )
    admin = Admin(gate)

    @router.get("/accounts/{username:path}")
    async def status(username: str, request: Request) -> dict[str, Any]:
        found = await admin.status(_account_name(request, username))
        if found is None:
            raise e.NotFound("The store holds nothing for that username.")
        return found.to_json()

    @router.post("/accounts/{username:path}/unlock", status_code=204)
    async def unlock(username: str, request: Request) -> Response:
        await admin.unlock(_account_name(request, username, ("unlock",)))
        return Response(status_code=204)

    @router.post("/accounts/{username:path}/lock", status_code=204)
    async def lock(username: str, request: Request) -> Response:
        await admin.lock(_account_name(request, username, ("lock",)))
        return Response(status_code=204)

    @router.get("/events")
    async def events(
        username: str | None = None,
        limit: int = Query(50, ge=1, le=1000),
    ) -> dict[str, Any]:
        return {"events": await admin.events(username or None, limit)}

    return router


class _Readiness:
    """Cognito is asked at most once per ``ttl`` seconds, so /readyz cannot be used to flood it."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._checked = 0.0
        self._error: e.GateError | None = None

    async def cognito(self, gate: Gate) -> e.GateError | None:
        now = time.monotonic()
        if now - self._checked >= self.ttl:
            self._checked = now
            try:
                await gate.idp.describe_pool()
                self._error = None
            except CognitoError as err:
                self._error = err.error
        return self._error


def ops_router(gate: Gate) -> APIRouter:
    """``/healthz``, ``/readyz``, ``/metrics``."""
    router = APIRouter(route_class=GateRoute, tags=["ops"])
    readiness = _Readiness()

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> dict[str, str]:
        try:
            await gate.store.ping()
        except e.StoreUnavailable:
            raise e.StoreUnavailable("The lockout store is unreachable.") from None
        failed = await readiness.cognito(gate)
        if failed is not None:
            raise e.CognitoUnavailable("Cognito is unreachable.")
        return {"status": "ready"}

    @router.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            gate.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    return router


def gate_router(gate: Gate) -> APIRouter:
    """Every route of the gateway in one router: mount it in your own FastAPI app."""
    router = APIRouter()
    router.include_router(auth_router(gate))
    router.include_router(flow_router(gate))
    router.include_router(admin_router(gate))
    router.include_router(ops_router(gate))
    return router
