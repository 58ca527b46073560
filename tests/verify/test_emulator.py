"""Real tokens from the Cognito emulator verify against its JWKS, fetched over HTTP."""

from __future__ import annotations

import pytest

from cognito_gate.cognito.local import LocalPool, emulator_client, provision_pool
from cognito_gate.verify import (
    CognitoJwtVerifier,
    InvalidIssuer,
    InvalidTokenUse,
    UserPool,
    jwks_uri_for,
)


def log_in(pool: LocalPool) -> dict[str, str]:
    assert pool.demo_username
    assert pool.demo_password
    answer = emulator_client(pool.endpoint, pool.region).admin_initiate_auth(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": pool.demo_username, "PASSWORD": pool.demo_password},
    )
    result: dict[str, str] = answer["AuthenticationResult"]
    return result


def test_the_emulators_access_and_id_tokens_verify(pool: LocalPool) -> None:
    tokens = log_in(pool)
    assert pool.jwks_uri == jwks_uri_for(pool.user_pool_id, pool.endpoint)
    access = CognitoJwtVerifier(
        pool.user_pool_id, client_id=pool.client_id, token_use="access", jwks_uri=pool.jwks_uri
    )
    id_ = CognitoJwtVerifier(
        pool.user_pool_id, client_id=pool.client_id, token_use="id", jwks_uri=pool.jwks_uri
    )
    access.hydrate()

    claims = access.verify(tokens["AccessToken"])
    assert claims["username"] == "demo"
    assert claims["client_id"] == pool.client_id
    assert claims["iss"] == pool.issuer

    id_claims = id_.verify(tokens["IdToken"])  # fetches lazily on first need
    assert id_claims["cognito:username"] == "demo"
    assert id_claims["aud"] == pool.client_id
    assert id_claims["sub"] == claims["sub"]

    with pytest.raises(InvalidTokenUse):
        access.verify(tokens["IdToken"])
    assert [c.fetches for c in access.jwks.values()] == [1]


def test_a_token_of_another_emulated_pool_is_refused(pool: LocalPool) -> None:
    other = provision_pool(pool.endpoint, name="another-pool")
    verifier = CognitoJwtVerifier(
        pool.user_pool_id, client_id=pool.client_id, token_use="access", jwks_uri=pool.jwks_uri
    )
    with pytest.raises(InvalidIssuer):
        verifier.verify(log_in(other)["AccessToken"])
    both = CognitoJwtVerifier(
        [
            UserPool(p.user_pool_id, client_id=p.client_id, token_use="access", jwks_uri=p.jwks_uri)
            for p in (pool, other)
        ]
    )
    assert both.verify(log_in(other)["AccessToken"])["iss"] == other.issuer
    assert both.verify(log_in(pool)["AccessToken"])["iss"] == pool.issuer
