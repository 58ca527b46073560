"""Good tokens come back as their claims; the options say which tokens are good."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from cognito_gate.verify import (
    CognitoJwtVerifier,
    CustomCheckFailed,
    InvalidClientId,
    InvalidIssuer,
    MissingGroup,
    MissingScope,
    UserPool,
    issuer_for,
    jwks_uri_for,
)
from tests.conftest import FakeClock
from tests.verify.conftest import (
    CLIENT_ID,
    ISSUER,
    JWKS_URI,
    OTHER_POOL_ID,
    POOL_ID,
    CountingFetcher,
    Keys,
    Tokens,
    b64url,
    b64url_json,
)

MakeVerifier = Callable[..., CognitoJwtVerifier]


def test_an_access_token_comes_back_as_its_claims(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    claims = make_verifier().verify(tokens.make(username="alice"))
    assert claims["username"] == "alice"
    assert claims["token_use"] == "access"
    assert claims["client_id"] == CLIENT_ID


def test_an_id_token_comes_back_as_its_claims(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    claims = make_verifier(token_use="id").verify(tokens.make("id"))
    assert claims["aud"] == CLIENT_ID
    assert claims["cognito:username"] == "alice"


def test_token_use_none_takes_both_kinds_and_still_checks_the_client(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    verifier = make_verifier(token_use=None)
    assert verifier.verify(tokens.make("access"))["token_use"] == "access"
    assert verifier.verify(tokens.make("id"))["token_use"] == "id"
    with pytest.raises(InvalidClientId):
        verifier.verify(tokens.make("id", aud="other"))


def test_client_id_none_takes_any_app_client(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    assert make_verifier(client_id=None).verify(tokens.make(client_id="any"))["client_id"] == "any"


def test_several_app_clients_may_be_allowed(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    verifier = make_verifier(client_id=[CLIENT_ID, "mobile-client"])
    assert verifier.verify(tokens.make(client_id="mobile-client"))
    assert verifier.verify(tokens.make())
    with pytest.raises(InvalidClientId):
        verifier.verify(tokens.make(client_id="web-client"))


def test_an_id_token_with_a_list_audience_is_accepted_when_one_matches(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    claims = make_verifier(token_use="id").verify(tokens.make("id", aud=["x", CLIENT_ID]))
    assert claims["aud"] == ["x", CLIENT_ID]


def test_client_id_and_token_use_must_be_given() -> None:
    with pytest.raises(TypeError, match="client_id"):
        CognitoJwtVerifier(POOL_ID, token_use="access")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="token_use"):
        CognitoJwtVerifier(POOL_ID, client_id=CLIENT_ID)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="client_id and token_use"):
        CognitoJwtVerifier(POOL_ID)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        UserPool(POOL_ID, client_id=CLIENT_ID)  # type: ignore[call-arg]
    assert CognitoJwtVerifier(POOL_ID, client_id=None, token_use=None)


@pytest.mark.parametrize(
    "options",
    [
        {"user_pool_id": "not-a-pool"},
        {"token_use": "refresh"},
        {"client_id": ""},
        {"client_id": []},
        {"groups": []},
        {"grace_seconds": -1},
        {"grace_seconds": float("inf")},
        {"refetch_interval": float("nan")},
        {"cache_size": -5},
    ],
)
def test_bad_options_are_refused_at_construction(
    make_verifier: MakeVerifier, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        make_verifier(**options)


def test_pool_urls_follow_the_pool_id() -> None:
    assert issuer_for(POOL_ID) == ISSUER
    assert jwks_uri_for(POOL_ID) == JWKS_URI
    assert (
        jwks_uri_for(POOL_ID, "http://127.0.0.1:5000/")
        == f"http://127.0.0.1:5000/{POOL_ID}/.well-known/jwks.json"
    )
    assert UserPool("us-gov-west-1_abc", client_id=None, token_use=None).region == "us-gov-west-1"


def test_the_updated_issuer_form_of_the_pool_is_accepted(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    updated = f"https://issuer-cognito-idp.eu-west-1.amazonaws.com/{POOL_ID}"
    assert make_verifier().verify(tokens.make(iss=updated))["iss"] == updated


def test_tokens_of_several_pools_are_checked_each_against_its_own_pool(
    keys: Keys, tokens: Tokens, clock: FakeClock
) -> None:
    other_jwks = f"http://127.0.0.1:9/{OTHER_POOL_ID}/.well-known/jwks.json"
    fetcher = CountingFetcher({JWKS_URI: keys.jwks("main"), other_jwks: keys.jwks("second")})
    verifier = CognitoJwtVerifier(
        [
            UserPool(POOL_ID, client_id=CLIENT_ID, token_use="access"),
            UserPool(OTHER_POOL_ID, client_id="other-client", token_use="id", jwks_uri=other_jwks),
        ],
        fetcher=fetcher,
        clock=clock,
    )
    other_issuer = issuer_for(OTHER_POOL_ID)
    assert verifier.verify(tokens.make())["iss"] == ISSUER
    id_token = tokens.make("id", kid="second", iss=other_issuer, aud="other-client")
    assert verifier.verify(id_token)["iss"] == other_issuer
    # Each pool's keys and rules are its own: the first pool's key does not sign for the second.
    with pytest.raises(Exception, match="kid 'main'"):
        verifier.verify(tokens.make("id", kid="main", iss=other_issuer, aud="other-client"))
    with pytest.raises(InvalidClientId):
        verifier.verify(tokens.make("id", kid="second", iss=other_issuer, aud=CLIENT_ID))
    with pytest.raises(InvalidIssuer):
        verifier.verify(tokens.make(iss=issuer_for("eu-west-1_Unknown")))
    assert sorted(fetcher.calls) == sorted([JWKS_URI, other_jwks])


def test_a_pool_list_takes_no_top_level_client_id(clock: FakeClock) -> None:
    pool = UserPool(POOL_ID, client_id=CLIENT_ID, token_use="access")
    with pytest.raises(TypeError):
        CognitoJwtVerifier([pool], client_id=CLIENT_ID)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="twice"):
        CognitoJwtVerifier([pool, pool])


def test_groups_require_any_one_of_them(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    verifier = make_verifier(groups=["admin", "support"])
    assert verifier.verify(tokens.make(cognito__groups=["support", "staff"]))
    with pytest.raises(MissingGroup, match="'admin', 'support'"):
        verifier.verify(tokens.make(cognito__groups=["staff"]))
    with pytest.raises(MissingGroup, match="no groups"):
        verifier.verify(tokens.make())


def test_scopes_require_every_one_of_them(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    verifier = make_verifier(scopes=["orders/read", "orders/write"])
    assert verifier.verify(tokens.make(scope="openid orders/read orders/write"))
    with pytest.raises(MissingScope, match="orders/write"):
        verifier.verify(tokens.make(scope="orders/read"))
    assert make_verifier(scopes="orders/read").verify(tokens.make(scope="orders/read"))


def test_a_custom_check_sees_the_claims_and_may_refuse(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    seen: list[Mapping[str, Any]] = []

    def only_alice(claims: Mapping[str, Any]) -> bool:
        seen.append(claims)
        return claims["username"] == "alice"

    verifier = make_verifier(custom_check=only_alice)
    assert verifier.verify(tokens.make(username="alice"))
    with pytest.raises(CustomCheckFailed, match="returned False"):
        verifier.verify(tokens.make(username="bob"))
    with pytest.raises(TypeError):
        seen[0]["username"] = "mallory"  # type: ignore[index]


def test_a_custom_check_that_raises_refuses(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    def revoked(claims: Mapping[str, Any]) -> None:
        raise LookupError("jti revoked")

    with pytest.raises(CustomCheckFailed, match="LookupError: 'jti revoked'") as caught:
        make_verifier(custom_check=revoked).verify(tokens.make())
    assert isinstance(caught.value.__cause__, LookupError)


def test_the_returned_claims_are_the_callers_to_change(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    verifier = make_verifier()
    token = tokens.make(username="alice")
    verifier.verify(token)["username"] = "mallory"
    assert verifier.verify(token)["username"] == "alice"


def test_the_jwks_is_fetched_once_for_many_tokens(
    make_verifier: MakeVerifier, tokens: Tokens, fetcher: CountingFetcher
) -> None:
    verifier = make_verifier()
    for _ in range(5):
        verifier.verify(tokens.make())
    assert fetcher.calls == [JWKS_URI]


def test_a_jwks_loaded_by_hand_needs_no_fetch(
    make_verifier: MakeVerifier, tokens: Tokens, fetcher: CountingFetcher, keys: Keys
) -> None:
    verifier = make_verifier()
    verifier.load_jwks(keys.jwks("main"))
    assert verifier.verify(tokens.make())
    assert fetcher.calls == []


def test_repr_names_the_pools_and_no_keys(make_verifier: MakeVerifier) -> None:
    text = repr(make_verifier())
    assert POOL_ID in text
    assert CLIENT_ID in text
    assert "token_use='access'" in text


def test_json_whitespace_around_the_payload_is_accepted(
    make_verifier: MakeVerifier, tokens: Tokens, keys: Keys
) -> None:
    payload = b"\n " + json.dumps(tokens.claims(username="spaced"), indent=1).encode() + b" \n"
    signing_input = f"{b64url_json({'kid': 'main', 'alg': 'RS256'})}.{b64url(payload)}"
    signature = keys.main.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    token = f"{signing_input}.{b64url(signature)}"
    verifier = make_verifier()
    assert verifier.verify(token)["username"] == "spaced"
    assert verifier.verify(token)["username"] == "spaced"  # and from the cache
