"""The verified-token cache: same bytes, same answer, and the clock re-checked on every hit."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from cognito_gate.verify import (
    CognitoJwtVerifier,
    JwtExpired,
    JwtIssuedInFuture,
    JwtNotBefore,
    VerifiedTokenCache,
)
from tests.conftest import FakeClock
from tests.verify.conftest import Tokens

MakeVerifier = Callable[..., CognitoJwtVerifier]


class CountingKey:
    """Wraps a verifying key and counts the signature checks made with it."""

    def __init__(self, key: Any) -> None:
        self.key, self.calls = key, 0

    def verify(self, *args: Any) -> bool:
        self.calls += 1
        return bool(self.key.verify(*args))


def rsa_verifications(verifier: CognitoJwtVerifier, tokens: list[str]) -> int:
    """How many RSA signature checks verifying ``tokens`` in order costs."""
    verifier.hydrate()
    (jwks,) = verifier.jwks.values()
    counting = {kid: CountingKey(key) for kid, key in jwks.keys.items()}
    jwks.keys = counting  # type: ignore[assignment]
    for token in tokens:
        verifier.verify(token)
    return sum(key.calls for key in counting.values())


def test_a_token_seen_before_is_not_verified_again(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    token = tokens.make()
    verifier = make_verifier()
    assert rsa_verifications(verifier, [token] * 10) == 1
    assert rsa_verifications(make_verifier(cache_size=0), [token] * 3) == 3


def test_a_cached_token_is_refused_once_it_expires(
    make_verifier: MakeVerifier, tokens: Tokens, clock: FakeClock
) -> None:
    verifier = make_verifier()
    token = tokens.make(exp=int(clock.now) + 60)
    assert verifier.verify(token)
    clock.advance(59)
    assert verifier.verify(token)
    clock.advance(1)
    with pytest.raises(JwtExpired):
        verifier.verify(token)
    with pytest.raises(JwtExpired):  # and stays refused
        verifier.verify(token)


def test_a_cached_token_is_refused_when_the_clock_goes_back_before_nbf(
    make_verifier: MakeVerifier, tokens: Tokens, clock: FakeClock
) -> None:
    verifier = make_verifier(grace_seconds=5)
    token = tokens.make(nbf=int(clock.now))
    assert verifier.verify(token)
    clock.advance(-6)
    with pytest.raises(JwtNotBefore):
        verifier.verify(token)


def test_a_cached_token_is_refused_when_the_clock_goes_back_before_iat(
    make_verifier: MakeVerifier, tokens: Tokens, clock: FakeClock
) -> None:
    verifier = make_verifier(grace_seconds=2)
    token = tokens.make()
    assert verifier.verify(token)
    clock.advance(-3)
    with pytest.raises(JwtIssuedInFuture):
        verifier.verify(token)


def test_the_custom_check_runs_on_every_hit(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    revoked: set[str] = set()
    verifier = make_verifier(custom_check=lambda claims: claims["jti"] not in revoked)
    token = tokens.make(jti="j-1")
    assert verifier.verify(token)
    revoked.add("j-1")
    with pytest.raises(Exception, match="custom check"):
        verifier.verify(token)


def test_a_hit_returns_an_equal_but_separate_dict(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    verifier = make_verifier()
    token = tokens.make()
    first, second = verifier.verify(token), verifier.verify(token)
    assert first == second
    assert first is not second


def test_clear_cache_makes_the_next_call_verify_afresh(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    verifier = make_verifier()
    token = tokens.make()
    verifier.verify(token)
    verifier.clear_cache()
    assert rsa_verifications(verifier, [token]) == 1


def at(now: float) -> Callable[[], float]:
    return lambda: now


def new_cache(max_size: int) -> VerifiedTokenCache:
    return VerifiedTokenCache(max_size, parse=json.loads)


def test_the_cache_keeps_the_most_recently_used_tokens() -> None:
    cache = new_cache(2)
    for name in ("a", "b"):
        cache.put(name, json.dumps({"name": name}).encode(), 0.0, 100.0)
    assert cache.get("a", at(1.0)) == {"name": "a"}  # a is now the most recent
    cache.put("c", b'{"name": "c"}', 0.0, 100.0)
    assert len(cache) == 2
    assert cache.get("b", at(1.0)) is None
    assert cache.get("a", at(1.0)) is not None
    assert cache.get("c", at(1.0)) is not None


def test_a_token_is_parsed_once_on_its_first_hit() -> None:
    parsed: list[bytes] = []

    def parse(payload: bytes) -> dict[str, Any]:
        parsed.append(payload)
        return dict(json.loads(payload))

    cache = VerifiedTokenCache(10, parse=parse)
    cache.put("t", b'{"sub": "x"}', 0.0, 100.0)
    assert parsed == []
    first, second = cache.get("t", at(1.0)), cache.get("t", at(2.0))
    assert first == {"sub": "x"}
    assert first is second  # the verifier copies before handing it out
    assert parsed == [b'{"sub": "x"}']


def test_the_cache_answers_only_inside_the_window() -> None:
    cache = new_cache(10)
    cache.put("t", b"{}", 10.0, 20.0)
    assert cache.get("t", at(9.9)) is None
    assert len(cache) == 0  # dropped, so the next call verifies and says why
    cache.put("t", b"{}", 10.0, 20.0)
    assert cache.get("t", at(10.0)) == {}
    assert cache.get("t", at(20.0)) is None


def test_the_default_bound_is_ten_thousand(make_verifier: MakeVerifier, tokens: Tokens) -> None:
    verifier = make_verifier()
    assert verifier._cache is not None
    assert verifier._cache.max_size == 10_000
    with pytest.raises(ValueError, match="at least 1"):
        new_cache(0)


def test_threads_sharing_a_small_cache_all_get_right_answers(
    make_verifier: MakeVerifier, tokens: Tokens
) -> None:
    verifier = make_verifier(cache_size=3)  # far fewer slots than tokens: constant eviction
    batch = [tokens.make(username=f"user{i}") for i in range(12)]
    verifier.hydrate()
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(30):
                for i, token in enumerate(batch):
                    assert verifier.verify(token)["username"] == f"user{i}"
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert len(verifier._cache or ()) <= 3
