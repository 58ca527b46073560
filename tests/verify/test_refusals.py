"""Every bad token is refused with the JwtInvalid subclass that names the failed check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from cognito_gate.verify import (
    CognitoJwtVerifier,
    InvalidAudience,
    InvalidClaim,
    InvalidClientId,
    InvalidIssuer,
    InvalidSignature,
    InvalidTokenUse,
    JwtExpired,
    JwtInvalid,
    JwtIssuedInFuture,
    JwtNotBefore,
    JwtParseError,
    KidNotFound,
    MalformedJwt,
    MissingClaim,
    UnsupportedAlgorithm,
)
from tests.verify.conftest import DROP, OTHER_POOL_ID, Keys, Tokens, b64url, b64url_json, sign

MakeVerifier = Callable[..., CognitoJwtVerifier]


def refused(verifier: CognitoJwtVerifier, token: Any) -> JwtInvalid:
    with pytest.raises(JwtInvalid) as caught:
        verifier.verify(token)
    return caught.value


def test_a_signature_made_by_another_key_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens, keys: Keys
) -> None:
    token = tokens.make(kid="main", key=keys.stranger)
    assert type(refused(make_verifier(), token)) is InvalidSignature


def test_a_tampered_payload_is_refused(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    header, _, signature = tokens.make().split(".")
    forged = b64url_json(tokens.claims(username="mallory"))
    assert type(refused(make_verifier(), f"{header}.{forged}.{signature}")) is InvalidSignature


def test_a_flipped_signature_bit_is_refused(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    signing_input, _, signature = tokens.make().rpartition(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[100] ^= 1
    token = f"{signing_input}.{b64url(bytes(raw))}"
    assert type(refused(make_verifier(), token)) is InvalidSignature


def test_alg_none_is_refused(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    token = f"{b64url_json({'kid': 'main', 'alg': 'none'})}.{b64url_json(tokens.claims())}."
    error = refused(make_verifier(), token)
    assert type(error) is UnsupportedAlgorithm
    assert "'none'" in str(error)
    assert "RS256" in str(error)


def test_hs256_signed_with_the_public_key_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens, keys: Keys
) -> None:
    # The classic key confusion: an HMAC keyed with the RSA public key anyone can download.
    public_pem = keys.main.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64url_json({'kid': 'main', 'alg': 'HS256'})}.{b64url_json(tokens.claims())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    error = refused(make_verifier(), f"{signing_input}.{b64url(mac)}")
    assert type(error) is UnsupportedAlgorithm


@pytest.mark.parametrize("alg", ["RS512", "PS256", "ES256", "rs256", None, 256])
def test_every_algorithm_but_rs256_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens, keys: Keys, alg: object
) -> None:
    token = sign(keys.main, {"kid": "main", "alg": alg}, tokens.claims())
    assert type(refused(make_verifier(), token)) is UnsupportedAlgorithm


def test_an_unknown_kid_is_refused(make_verifier: MakeVerifier, tokens: Tokens, keys: Keys) -> None:
    token = tokens.make(kid="unheard-of", key=keys.stranger)
    assert type(refused(make_verifier(), token)) is KidNotFound


def test_an_expired_token_is_refused(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    now = int(tokens.clock.now)
    error = refused(make_verifier(), tokens.make(iat=now - 7200, exp=now - 1))
    assert type(error) is JwtExpired
    assert error.claim == "exp"


def test_a_token_is_refused_from_its_exp_second_on(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    now = int(tokens.clock.now)
    assert type(refused(make_verifier(), tokens.make(exp=now))) is JwtExpired


def test_a_token_before_its_nbf_is_refused(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    now = int(tokens.clock.now)
    error = refused(make_verifier(grace_seconds=5), tokens.make(nbf=now + 6))
    assert type(error) is JwtNotBefore


def test_a_token_issued_in_the_future_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    now = int(tokens.clock.now)
    error = refused(make_verifier(grace_seconds=5), tokens.make(iat=now + 6))
    assert type(error) is JwtIssuedInFuture


def test_nbf_and_iat_within_the_grace_are_accepted(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    now = int(tokens.clock.now)
    claims = make_verifier(grace_seconds=5).verify(tokens.make(nbf=now + 5, iat=now + 5))
    assert claims["nbf"] == now + 5


def test_a_token_of_another_pool_is_refused(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    other = f"https://cognito-idp.us-east-1.amazonaws.com/{OTHER_POOL_ID}"
    error = refused(make_verifier(), tokens.make(iss=other))
    assert type(error) is InvalidIssuer
    assert other in str(error)
    assert "eu-west-1_TestPool1" in str(error)


def test_a_token_for_another_app_client_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    error = refused(make_verifier(), tokens.make(client_id="someone-elses-client"))
    assert type(error) is InvalidClientId
    assert "someone-elses-client" in str(error)


def test_an_id_token_for_another_app_client_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    error = refused(make_verifier(token_use="id"), tokens.make("id", aud="someone-elses-client"))
    assert type(error) is InvalidAudience
    assert isinstance(error, InvalidClientId)


def test_an_id_token_where_an_access_token_is_expected_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    error = refused(make_verifier(token_use="access"), tokens.make("id"))
    assert type(error) is InvalidTokenUse
    assert "'access'" in str(error)
    assert "'id'" in str(error)


def test_an_access_token_where_an_id_token_is_expected_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    assert type(refused(make_verifier(token_use="id"), tokens.make("access"))) is InvalidTokenUse


def test_a_token_use_other_than_access_or_id_is_refused_even_unchecked(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    error = refused(make_verifier(token_use=None), tokens.make(token_use="refresh"))
    assert type(error) is InvalidTokenUse


@pytest.mark.parametrize("claim", ["exp", "iss", "token_use", "client_id"])
def test_a_token_without_a_required_claim_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens, claim: str
) -> None:
    error = refused(make_verifier(), tokens.make(**{claim: DROP}))
    assert type(error) is MissingClaim
    assert error.claim == claim


def test_an_id_token_without_aud_is_refused(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    error = refused(make_verifier(token_use="id"), tokens.make("id", aud=DROP))
    assert type(error) is MissingClaim


@pytest.mark.parametrize(
    ("claim", "value"), [("exp", "2030-01-01"), ("exp", True), ("iat", [1]), ("nbf", {})]
)
def test_a_mistyped_time_claim_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens, claim: str, value: object
) -> None:
    error = refused(make_verifier(), tokens.make(**{claim: value}))
    assert type(error) is InvalidClaim
    assert error.claim == claim


def test_an_infinite_exp_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens, keys: Keys
) -> None:
    # JSON has no Infinity, but 1e400 parses to it: a token that would never expire.
    payload = json.dumps(tokens.claims(exp=0)).replace('"exp": 0', '"exp": 1e400')
    signing_input = f"{b64url_json({'kid': 'main', 'alg': 'RS256'})}.{b64url(payload.encode())}"
    signature = keys.main.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    error = refused(make_verifier(), f"{signing_input}.{b64url(signature)}")
    assert type(error) is InvalidClaim
    assert error.claim == "exp"


def _segments(header: object, payload: object) -> str:
    return f"{b64url_json(header)}.{b64url_json(payload)}"


NAN_PAYLOAD = b64url(b'{"exp":NaN}')
SPACED_NAN_PAYLOAD = b64url(b' {"x":NaN} ')

MALFORMED: list[tuple[str, Callable[[str], str]]] = [
    ("empty string", lambda good: ""),
    ("one part", lambda good: good.replace(".", "")),
    ("two parts", lambda good: good.rpartition(".")[0]),
    ("four parts", lambda good: good + ".AAAA"),
    ("bad base64 in the header", lambda good: "ey!!" + good[4:]),
    ("bad base64 in the payload", lambda good: good.replace(".", ".*", 1)),
    ("padding in the payload", lambda good: good.replace(".", ".eyJ9=", 1)),
    ("standard base64 characters", lambda good: good.replace(".", ".a+/b", 1)),
    ("a base64 length of 1 mod 4", lambda good: "e." + good.split(".", 1)[1]),
    ("bad JSON in the header", lambda good: f"{b64url(b'{kid')}.{good.split('.', 1)[1]}"),
    ("bad JSON in the payload", lambda good: f"{good.split('.')[0]}.{b64url(b'{]')}.AAAA"),
    ("header not an object", lambda good: f"{b64url_json(['RS256'])}.{good.split('.', 1)[1]}"),
    ("payload not an object", lambda good: f"{good.split('.')[0]}.{b64url_json('x')}.AAAA"),
    ("payload NaN", lambda good: f"{good.split('.')[0]}.{NAN_PAYLOAD}.AAAA"),
    ("payload NaN in spaces", lambda good: f"{good.split('.')[0]}.{SPACED_NAN_PAYLOAD}.AAAA"),
    ("non-ASCII", lambda good: good + "é"),
    ("whitespace", lambda good: " " + good),
    ("header without kid", lambda good: f"{b64url_json({'alg': 'RS256'})}.{good.split('.', 1)[1]}"),
    (
        "crit header",
        lambda good: _segments({"alg": "RS256", "kid": "main", "crit": ["b64"]}, {}) + ".AA",
    ),
]


@pytest.mark.parametrize("mangle", [m for _, m in MALFORMED], ids=[n for n, _ in MALFORMED])
def test_a_malformed_token_is_refused_as_malformed(
    make_verifier: MakeVerifier, tokens: Tokens, mangle: Callable[[str], str]
) -> None:
    assert type(refused(make_verifier(), mangle(tokens.make()))) is MalformedJwt


@pytest.mark.parametrize("token", [None, b"a.b.c", 42])
def test_a_token_that_is_not_a_str_is_refused_as_malformed(
    make_verifier: MakeVerifier, token: object
) -> None:
    assert type(refused(make_verifier(), token)) is MalformedJwt


def test_jwt_parse_error_is_malformed_jwt() -> None:
    assert JwtParseError is MalformedJwt


def test_a_non_canonical_signature_encoding_is_refused(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    # 256 bytes take 342 base64url characters whose last one carries 4 unused bits: a token
    # with those bits set decodes to the same signature, but is another string.
    token = tokens.make()
    last = token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = token[:-1] + alphabet[alphabet.index(last) + 1]
    assert type(refused(make_verifier(), twin)) is MalformedJwt
    assert make_verifier().verify(token)


def test_deeply_nested_json_is_refused_as_malformed(make_verifier: MakeVerifier) -> None:
    deep = b64url(b"[" * 10_000 + b"]" * 10_000)
    header = b64url_json({"kid": "main", "alg": "RS256"})
    assert type(refused(make_verifier(), f"{header}.{deep}.AAAA")) is MalformedJwt
    assert type(refused(make_verifier(), f"{deep}.{deep}.AAAA")) is MalformedJwt


def test_an_overlong_token_is_refused_before_any_decoding(make_verifier: MakeVerifier) -> None:
    assert type(refused(make_verifier(), "a" * 40_000 + ".b.c")) is MalformedJwt


def test_errors_never_echo_the_token(
    make_verifier: MakeVerifier, tokens: Tokens, keys: Keys
) -> None:
    now = int(tokens.clock.now)
    bad = [
        tokens.make(key=keys.stranger),
        tokens.make(exp=now - 1),
        tokens.make(client_id="x"),
        tokens.make("id"),
        tokens.make().replace(".", ".*", 1),
    ]
    for token in bad:
        error = refused(make_verifier(), token)
        for part in token.split("."):
            assert part not in str(error)
        assert token not in repr(error)


def test_the_signature_is_checked_before_the_claims(
    make_verifier: MakeVerifier, tokens: Tokens, keys: Keys
) -> None:
    now = int(tokens.clock.now)
    forged = tokens.make(key=keys.stranger, exp=now - 10, client_id="x")
    assert type(refused(make_verifier(), forged)) is InvalidSignature


def test_a_forged_header_does_not_get_remembered(
    make_verifier: MakeVerifier, tokens: Tokens, keys: Keys
) -> None:
    verifier = make_verifier()
    header = {"kid": "main", "alg": "RS256", "x": 1}
    refused(verifier, sign(keys.stranger, header, tokens.claims()))
    assert verifier._kids == {}
    verifier.verify(sign(keys.main, header, tokens.claims()))
    assert list(verifier._kids.values()) == ["main"]


def test_json_claims_come_back_as_sent(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    claims = make_verifier().verify(tokens.make(custom__tier="gold", email_verified=True))
    assert claims["custom:tier"] == "gold"
    assert claims["email_verified"] is True
    assert json.loads(json.dumps(claims)) == claims
