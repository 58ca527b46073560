"""RSA keys, a JWKS, Cognito-shaped tokens signed here, and a fetcher that counts its calls."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cognito_gate.verify import CognitoJwtVerifier
from tests.conftest import FakeClock

POOL_ID = "eu-west-1_TestPool1"
OTHER_POOL_ID = "us-east-1_OtherPool2"
CLIENT_ID = "3n4b5urk1ft4fl3mg5e62d9ado"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL_ID}"
JWKS_URI = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL_ID}/.well-known/jwks.json"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def jwk_of(key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()

    def uint(i: int) -> str:
        return b64url(i.to_bytes((i.bit_length() + 7) // 8, "big"))

    return {"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": uint(numbers.n),
            "e": uint(numbers.e), **extra}  # fmt: skip


@dataclass
class Keys:
    """Two signing keys of the pool, and one the pool never published."""

    main: rsa.RSAPrivateKey
    second: rsa.RSAPrivateKey
    stranger: rsa.RSAPrivateKey

    def jwks(self, *kids: str) -> dict[str, Any]:
        by_kid = {"main": self.main, "second": self.second, "stranger": self.stranger}
        return {"keys": [jwk_of(by_kid[k], k) for k in kids or ("main",)]}


@pytest.fixture(scope="session")
def keys() -> Keys:
    new = rsa.generate_private_key
    return Keys(new(65537, 2048), new(65537, 2048), new(65537, 2048))


def sign(key: rsa.RSAPrivateKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


@dataclass
class Tokens:
    """Makes Cognito-shaped tokens at the fake clock's time; overrides change any claim."""

    keys: Keys
    clock: FakeClock

    def claims(self, use: str = "access", /, **overrides: Any) -> dict[str, Any]:
        now = int(self.clock.now)
        claims: dict[str, Any] = {
            "sub": str(uuid.uuid4()),
            "iss": ISSUER,
            "token_use": use,
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
            "jti": str(uuid.uuid4()),
            "origin_jti": str(uuid.uuid4()),
        }
        if use == "access":
            claims |= {"client_id": CLIENT_ID, "scope": "aws.cognito.signin.user.admin",
                       "username": "alice"}  # fmt: skip
        else:
            claims |= {"aud": CLIENT_ID, "cognito:username": "alice", "email": "a@example.com"}
        for name, value in overrides.items():
            if value is DROP:
                claims.pop(name.replace("__", ":"), None)
            else:
                claims[name.replace("__", ":")] = value
        return claims

    def make(
        self,
        use: str = "access",
        /,
        *,
        kid: str = "main",
        key: rsa.RSAPrivateKey | None = None,
        header: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        signer = key or {"main": self.keys.main, "second": self.keys.second}.get(kid)
        assert signer is not None, "give key= for a kid the fixture does not know"
        return sign(signer, header or {"kid": kid, "alg": "RS256"}, self.claims(use, **overrides))


DROP = object()  # an override value that removes the claim


@pytest.fixture
def tokens(keys: Keys, clock: FakeClock) -> Tokens:
    return Tokens(keys, clock)


@dataclass
class CountingFetcher:
    """Serves JWKS documents by URI from a dict and counts every call."""

    documents: dict[str, Any]
    calls: list[str] = field(default_factory=list)
    fail: bool = False

    def __call__(self, uri: str, /) -> object:
        self.calls.append(uri)
        if self.fail:
            raise ConnectionError("JWKS host unreachable")
        return self.documents[uri]


@pytest.fixture
def fetcher(keys: Keys) -> CountingFetcher:
    return CountingFetcher({JWKS_URI: keys.jwks("main")})


@pytest.fixture
def make_verifier(fetcher: CountingFetcher, clock: FakeClock) -> Callable[..., CognitoJwtVerifier]:
    """A verifier of POOL_ID for CLIENT_ID access tokens; keywords override anything."""

    def make(**options: Any) -> CognitoJwtVerifier:
        options.setdefault("client_id", CLIENT_ID)
        options.setdefault("token_use", "access")
        options.setdefault("fetcher", fetcher)
        options.setdefault("clock", clock)
        user_pool_id = options.pop("user_pool_id", POOL_ID)
        return CognitoJwtVerifier(user_pool_id, **options)

    return make
