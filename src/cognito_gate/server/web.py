"""``GET /`` (the demo page) and ``GET /web/{file}``: what ``web/`` builds into ``web/dist``."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from cognito_gate import errors as e
from cognito_gate.server.problems import GateRoute

_MISSING = """<!doctype html><meta charset="utf-8"><title>cognito-gate</title>
<h1>cognito-gate</h1><p>The demo page is not built. Run <code>make web</code>
(or <code>make run</code>), then reload. The API is at <code>/auth/login</code>.</p>"""


def web_dist() -> Path:
    """Where the built page is: ``COGNITO_GATE_WEB_DIST``, else ``web/dist`` of this checkout."""
    configured = os.environ.get("COGNITO_GATE_WEB_DIST")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "web" / "dist"


def web_router(dist: Path | None = None) -> APIRouter:
    """Serve the demo page and its bundles."""
    root = (dist or web_dist()).resolve()
    router = APIRouter(route_class=GateRoute, include_in_schema=False)

    @router.get("/")
    async def index() -> Response:
        page = root / "index.html"
        if not page.is_file():
            return HTMLResponse(_MISSING)
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    @router.get("/web/{name:path}")
    async def asset(name: str) -> Response:
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise e.NotFound()
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    return router
