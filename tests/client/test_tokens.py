"""The token classes decode like the JS library's and never show a token."""

from __future__ import annotations

import base64
import json

from cognito_gate.client import (
    CognitoAccessToken,
    CognitoIdToken,
    CognitoRefreshToken,
)
from tests.client.jwt_helpers import make_jwt


def test_a_token_exposes_its_raw_form_payload_expiration_and_issue_time() -> None:
    raw = make_jwt({"exp": 2000, "iat": 1000, "cognito:username": "demo"})
    token = CognitoIdToken(raw)
    assert token.jwt_token == raw == token.get_jwt_token()
    assert token.payload["cognito:username"] == "demo"
    assert token.get_expiration() == 2000
    assert token.get_issued_at() == 1000


def test_a_payload_in_standard_base64_decodes_too() -> None:
    # Buffer.from(x, 'base64') in the JS library accepts both alphabets.
    payload = base64.b64encode(json.dumps({"exp": 5, "n": "??>>"}).encode()).decode()
    token = CognitoAccessToken(f"e30.{payload}.sig")
    assert token.get_expiration() == 5


def test_an_undecodable_token_has_an_empty_payload_and_no_expiration() -> None:
    for raw in ("", "garbage", "a.!!!.c", "a.bnVsbA.c"):
        token = CognitoAccessToken(raw)
        assert token.payload == {}
        assert token.get_expiration() is None


def test_changing_one_payload_does_not_change_another_of_the_same_token() -> None:
    raw = make_jwt({"exp": 1})
    first = CognitoAccessToken(raw)
    first.payload["exp"] = 99
    assert CognitoAccessToken(raw).get_expiration() == 1


def test_the_refresh_token_is_opaque_and_of_any_length() -> None:
    assert CognitoRefreshToken("x" * 5000).get_token() == "x" * 5000
    assert CognitoRefreshToken().get_token() == ""
    assert CognitoRefreshToken(None).token == ""


def test_no_token_shows_in_a_repr() -> None:
    raw = make_jwt({"exp": 1})
    assert raw not in repr(CognitoAccessToken(raw))
    assert "secret-refresh" not in repr(CognitoRefreshToken("secret-refresh"))


def test_tokens_compare_by_value_and_kind() -> None:
    raw = make_jwt({"exp": 1})
    assert CognitoIdToken(raw) == CognitoIdToken(raw)
    assert CognitoIdToken(raw) != CognitoAccessToken(raw)
    assert CognitoRefreshToken("a") == CognitoRefreshToken("a")
