"""API Gateway's three event shapes to one ASGI request, and the answer back."""

from __future__ import annotations

import base64

import pytest

from cognito_gate.aws import events
from tests.aws.conftest import http_api_event, rest_api_event


def header_map(request: events.HttpRequest) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    for name, value in request.headers:
        found.setdefault(name, []).append(value)
    return found


def test_an_http_api_event() -> None:
    event = http_api_event(
        "POST", "/auth/login", {"a": 1}, query="x=1&y=%20", cookies=["a=1", "b=2"]
    )
    request = events.parse(event)
    assert (request.version, request.method, request.path) == ("2.0", "POST", "/auth/login")
    assert request.query == b"x=1&y=%20"
    assert request.body == b'{"a": 1}'
    assert request.source_ip == "203.0.113.9"
    headers = header_map(request)
    assert headers[b"cookie"] == [b"a=1; b=2"]
    assert headers[b"content-type"] == [b"application/json"]
    # API Gateway's own hop (the sourceIp it appended) is not passed on as a forwarded client.
    assert b"x-forwarded-for" not in headers
    scope = request.scope()
    assert scope["client"] == ("203.0.113.9", 0)
    assert scope["scheme"] == "https"
    assert scope["server"] == ("abc123.execute-api.us-east-1.amazonaws.com", 443)


def test_a_function_url_event_is_an_http_api_one_without_a_stage() -> None:
    event = http_api_event("GET", "/healthz")
    event["requestContext"]["domainName"] = "abcdefgh.lambda-url.us-east-1.on.aws"
    assert events.parse(event).path == "/healthz"


def test_a_named_stage_is_stripped_from_the_path() -> None:
    assert events.parse(http_api_event("GET", "/auth/config", stage="prod")).path == "/auth/config"
    assert events.parse(http_api_event("GET", "/", stage="prod")).path == "/"


def test_what_a_client_claims_in_x_forwarded_for_is_passed_on_as_a_claim() -> None:
    event = http_api_event(
        "GET",
        "/healthz",
        source_ip="198.51.100.7",
        headers={"x-forwarded-for": "10.0.0.1, 198.51.100.7"},
    )
    request = events.parse(event)
    assert header_map(request)[b"x-forwarded-for"] == [b"10.0.0.1"]
    assert request.scope()["client"] == ("198.51.100.7", 0)


def test_a_rest_api_event() -> None:
    event = rest_api_event(
        "POST", "/auth/login", {"a": 1}, query={"q": ["1", "two words"]}, base64_body=True
    )
    event["multiValueHeaders"]["X-Custom"] = ["one", "two"]
    request = events.parse(event)
    assert (request.version, request.method, request.path) == ("1.0", "POST", "/auth/login")
    assert request.query == b"q=1&q=two+words"
    assert request.body == b'{"a": 1}'
    assert request.source_ip == "198.51.100.4"
    assert header_map(request)[b"x-custom"] == [b"one", b"two"]


def test_other_events_are_refused() -> None:
    for event in ({"Records": []}, [], "x", {"version": "2.0"}):
        with pytest.raises(events.NotAnHttpEvent):
            events.parse(event)
    bad = http_api_event("POST", "/x", "not base64!")
    bad["isBase64Encoded"] = True
    with pytest.raises(events.NotAnHttpEvent):
        events.parse(bad)


def test_answers_in_payload_format_2() -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
        (b"vary", b"origin"),
        (b"vary", b"accept"),
    ]
    result = events.response("2.0", 201, headers, b'{"ok": true}')
    assert result == {
        "statusCode": 201,
        "body": '{"ok": true}',
        "isBase64Encoded": False,
        "headers": {"content-type": "application/json", "vary": "origin, accept"},
        "cookies": ["a=1", "b=2"],
    }


def test_answers_in_payload_format_1() -> None:
    headers = [(b"Content-Type", b"text/plain"), (b"Vary", b"origin"), (b"Vary", b"accept")]
    result = events.response("1.0", 200, headers, "é".encode())
    assert result["body"] == "é"
    assert result["multiValueHeaders"] == {
        "content-type": ["text/plain"],
        "vary": ["origin", "accept"],
    }


def test_binary_answers_are_base64() -> None:
    for headers, body in (
        ([(b"content-type", b"image/png")], b"\x89PNG"),
        ([(b"content-type", b"text/plain"), (b"content-encoding", b"gzip")], b"\x1f\x8b"),
        ([(b"content-type", b"text/plain")], b"\xff\xfe"),
    ):
        result = events.response("2.0", 200, headers, body)
        assert result["isBase64Encoded"] is True
        assert base64.b64decode(result["body"]) == body
