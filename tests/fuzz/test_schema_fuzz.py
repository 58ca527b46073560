"""schemathesis against the gateway's own OpenAPI document: every route, generated requests; no
5xx but 503, and every error in SPEC's shape."""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from tests.fuzz.conftest import EXAMPLES


def assert_in_shape(path: str, status: int, body: bytes) -> None:
    """SPEC: no 5xx but 503; errors are {"error", "message"} (Cognito's own shape at /cognito/)."""
    assert status < 500 or status == 503, (path, status, body[:300])
    if status < 400:
        return
    answer = json.loads(body)
    if path.startswith("/cognito") and status != 413:  # 413: the gateway's own body limit
        assert set(answer) == {"__type", "message"}, answer
    else:
        assert isinstance(answer.get("error"), str), answer
        assert isinstance(answer.get("message"), str), answer


def test_every_route_answers_in_shape(gateway_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", gateway_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10  # every route of the gateway, not an empty document
    sent = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            response = case.call()
            sent.append(response.status_code)
            assert_in_shape(case.path, response.status_code, response.content)

        fuzz()
    print(f"\nschemathesis: {len(sent)} requests over {len(operations)} operations, none a 5xx")
