"""The JWKS: fetched once, refetched for a new kid at most once per interval, failing fast."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cognito_gate.verify import (
    CognitoJwtVerifier,
    HttpJwksFetcher,
    InvalidJwk,
    JwksFetchError,
    JwksRefetchTooSoon,
    KidNotFound,
)
from cognito_gate.verify.jwks import parse_jwks
from tests.conftest import FakeClock
from tests.verify.conftest import JWKS_URI, CountingFetcher, Keys, Tokens, jwk_of

MakeVerifier = Callable[..., CognitoJwtVerifier]


def test_a_rotated_in_key_is_fetched_once(
    make_verifier: MakeVerifier, tokens: Tokens, fetcher: CountingFetcher, keys: Keys
) -> None:
    verifier = make_verifier()
    verifier.hydrate()
    fetcher.documents[JWKS_URI] = keys.jwks("main", "second")  # Cognito publishes a new key
    for _ in range(3):
        assert verifier.verify(tokens.make(kid="second"))
    assert verifier.verify(tokens.make(kid="main"))
    assert fetcher.calls == [JWKS_URI, JWKS_URI]


def test_a_flood_of_unknown_kids_costs_one_fetch_per_interval(
    make_verifier: MakeVerifier,
    tokens: Tokens,
    fetcher: CountingFetcher,
    keys: Keys,
    clock: FakeClock,
) -> None:
    verifier = make_verifier(refetch_interval=10)
    verifier.hydrate()
    assert len(fetcher.calls) == 1
    clock.advance(10)
    refusals: list[type[Exception]] = []
    for second in range(30):  # 30 s of 20 forged kids a second
        for n in range(20):
            forged = tokens.make(kid=f"forged-{second}-{n}", key=keys.stranger)
            with pytest.raises(KidNotFound) as caught:
                verifier.verify(forged)
            refusals.append(type(caught.value))
        clock.advance(1)
    assert len(fetcher.calls) == 1 + 3  # at 10 s, 20 s and 30 s on the clock
    assert refusals.count(KidNotFound) == 3  # the ones that did fetch, and found nothing
    assert refusals.count(JwksRefetchTooSoon) == 600 - 3  # everyone else failed fast


def test_inside_the_penalty_box_a_new_kid_fails_fast_then_succeeds_after(
    make_verifier: MakeVerifier,
    tokens: Tokens,
    fetcher: CountingFetcher,
    keys: Keys,
    clock: FakeClock,
) -> None:
    verifier = make_verifier(refetch_interval=10)
    with pytest.raises(KidNotFound):  # a forged kid: fetched at 0 s, nothing found
        verifier.verify(tokens.make(kid="forged", key=keys.stranger))
    fetcher.documents[JWKS_URI] = keys.jwks("main", "second")
    clock.advance(3)
    started = time.monotonic()
    with pytest.raises(JwksRefetchTooSoon, match=r"next refetch allowed in 7\.0s"):
        verifier.verify(tokens.make(kid="second"))
    assert time.monotonic() - started < 1  # no waiting
    clock.advance(7)
    assert verifier.verify(tokens.make(kid="second"))


def test_known_kids_keep_working_while_the_penalty_box_is_armed(
    make_verifier: MakeVerifier, tokens: Tokens, keys: Keys
) -> None:
    verifier = make_verifier()
    with pytest.raises(KidNotFound):
        verifier.verify(tokens.make(kid="forged", key=keys.stranger))
    with pytest.raises(JwksRefetchTooSoon):
        verifier.verify(tokens.make(kid="forged", key=keys.stranger))
    assert verifier.verify(tokens.make(kid="main"))


def test_an_unreachable_jwks_fails_closed_and_is_retried_once_per_interval(
    make_verifier: MakeVerifier, tokens: Tokens, fetcher: CountingFetcher, clock: FakeClock
) -> None:
    fetcher.fail = True
    verifier = make_verifier(refetch_interval=10)
    with pytest.raises(JwksFetchError, match="ConnectionError") as caught:
        verifier.verify(tokens.make())
    assert isinstance(caught.value.__cause__, ConnectionError)
    with pytest.raises(JwksFetchError, match=r"failed .*next try in"):
        verifier.verify(tokens.make())
    assert len(fetcher.calls) == 1
    fetcher.fail = False
    clock.advance(10)
    assert verifier.verify(tokens.make())
    assert len(fetcher.calls) == 2


def test_hydrate_fetches_every_pool_once(
    make_verifier: MakeVerifier, fetcher: CountingFetcher
) -> None:
    verifier = make_verifier()
    verifier.hydrate()
    verifier.hydrate()
    assert fetcher.calls == [JWKS_URI]


@pytest.mark.anyio
async def test_ahydrate_and_averify_fetch_in_a_worker_thread(
    make_verifier: MakeVerifier, tokens: Tokens, fetcher: CountingFetcher, keys: Keys
) -> None:
    fetch_threads: list[threading.Thread] = []

    def fetch(uri: str) -> object:
        fetch_threads.append(threading.current_thread())
        return fetcher(uri)

    verifier = make_verifier(fetcher=fetch)
    await verifier.ahydrate()
    fetcher.documents[JWKS_URI] = keys.jwks("main", "second")
    claims = await verifier.averify(tokens.make(kid="second"))
    assert claims["token_use"] == "access"
    assert len(fetch_threads) == 2
    assert threading.current_thread() not in fetch_threads
    with pytest.raises(JwksRefetchTooSoon):
        await verifier.averify(tokens.make(kid="forged", key=keys.stranger))


def test_threads_that_need_the_same_new_kid_share_one_fetch(
    make_verifier: MakeVerifier, tokens: Tokens, fetcher: CountingFetcher, keys: Keys
) -> None:
    gate = threading.Event()

    def slow_fetch(uri: str) -> object:
        gate.wait(5)
        return fetcher(uri)

    verifier = make_verifier(fetcher=slow_fetch)
    fetcher.documents[JWKS_URI] = keys.jwks("main", "second")
    results: list[object] = []
    token = tokens.make(kid="second")

    def call() -> None:
        try:
            results.append(verifier.verify(token)["token_use"])
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert results == ["access"] * 8
    assert len(fetcher.calls) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"use": "enc"}, "use is 'enc'"),
        ({"kty": "EC"}, "kty is 'EC'"),
        ({"alg": "RS512"}, "alg is 'RS512'"),
        ({"key_ops": ["encrypt"]}, "key_ops"),
        ({"e": "AAE"}, "exponent"),
        ({"n": "AQAB"}, "at least 2048"),
        ({"n": "!!"}, "'n' is not base64url"),
    ],
)
def test_a_jwk_unfit_for_rs256_refuses_its_tokens(
    make_verifier: MakeVerifier,
    tokens: Tokens,
    fetcher: CountingFetcher,
    keys: Keys,
    change: dict[str, Any],
    reason: str,
) -> None:
    fetcher.documents[JWKS_URI] = {"keys": [jwk_of(keys.main, "main", **change)]}
    with pytest.raises(InvalidJwk, match=reason):
        make_verifier().verify(tokens.make())


def test_a_jwk_without_use_and_alg_is_accepted_as_moto_serves_it(
    make_verifier: MakeVerifier, tokens: Tokens, fetcher: CountingFetcher, keys: Keys
) -> None:
    jwk = jwk_of(keys.main, "main")
    del jwk["use"], jwk["alg"]
    fetcher.documents[JWKS_URI] = {"keys": [jwk]}
    assert make_verifier().verify(tokens.make())


def test_a_kid_listed_twice_is_refused_as_ambiguous(keys: Keys) -> None:
    usable, unusable = parse_jwks({"keys": [jwk_of(keys.main, "k"), jwk_of(keys.second, "k")]})
    assert usable == {}
    assert "more than once" in unusable["k"]


@pytest.mark.parametrize("document", [[], {"keys": {}}, {"nokeys": []}, "jwks"])
def test_a_document_that_is_not_a_jwks_is_a_fetch_error(
    make_verifier: MakeVerifier, tokens: Tokens, fetcher: CountingFetcher, document: object
) -> None:
    fetcher.documents[JWKS_URI] = document
    with pytest.raises(JwksFetchError, match="not a JSON object with a 'keys' list"):
        make_verifier().verify(tokens.make())


def _http_fetcher(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> HttpJwksFetcher:
    return HttpJwksFetcher(client=httpx.Client(transport=httpx.MockTransport(handler)), **kw)


def test_the_http_fetcher_returns_the_parsed_jwks(keys: Keys) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=keys.jwks("main"))

    assert _http_fetcher(handler)(JWKS_URI) == keys.jwks("main")
    assert str(seen[0].url) == JWKS_URI
    assert seen[0].method == "GET"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(404, text="no"), "expected HTTP 200, got 404"),
        (httpx.Response(200, text="<html>"), "not JSON"),
        (httpx.Response(200, content=b"[" + b"1," * 100_000 + b"1]"), "over the 1000-byte limit"),
    ],
)
def test_the_http_fetcher_refuses_bad_answers(response: httpx.Response, message: str) -> None:
    with pytest.raises(JwksFetchError, match=message):
        _http_fetcher(lambda request: response, max_bytes=1000)(JWKS_URI)


def test_the_http_fetcher_reports_transport_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(JwksFetchError, match="ConnectTimeout"):
        _http_fetcher(handler)(JWKS_URI)


def test_the_http_fetcher_works_without_a_client_of_its_own(keys: Keys) -> None:
    # A loopback server that answers one JWKS request.
    import http.server

    body = json.dumps(keys.jwks("main")).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/pool/.well-known/jwks.json"
        assert HttpJwksFetcher(timeout=5)(url) == keys.jwks("main")
    finally:
        thread.join(5)
        server.server_close()
