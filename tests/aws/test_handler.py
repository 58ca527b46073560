"""``cognito_gate.aws.handler``: the gateway on Lambda, invoked in-process with API Gateway's
events, in front of the emulator's pool, on moto's DynamoDB."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from cognito_gate import gate as gate_module
from cognito_gate.aws.events import NotAnHttpEvent
from cognito_gate.aws.handler import LambdaAsgi, Served, gateway
from cognito_gate.cognito.local import Emulator, LocalPool
from tests.aws.conftest import (
    PASSWORD,
    WRONG,
    admin_headers,
    body_of,
    header,
    http_api_event,
    rest_api_event,
)
from tests.conftest import ADMIN_TOKEN
from tests.services import dynamodb

MAX = 3
TARGET = "AWSCognitoIdentityProviderService."


@pytest.fixture
def lambda_env(
    pool: LocalPool, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalPool]:
    """The function's environment: the pool, the emulator as Cognito, a DynamoDB table."""
    with dynamodb.store_url(emulator.endpoint) as url:
        environment = {
            "COGNITO_GATE_USER_POOL_ID": pool.user_pool_id,
            "COGNITO_GATE_CLIENT_ID": pool.client_id,
            "COGNITO_GATE_COGNITO_ENDPOINT": pool.endpoint,
            "COGNITO_GATE_REGION": pool.region,
            "COGNITO_GATE_STORE": url,
            "COGNITO_GATE_MAX_ATTEMPTS": str(MAX),
            "COGNITO_GATE_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        yield pool


@pytest.fixture
def function(lambda_env: LocalPool) -> Iterator[LambdaAsgi]:
    """A fresh container of the gateway's function."""
    container = LambdaAsgi(gateway)
    yield container
    container.close()


def login_body(password: str = PASSWORD, username: str = "demo") -> dict[str, str]:
    return {"username": username, "password": password}


def test_an_http_api_login_answers_the_three_tokens(function: LambdaAsgi) -> None:
    result = function(http_api_event("POST", "/auth/login", login_body()), None)
    assert result["statusCode"] == 200
    assert result["isBase64Encoded"] is False
    assert result["headers"]["content-type"] == "application/json"
    tokens = body_of(result)
    assert {"idToken", "accessToken", "refreshToken"} <= tokens.keys()
    assert tokens["username"] == "demo"
    assert tokens["tokenType"] == "Bearer"


def test_a_rest_api_login_answers_the_three_tokens(function: LambdaAsgi) -> None:
    event = rest_api_event("POST", "/auth/login", login_body(), base64_body=True)
    result = function(event, None)
    assert result["statusCode"] == 200
    assert result["multiValueHeaders"]["content-type"] == ["application/json"]
    assert {"idToken", "accessToken", "refreshToken"} <= body_of(result).keys()


def test_a_named_stage_is_not_part_of_the_route(function: LambdaAsgi) -> None:
    result = function(http_api_event("GET", "/healthz", stage="prod"), None)
    assert result["statusCode"] == 200


def test_wrong_passwords_lock_with_429_and_retry_after(function: LambdaAsgi) -> None:
    for _ in range(MAX):
        wrong = function(http_api_event("POST", "/auth/login", login_body(WRONG)), None)
        assert wrong["statusCode"] == 401
    locked = function(http_api_event("POST", "/auth/login", login_body()), None)
    assert locked["statusCode"] == 429
    assert body_of(locked)["error"] == "account_locked"
    assert header(locked, "Retry-After") == str(body_of(locked)["retryAfter"])
    assert 0 < int(header(locked, "Retry-After") or 0) <= 900
    # REST API events read the same store.
    again = function(rest_api_event("POST", "/auth/login", login_body()), None)
    assert again["statusCode"] == 429
    assert header(again, "Retry-After")


def test_amplify_s_refresh_through_the_cognito_route(function: LambdaAsgi) -> None:
    tokens = body_of(function(http_api_event("POST", "/auth/login", login_body()), None))
    refresh = {
        "AuthFlow": "REFRESH_TOKEN_AUTH",
        "ClientId": function_pool_client(function),
        "AuthParameters": {"REFRESH_TOKEN": tokens["refreshToken"]},
    }
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": TARGET + "InitiateAuth",
    }
    result = function(http_api_event("POST", "/cognito/", refresh, headers=headers), None)
    assert result["statusCode"] == 200, result
    assert result["isBase64Encoded"] is False
    answer = body_of(result)["AuthenticationResult"]
    assert answer["AccessToken"]
    assert answer["IdToken"]


def function_pool_client(function: LambdaAsgi) -> str:
    return str(function_gate(function).idp.client_id)


def function_gate(function: LambdaAsgi) -> Any:
    container = function._built()
    return container.served.app.state.gate


def test_healthz(function: LambdaAsgi) -> None:
    result = function(http_api_event("GET", "/healthz"), None)
    assert result["statusCode"] == 200
    assert body_of(result)["status"] == "ok"


def test_the_client_address_is_the_event_s_source_ip_not_a_claim(function: LambdaAsgi) -> None:
    forged = {"x-forwarded-for": "192.0.2.77, 203.0.113.50"}
    event = http_api_event(
        "POST", "/auth/login", login_body(WRONG), source_ip="203.0.113.50", headers=forged
    )
    assert function(event, None)["statusCode"] == 401
    events = function(
        http_api_event("GET", "/admin/events", headers=admin_headers(), query="username=demo"),
        None,
    )
    assert [e["ip"] for e in body_of(events)["events"]][:1] == ["203.0.113.50"]


def test_behind_a_trusted_proxy_the_forwarded_client_counts(
    lambda_env: LocalPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CDN in front of API Gateway: sourceIp is the CDN's, listed in TRUSTED_PROXIES.
    monkeypatch.setenv("COGNITO_GATE_TRUSTED_PROXIES", "203.0.113.0/24")
    function = LambdaAsgi(gateway)
    try:
        forwarded = {"x-forwarded-for": "192.0.2.77, 203.0.113.50"}
        event = rest_api_event(
            "POST", "/auth/login", login_body(WRONG), source_ip="203.0.113.50", headers=forwarded
        )
        assert function(event, None)["statusCode"] == 401
        query = {"username": ["demo"]}
        events = function(
            rest_api_event("GET", "/admin/events", headers=admin_headers(), query=query), None
        )
        assert body_of(events)["events"][0]["ip"] == "192.0.2.77"
    finally:
        function.close()


def test_start_up_runs_once_per_container(
    lambda_env: LocalPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Served] = []
    reads: list[str] = []
    inspect = gate_module.inspect_pool

    async def counted(idp: Any) -> Any:
        reads.append(idp.user_pool_id)
        return await inspect(idp)

    def factory() -> Served:
        built.append(gateway())
        return built[-1]

    monkeypatch.setattr(gate_module, "inspect_pool", counted)
    function = LambdaAsgi(factory)
    try:
        for _ in range(3):
            assert function(http_api_event("GET", "/healthz"), None)["statusCode"] == 200
        assert (
            function(http_api_event("POST", "/auth/login", login_body()), None)["statusCode"] == 200
        )
    finally:
        function.close()
    assert len(built) == 1
    assert reads == [lambda_env.user_pool_id]


def test_the_module_handler_serves_the_environment_s_settings(lambda_env: LocalPool) -> None:
    import cognito_gate.aws

    container = sys.modules["cognito_gate.aws.handler"]._DEFAULT
    try:
        result = cognito_gate.aws.handler(http_api_event("POST", "/auth/login", login_body()), None)
        assert result["statusCode"] == 200
        assert body_of(result)["refreshToken"]
    finally:
        container.close()


def test_without_a_pool_the_function_answers_503_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COGNITO_GATE_USER_POOL_ID", raising=False)
    monkeypatch.setenv("COGNITO_GATE_STORE", "memory://")
    function = LambdaAsgi(gateway)
    try:
        result = function(http_api_event("GET", "/healthz"), None)
    finally:
        function.close()
    assert result["statusCode"] == 503
    message = body_of(result)["message"]
    assert message.startswith("COGNITO_GATE_USER_POOL_ID: required on AWS Lambda")
    assert "\n" not in message


def test_an_event_that_is_not_http_is_refused(function: LambdaAsgi) -> None:
    with pytest.raises(NotAnHttpEvent):
        function({"Records": []}, None)
