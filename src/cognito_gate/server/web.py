"""``GET /`` (the demo page) and ``GET /web/{file}``: what ``web/`` builds into ``web/dist``."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from cognito_gate import errors as e
from cognito_gate.server.problems import GateRoute

_MISSING = """<!doctype html><meta charset="utf-8"><title>cognito-gate</title>
<h1>cognito-gate</h1>
<p>The gateway is running, but its demo page is not built. Building it (<code>web/</code>,
with esbuild) needs Node.js and npm; <code>make run</code> skips the build when npm is missing.</p>
<p>Install them (Debian: <code>apt-get install nodejs npm</code>), run <code>make web</code> and
reload; or install a cognito-gate wheel, which ships the page.</p>
<p>The API works without the page: <code>POST /auth/login</code>, <code>GET /auth/config</code>,
<code>GET /healthz</code>.</p>"""

#: Where a wheel ships the built page (pyproject.toml's build hook, ``hatch_build.py``).
PACKAGED = Path(__file__).resolve().parent / "web_dist"
#: Where a checkout builds it (``make web``).
CHECKOUT = Path(__file__).resolve().parents[3] / "web" / "dist"

#: The page's headers. It loads its scripts and styles from this gateway (``/web/``) and talks to
#: this gateway alone (``/auth/*``, and ``/cognito/``, where Amplify refreshes): nothing inline,
#: no other origin, never in a frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}


def web_dist() -> Path:
    """Where the built page is: ``COGNITO_GATE_WEB_DIST``; else the page a wheel ships (package
    data); else ``web/dist`` of this checkout."""
    configured = os.environ.get("COGNITO_GATE_WEB_DIST")
    if configured:
        return Path(configured)
    if (PACKAGED / "index.html").is_file():
        return PACKAGED
    return CHECKOUT


def web_router(dist: Path | None = None) -> APIRouter:
    """Serve the demo page and its bundles."""
    root = (dist or web_dist()).resolve()
    router = APIRouter(route_class=GateRoute, include_in_schema=False)

    @router.get("/")
    async def index() -> Response:
        page = root / "index.html"
        if not page.is_file():
            return HTMLResponse(_MISSING, headers=_HEADERS)
        return FileResponse(page, headers=_HEADERS)

    @router.get("/web/{name:path}")
    async def asset(name: str) -> Response:
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise e.NotFound()
        return FileResponse(path, headers=_HEADERS)

    return router
