"""``create_app(settings)``: the gateway as a FastAPI application."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cognito_gate import __version__
from cognito_gate.config import Settings, load_settings
from cognito_gate.gate import Gate
from cognito_gate.runtime import Runtime, build_runtime
from cognito_gate.server.cognito_proxy import cognito_proxy_router
from cognito_gate.server.limits import BodyLimit, ScopedCORS
from cognito_gate.server.problems import to_response
from cognito_gate.server.routes import gate_router
from cognito_gate.server.web import web_router

logger = logging.getLogger("cognito_gate.server")


def create_app(
    settings: Settings | None = None,
    *,
    gate: Gate | None = None,
    runtime: Runtime | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The whole gateway: routes, demo page, error shapes, body limit, CORS.

    Give a ``gate`` (tests, custom wiring) or let settings build one; with no pool configured,
    that starts the embedded emulator.
    """
    if gate is None:
        runtime = runtime or build_runtime(settings or load_settings(), clock=clock)
        gate = runtime.gate
    settings = gate.settings
    owned = runtime

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gate.start()
        for finding in gate.findings:
            if finding.severity != "info":
                logger.warning("doctor: %s", finding.line())
        yield
        if owned is not None:
            await owned.close()
        else:
            await gate.close()

    app = FastAPI(
        title="cognito-gate",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.gate = gate
    app.include_router(gate_router(gate))
    app.include_router(cognito_proxy_router(gate))
    app.include_router(web_router())

    async def handle(request: Request, exc: Exception) -> Response:
        return to_response(exc)

    app.add_exception_handler(RequestValidationError, handle)
    app.add_exception_handler(StarletteHTTPException, handle)
    app.add_middleware(ScopedCORS, origins=settings.cors_origins, prefixes=("/auth/", "/cognito"))
    app.add_middleware(BodyLimit)
    return app
