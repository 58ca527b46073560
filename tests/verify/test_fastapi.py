"""The FastAPI dependencies, on a tiny app whose handler renders GateError as the gateway does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from cognito_gate.errors import GateError
from cognito_gate.verify import CognitoJwtVerifier, JwksFetchError
from cognito_gate.verify.fastapi import bearer_claims, require, verifier_lifespan
from tests.verify.conftest import JWKS_URI, CountingFetcher, Keys, Tokens

MakeVerifier = Callable[..., CognitoJwtVerifier]


def app_for(verifier: CognitoJwtVerifier) -> FastAPI:
    app = FastAPI(lifespan=verifier_lifespan(verifier))

    @app.exception_handler(GateError)
    async def gate_error(request: Request, exc: GateError) -> JSONResponse:
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)

    @app.get("/me")
    async def me(claims: dict[str, Any] = Depends(bearer_claims(verifier))) -> dict[str, Any]:
        return claims

    @app.get("/admin")
    def admin(claims: dict[str, Any] = Depends(require(verifier, groups="admin"))) -> str:
        return str(claims["username"])

    @app.get("/orders")
    def orders(claims: dict[str, Any] = Depends(require(verifier, scopes="orders/read"))) -> str:
        return "ok"

    return app


@pytest.fixture
def client(make_verifier: MakeVerifier) -> Any:
    with TestClient(app_for(make_verifier())) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_token_gets_its_claims(client: TestClient, tokens: Tokens) -> None:
    answer = client.get("/me", headers=bearer(tokens.make(username="alice")))
    assert answer.status_code == 200
    assert answer.json()["username"] == "alice"
    assert answer.json()["token_use"] == "access"


def test_the_jwks_is_fetched_at_start_up(
    make_verifier: MakeVerifier, fetcher: CountingFetcher
) -> None:
    with TestClient(app_for(make_verifier())):
        assert fetcher.calls == [JWKS_URI]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic YWxpY2U6cHc="}, {"Authorization": "Bearer"}, bearer("x.y.z")],
    ids=["no header", "basic", "empty bearer", "garbage"],
)
def test_no_valid_bearer_token_is_401_invalid_token(
    client: TestClient, headers: dict[str, str]
) -> None:
    answer = client.get("/me", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"


def test_an_expired_token_is_401_and_the_message_says_why_without_the_token(
    client: TestClient, tokens: Tokens
) -> None:
    now = int(tokens.clock.now)
    token = tokens.make(exp=now - 1)
    answer = client.get("/me", headers=bearer(token))
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_token", "message": "The token has expired."}
    assert token.split(".")[1] not in answer.text


def test_a_forged_token_is_401(client: TestClient, tokens: Tokens, keys: Keys) -> None:
    answer = client.get("/me", headers=bearer(tokens.make(key=keys.stranger)))
    assert answer.status_code == 401
    assert answer.json()["message"] == "The token's signature is invalid."


def test_a_missing_group_is_403_forbidden(client: TestClient, tokens: Tokens) -> None:
    answer = client.get("/admin", headers=bearer(tokens.make(cognito__groups=["staff"])))
    assert answer.status_code == 403
    assert answer.json() == {"error": "forbidden", "message": "The token lacks a required group."}
    admin = client.get("/admin", headers=bearer(tokens.make(cognito__groups=["admin"])))
    assert admin.status_code == 200
    assert admin.json() == "alice"


def test_a_missing_scope_is_403_and_a_held_one_passes(client: TestClient, tokens: Tokens) -> None:
    assert client.get("/orders", headers=bearer(tokens.make())).status_code == 403
    held = tokens.make(scope="openid orders/read")
    assert client.get("/orders", headers=bearer(held)).status_code == 200


def test_a_group_required_by_the_verifier_itself_is_also_403(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    with TestClient(app_for(make_verifier(groups="admin"))) as client:
        answer = client.get("/me", headers=bearer(tokens.make()))
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"


def test_an_unreachable_jwks_is_503_not_401(
    client: TestClient, tokens: Tokens, fetcher: CountingFetcher
) -> None:
    fetcher.fail = True  # Cognito is down when a token with a new kid arrives
    answer = client.get("/me", headers=bearer(tokens.make(kid="second")))
    assert answer.status_code == 503
    assert answer.json()["error"] == "unavailable"


def test_start_up_fails_when_the_jwks_cannot_be_fetched(
    make_verifier: MakeVerifier, fetcher: CountingFetcher
) -> None:
    fetcher.fail = True
    with pytest.raises(JwksFetchError), TestClient(app_for(make_verifier())):
        pass


def test_require_needs_something_to_require(make_verifier: MakeVerifier) -> None:
    with pytest.raises(ValueError, match="bearer_claims"):
        require(make_verifier())
