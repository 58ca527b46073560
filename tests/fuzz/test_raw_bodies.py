"""Raw bodies that generated-from-schema requests never reach: nested JSON, lone surrogates,
non-UTF-8 bytes, wrong shapes, odd content types; on every route, ``POST /cognito/`` included."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import EXAMPLES
from tests.fuzz.test_schema_fuzz import assert_in_shape

pytestmark = pytest.mark.anyio

COGNITO_TARGETS = [
    "AWSCognitoIdentityProviderService.InitiateAuth",
    "AWSCognitoIdentityProviderService.GetTokensFromRefreshToken",
    "AWSCognitoIdentityProviderService.RevokeToken",
    "AWSCognitoIdentityProviderService.GetUser",
    "AWSCognitoIdentityProviderService.SignUp",
    "",
]
#: Hand-picked hostile bodies (each found in the wild or by a review).
HOSTILE: list[bytes] = [
    b"",
    b"null",
    b"[]",
    b"1e999999",
    b'"just a string"',
    b"[" * 30000,  # under 64 KiB, deeper than any recursion limit
    b'{"a":' * 20000 + b"1" + b"}" * 20000,
    b'{"username": "\\ud800", "password": "\\udfff"}',
    b'{"username": "demo", "password": "\\ud800x"}',
    b'{"refreshToken": "\\ud800", "username": "demo"}',
    b'{"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": "x", "AuthParameters": {"REFRESH_TOKEN": "\\ud800"}}',
    b'{"Token": "\\udc00", "ClientId": "x"}',
    b'{"AccessToken": "\\ud800"}',
    b"\xff\xfe\xfd{}",
    b'{"username": "d\xffemo", "password": "x"}',
    b"\xef\xbb\xbf{}",  # a byte-order mark
    b'{"username": NaN, "password": Infinity}',
    b'{"username": "demo", "username": ["x"], "password": {}}',
    b'{"username": "' + b"a" * 60000 + b'", "password": "x"}',
    b'{"username": "demo\\u0000", "password": "x"}',
    b'{"username": 12345678901234567890123456789, "password": true}',
]
CONTENT_TYPES = [
    "application/json",
    "application/x-amz-json-1.1",
    "text/plain",
    "application/x-www-form-urlencoded",
    None,
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec=None, categories=None)),  # surrogates included
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
FIELDS = [
    "username",
    "password",
    "refreshToken",
    "session",
    "challengeName",
    "responses",
    "everywhere",
    "code",
    "newPassword",
    "attributes",
    "AuthFlow",
    "AuthParameters",
    "ClientId",
    "Token",
    "AccessToken",
    "RefreshToken",
]
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6).map(
        lambda d: json.dumps(d).encode()
    ),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the gateway's OpenAPI document, and ``POST /cognito/``."""
    found = {("POST", "/cognito/")}
    for path, operations in app.openapi()["paths"].items():
        filled = path.replace("{username}", "demo")
        found |= {(method.upper(), filled) for method in operations}
    return sorted(found)


async def send(
    app: FastAPI, method: str, path: str, body: bytes, content_type: str | None, target: str = ""
) -> httpx.Response:
    headers = {"Authorization": "Bearer x.y.z"}
    if content_type:
        headers["Content-Type"] = content_type
    if target:
        headers["X-Amz-Target"] = target
    transport = httpx.ASGITransport(app=app, client=("203.0.113.50", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gate.test") as client:
        return await client.request(method, path, content=body, headers=headers)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_hostile_bodies_on_every_route_never_get_a_500(gateway_app: FastAPI) -> None:
    seen = 0
    for method, path in routes(gateway_app):
        if method not in ("POST", "PUT", "PATCH"):
            continue
        targets = COGNITO_TARGETS if path.startswith("/cognito") else [""]
        for body in HOSTILE:
            for content_type in CONTENT_TYPES:
                for target in targets:
                    answer = await send(gateway_app, method, path, body, content_type, target)
                    assert_in_shape(path, answer.status_code, answer.content)
                    seen += 1
    print(f"\nhostile bodies: {seen} requests, none a 5xx")
    assert seen > 500


def test_generated_bodies_on_every_route_never_get_a_500(gateway_app: FastAPI) -> None:
    import asyncio

    posts = [(m, p) for m, p in routes(gateway_app) if m == "POST"]
    assert posts
    sent = []

    @given(
        route=st.sampled_from(posts),
        body=bodies,
        content_type=st.sampled_from(CONTENT_TYPES),
        target=st.sampled_from(COGNITO_TARGETS),
    )
    @settings(max_examples=EXAMPLES * 10, deadline=None, suppress_health_check=list(HealthCheck))
    def fuzz(route: tuple[str, str], body: bytes, content_type: str | None, target: str) -> None:
        method, path = route
        answer = asyncio.run(send(gateway_app, method, path, body, content_type, target))
        sent.append(answer.status_code)
        assert_in_shape(path, answer.status_code, answer.content)

    fuzz()
    print(f"\ngenerated bodies: {len(sent)} requests over {len(posts)} routes, none a 5xx")


async def test_the_bodies_a_review_found_are_refused_cleanly(gateway_app: FastAPI) -> None:
    """Each of these was a 500 or a dropped connection."""
    client_id = gateway_app.state.gate.idp.client_id
    surrogate_login = b'{"username": "\\ud800", "password": "Demo-passw0rd!"}'
    answer = await send(gateway_app, "POST", "/auth/login", surrogate_login, "application/json")
    assert (answer.status_code, answer.json()["error"]) == (422, "invalid_request")
    for path in ("/auth/refresh", "/auth/logout"):
        body = b'{"refreshToken": "\\ud800", "username": "demo"}'
        answer = await send(gateway_app, "POST", path, body, "application/json")
        assert answer.status_code == 401, (path, answer.text)
        assert answer.json()["error"] in ("invalid_refresh_token", "invalid_token")
    nested = await send(
        gateway_app,
        "POST",
        "/cognito/",
        b"[" * 30000,
        "application/x-amz-json-1.1",
        "AWSCognitoIdentityProviderService.InitiateAuth",
    )
    assert nested.status_code == 400
    assert nested.json()["__type"] == "InvalidParameterException"
    refresh = json.dumps(
        {
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"REFRESH_TOKEN": "\ud800"},
        }
    ).encode()
    answer = await send(
        gateway_app,
        "POST",
        "/cognito/",
        refresh,
        "application/x-amz-json-1.1",
        "AWSCognitoIdentityProviderService.InitiateAuth",
    )
    assert answer.status_code == 400
    assert answer.json()["__type"] == "NotAuthorizedException"
    nested_auth = await send(gateway_app, "POST", "/auth/login", b"[" * 30000, "application/json")
    assert (nested_auth.status_code, nested_auth.json()["error"]) == (422, "invalid_request")
