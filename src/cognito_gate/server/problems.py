"""Errors -> HTTP: every error body is ``{"error": CODE, "message": TEXT}`` (plus named fields).

:class:`GateRoute` converts errors inside the router itself, so the router works the same when a
team mounts it in its own FastAPI app (app-level exception handlers are then theirs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from cognito_gate import errors as e

logger = logging.getLogger("cognito_gate.server")


def problem(error: e.GateError) -> JSONResponse:
    """The JSON answer for a gateway error."""
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    headers: dict[str, str] = {}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        body["retryAfter"] = retry_after
        headers["Retry-After"] = str(retry_after)
    if isinstance(error, e.InvalidToken):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    elif isinstance(error, e.Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=error.status, headers=headers)


def describe_validation(exc: RequestValidationError) -> str:
    """A short, safe description of what was wrong (never the submitted values)."""
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        kind = str(err.get("type", ""))
        if kind == "json_invalid":
            parts.append("the body is not valid JSON")
        elif kind == "missing":
            parts.append(f"{loc}: required")
        elif kind in ("model_attributes_type", "dict_type") and not loc:
            parts.append("the body must be a JSON object")
        else:
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "The request is invalid."


def to_response(exc: Exception) -> Response:
    """Convert any exception escaping a route into the API's error shape."""
    if isinstance(exc, e.GateError):
        if exc.status >= 500:
            logger.warning("answered %s %s", exc.status, exc.code)
        return problem(exc)
    if isinstance(exc, RequestValidationError):
        return problem(e.InvalidRequest(describe_validation(exc)))
    if isinstance(exc, RecursionError):
        # JSON nested deeper than Python's parser recurses: the body's fault, not the gateway's.
        return problem(e.InvalidRequest("the body is nested too deeply"))
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code == 404:
            return problem(e.NotFound())
        if exc.status_code == 400:
            # FastAPI's "There was an error parsing the body" (nested too deeply, say).
            return problem(e.InvalidRequest("the body could not be parsed"))
        return JSONResponse(
            {"error": "http_error", "message": str(exc.detail)}, status_code=exc.status_code
        )
    logger.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
    return JSONResponse(
        {"error": "internal_error", "message": "An unexpected error occurred."}, status_code=500
    )


class GateRoute(APIRoute):
    """A route whose errors come out in the API's shape, wherever the router is mounted."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return to_response(exc)

        return route
