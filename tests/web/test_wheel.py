"""The wheel ships the demo page (review #12): ``GET /`` works from an installed wheel, not only
from a checkout. Builds the wheel with pip (hatchling from the registry), checks the page is in
it, installs it into a directory of its own and serves ``GET /`` from that copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = "cognito_gate/server/web_dist"

#: Run with the installed copy first on the path: where web_dist() finds the page, and GET /.
SERVE = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
import httpx
from fastapi import FastAPI
from cognito_gate.server import web

async def get(path):
    app = FastAPI()
    app.include_router(web.web_router())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate.test") as client:
        answer = await client.get(path)
        return {"status": answer.status_code, "text": answer.text, "csp": answer.headers.get("content-security-policy")}

print(json.dumps({
    "module": web.__file__,
    "dist": str(web.web_dist()),
    "index": asyncio.run(get("/")),
    "page": asyncio.run(get("/web/page.js")),
}))
"""


@pytest.fixture(scope="module")
def wheel(built_web: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("cognito_gate-*.whl")
    return found


def test_the_wheel_contains_the_built_page(wheel: Path, built_web: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name in ("index.html", "page.js", "demo-v5.js", "demo-v6.js", "style.css"):
            assert f"{PACKAGED}/{name}" in names, name
            assert archive.read(f"{PACKAGED}/{name}") == (built_web / name).read_bytes(), name
    assert "cognito_gate/server/web.py" in names


def test_get_slash_serves_the_page_from_the_installed_wheel(
    wheel: Path, built_web: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), wheel],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {k: v for k, v in os.environ.items() if k != "COGNITO_GATE_WEB_DIST"}
    done = subprocess.run(
        [sys.executable, "-c", SERVE, str(target)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # nowhere near the checkout
        timeout=120,
    )
    found = json.loads(done.stdout)
    assert Path(found["module"]).is_relative_to(target)
    assert Path(found["dist"]) == target / PACKAGED
    assert found["index"]["status"] == 200
    assert found["index"]["text"] == (built_web / "index.html").read_text()
    assert "script-src 'self'" in found["index"]["csp"]
    assert found["page"]["status"] == 200
    assert found["page"]["text"] == (built_web / "page.js").read_text()
