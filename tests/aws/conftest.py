"""The gateway on Lambda and the triggers inside Cognito: events, pools with triggers, and both
halves of the lock on one store."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cognito_gate.aws.triggers import LambdaTriggers, Triggers
from cognito_gate.cognito import local_triggers
from cognito_gate.cognito.local import (
    EMULATOR_CREDENTIALS,
    Emulator,
    LocalPool,
    emulator_client,
    provision_pool,
)
from cognito_gate.config import Settings, load_settings
from tests.conftest import ADMIN_TOKEN, FakeClock

PASSWORD = "Demo-passw0rd!"
WRONG = "Wrong-passw0rd!"
SECRET = "a-trigger-secret-0123456789"
MAX_ATTEMPTS = 3
SETTLE = 180.0

# -- API Gateway events, shaped as AWS documents them --------------------------------------------


def http_api_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    source_ip: str = "203.0.113.9",
    headers: dict[str, str] | None = None,
    query: str = "",
    stage: str = "$default",
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event; function URLs send the same shape."""
    raw = "" if body is None else body if isinstance(body, str) else json.dumps(body)
    all_headers = {
        "accept": "*/*",
        "content-length": str(len(raw.encode())),
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "user-agent": "curl/8.5.0",
        "x-amzn-trace-id": "Root=1-65f0e2b4-0123456789abcdef01234567",
        "x-forwarded-for": source_ip,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if body is not None:
        all_headers["content-type"] = "application/json"
    all_headers.update(headers or {})
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "curl/8.5.0",
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": "$default",
            "stage": stage,
            "time": "12/Mar/2026:19:03:58 +0000",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if body is not None:
        event["body"] = raw
    return event


def rest_api_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    source_ip: str = "198.51.100.4",
    headers: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A REST API (payload format 1.0) proxy integration event, stage ``prod``."""
    raw = "" if body is None else body if isinstance(body, str) else json.dumps(body)
    single = {
        "Accept": "*/*",
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "curl/8.5.0",
        "X-Amzn-Trace-Id": "Root=1-65f0e2b4-0123456789abcdef01234567",
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if body is not None:
        single["Content-Type"] = "application/json"
    single.update(headers or {})
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": single,
        "multiValueHeaders": {k: [v] for k, v in single.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "extendedRequestId": "Ab1Cd2Ef3Gh=",
            "requestTime": "12/Mar/2026:19:03:58 +0000",
            "path": f"/prod{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abc123",
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": "curl/8.5.0",
                "user": None,
            },
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc123",
        },
        "body": (base64.b64encode(raw.encode()).decode() if base64_body else raw) or None,
        "isBase64Encoded": base64_body,
    }


def body_of(result: dict[str, Any]) -> Any:
    """The JSON body of a Lambda proxy result."""
    text = result["body"]
    if result.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    return json.loads(text) if text else None


def header(result: dict[str, Any], name: str) -> str | None:
    """A response header of either payload format."""
    if "multiValueHeaders" in result:
        values = result["multiValueHeaders"].get(name.lower())
        return ", ".join(values) if values else None
    value = result.get("headers", {}).get(name.lower())
    return None if value is None else str(value)


# -- a pool whose LambdaConfig names the triggers, run in-process --------------------------------


@dataclass
class TriggerPool:
    """A pool with the triggers attached: the gateway's client, and a direct client."""

    pool: LocalPool
    direct_client_id: str
    functions: LambdaTriggers
    settings: Settings
    clock: FakeClock

    @property
    def idp(self) -> Any:
        return emulator_client(self.pool.endpoint, self.pool.region)

    def sign_in(
        self, password: str, username: str = "demo", metadata: dict[str, str] | None = None
    ) -> str:
        """A direct ``InitiateAuth`` USER_PASSWORD_AUTH: "tokens", or Cognito's error code."""
        return sign_in(self.idp, self.direct_client_id, username, password, metadata)

    def message(self, password: str, username: str = "demo") -> str:
        """Cognito's error message for a direct sign-in ("" when it succeeded)."""
        try:
            self.idp.initiate_auth(
                ClientId=self.direct_client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except ClientError as exc:
            return str(exc.response["Error"]["Message"])
        return ""


def sign_in(
    idp: Any,
    client_id: str,
    username: str,
    password: str,
    metadata: dict[str, str] | None = None,
) -> str:
    """A direct ``InitiateAuth`` USER_PASSWORD_AUTH: "tokens", or Cognito's error code."""
    try:
        answer = idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
            **({"ClientMetadata": metadata} if metadata else {}),
        )
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "tokens" if "AuthenticationResult" in answer else str(answer.get("ChallengeName"))


def trigger_settings(endpoint: str, store: str, **overrides: Any) -> Settings:
    """The triggers' settings: no pool (it comes with each event), the emulator, one store."""
    values: dict[str, Any] = {
        "cognito_endpoint": endpoint,
        "region": "us-east-1",
        "store": store,
        "max_attempts": MAX_ATTEMPTS,
        "trigger_secret": SECRET,
        "trigger_settle_seconds": SETTLE,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """One SQLite file shared by the gateway and the triggers (as two processes would)."""
    return f"sqlite:///{tmp_path}/gate.db"


@pytest.fixture
def trigger_pool_factory(
    emulator: Emulator, clock: FakeClock, store_url: str
) -> Iterator[Callable[..., TriggerPool]]:
    """``factory(**settings) -> TriggerPool``: a fresh pool with user ``demo``, the triggers
    attached (their own functions, clock and store), and a client allowing USER_PASSWORD_AUTH."""
    made: list[tuple[str, LambdaTriggers]] = []

    def make(**overrides: Any) -> TriggerPool:
        pool = provision_pool(emulator.endpoint)
        settings = trigger_settings(emulator.endpoint, store_url, **overrides)
        functions = LambdaTriggers(
            lambda: Triggers(settings, clock=clock, credentials=EMULATOR_CREDENTIALS)
        )
        tag = uuid.uuid4().hex[:8]
        pre = local_triggers.function_arn(f"test-pre-{tag}")
        post = local_triggers.function_arn(f"test-post-{tag}")
        local_triggers.register(pre, functions.pre_authentication)
        local_triggers.register(post, functions.post_authentication)
        made.extend([(pre, functions), (post, functions)])
        local_triggers.attach(pool.user_pool_id, PreAuthentication=pre, PostAuthentication=post)
        direct = emulator_client(emulator.endpoint).create_user_pool_client(
            UserPoolId=pool.user_pool_id,
            ClientName="a-direct-client",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            PreventUserExistenceErrors="ENABLED",
        )["UserPoolClient"]["ClientId"]
        return TriggerPool(pool, direct, functions, settings, clock)

    yield make
    for arn, _ in made:
        local_triggers.unregister(arn)
    for functions in {id(f): f for _, f in made}.values():
        functions.close()


@pytest.fixture
def trigger_pool(trigger_pool_factory: Callable[..., TriggerPool]) -> TriggerPool:
    return trigger_pool_factory()


def admin_headers() -> dict[str, str]:
    return {"authorization": f"Bearer {ADMIN_TOKEN}"}
