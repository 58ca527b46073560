"""Headers every browser relies on (review #12): CORS on a 413, ``nosniff`` on the API's answers,
and the demo page's security headers, with the page built, shipped or missing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from cognito_gate.server import web
from cognito_gate.server.web import web_router
from tests.server.conftest import Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]
ORIGIN = "http://localhost:5173"
BIG = json.dumps({"username": "demo", "password": "x" * 70_000}).encode()
PAGE_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def directives(policy: str) -> dict[str, str]:
    parts = (d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


# -- 3. a 413 a browser can read -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/auth/login", "/cognito/"])
async def test_a_413_to_an_allowed_origin_carries_cors_headers(
    api_factory: ApiFactory, path: str
) -> None:
    client = api_factory(cors_origins=ORIGIN).client()
    headers = {"Origin": ORIGIN, "Content-Type": "application/json"}
    answer = await client.post(path, content=BIG, headers=headers)
    assert answer.status_code == 413
    assert answer.json()["error"] == "payload_too_large"
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert answer.headers["x-content-type-options"] == "nosniff"

    async def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: counted as it comes
        for _ in range(70):
            yield b"x" * 1024

    streamed = await client.post(path, content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert streamed.headers["access-control-allow-origin"] == ORIGIN

    stranger = await client.post(
        path, content=BIG, headers={**headers, "Origin": "http://evil.test"}
    )
    assert stranger.status_code == 413
    assert "access-control-allow-origin" not in stranger.headers


# -- 6. nosniff on the API, and the page's own headers ----------------------------------------------


async def test_every_api_answer_says_nosniff(api_factory: ApiFactory) -> None:
    client = api_factory().client()
    answers = [
        await client.get("/auth/config"),
        await client.get("/healthz"),
        await client.post("/auth/login", json={"username": "demo", "password": "Wrong-1!"}),
        await client.post("/auth/login", json={}),
        await client.get("/auth/nothing-here"),
        await client.get("/admin/events"),
        await client.post("/cognito/", content=b"{}"),
        await client.post("/auth/login", content=BIG),
    ]
    assert [a.status_code for a in answers] == [200, 200, 401, 422, 404, 401, 400, 413]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.request.url


def check_page_headers(answer: httpx.Response) -> None:
    for name, value in PAGE_HEADERS.items():
        assert answer.headers[name] == value, name
    csp = directives(answer.headers["content-security-policy"])
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in answer.headers["content-security-policy"]
    assert "unsafe-eval" not in answer.headers["content-security-policy"]


async def page(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate.test") as client:
        return await client.get(path)


def built(root: Path) -> Path:
    (root / "index.html").write_text("<!doctype html><title>demo</title>")
    (root / "page.js").write_text("console.log('page')")
    (root / "style.css").write_text("body{}")
    return root


async def test_the_page_and_its_assets_carry_the_security_headers(tmp_path: Path) -> None:
    app = FastAPI()
    app.include_router(web_router(built(tmp_path)))
    for path in ("/", "/web/page.js", "/web/style.css"):
        answer = await page(app, path)
        assert answer.status_code == 200, path
        check_page_headers(answer)


async def test_the_gateways_page_carries_them_too(api_factory: ApiFactory) -> None:
    answer = await api_factory().client().get("/")
    assert answer.status_code == 200
    check_page_headers(answer)


# -- 5. the page missing, shipped in a wheel, or built in the checkout ------------------------------


async def test_without_a_built_page_get_slash_says_how_to_build_it(tmp_path: Path) -> None:
    app = FastAPI()
    app.include_router(web_router(tmp_path))
    answer = await page(app, "/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "not built" in answer.text
    assert "npm" in answer.text
    assert "make web" in answer.text
    assert "/auth/login" in answer.text
    check_page_headers(answer)


def test_web_dist_prefers_the_setting_then_package_data_then_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged = tmp_path / "web_dist"
    packaged.mkdir()
    monkeypatch.setattr(web, "PACKAGED", packaged)
    monkeypatch.delenv("COGNITO_GATE_WEB_DIST", raising=False)
    assert web.web_dist() == web.CHECKOUT  # nothing shipped: the checkout's web/dist
    assert Path(__file__).resolve().parents[2] / "web" / "dist" == web.CHECKOUT
    built(packaged)
    assert web.web_dist() == packaged
    monkeypatch.setenv("COGNITO_GATE_WEB_DIST", str(tmp_path / "elsewhere"))
    assert web.web_dist() == tmp_path / "elsewhere"
