"""CognitoAuth: bearer tokens on httpx requests, refreshed before expiry, one retry on 401."""

from __future__ import annotations

import asyncio
import threading

import httpx

from cognito_gate.client import CognitoAuth, MemoryStorage
from cognito_gate.cognito.local import LocalPool
from tests.client.conftest import RefreshCounter, Tokens, user_for
from tests.conftest import FakeClock


class Api:
    """A protected API: answers 200 to the tokens it accepts, 401 to anything else."""

    def __init__(self, refused: set[str] | None = None) -> None:
        self.refused = refused or set()
        self.seen: list[str] = []
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ")
        with self._lock:
            self.seen.append(token)
            self.bodies.append(request.content)
        if not header.startswith("Bearer ") or token in self.refused:
            return httpx.Response(401, json={"error": "invalid_token"})
        return httpx.Response(200, json={"ok": True})


def test_each_request_carries_the_access_token(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock
) -> None:
    api = Api()
    user = user_for(pool, tokens, real_clock)
    with httpx.Client(transport=httpx.MockTransport(api), auth=CognitoAuth(user)) as client:
        assert client.get("https://api.example/me").status_code == 200
    assert api.seen == [tokens.access_token]


def test_the_id_token_can_be_sent_instead(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock
) -> None:
    api = Api()
    user = user_for(pool, tokens, real_clock)
    with httpx.Client(transport=httpx.MockTransport(api)) as client:
        client.get("https://api.example/", auth=CognitoAuth(user, token="id"))
    assert api.seen == [tokens.id_token]


def test_a_token_about_to_expire_is_refreshed_before_the_request(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    api = Api()
    user = user_for(pool, tokens, real_clock)
    real_clock.advance(3600 - 30)  # still valid, but with less than the 60 s margin left
    assert user.get_session().is_valid()
    with httpx.Client(transport=httpx.MockTransport(api), auth=CognitoAuth(user)) as client:
        client.get("https://api.example/")
    assert refresh_counter.count == 1
    assert api.seen[0] != tokens.access_token
    assert api.seen[0] == user.get_session().access_token.jwt_token


def test_a_401_is_retried_once_with_a_refreshed_token_and_the_same_body(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    api = Api(refused={tokens.access_token})  # the API already refuses the first token
    user = user_for(pool, tokens, real_clock)
    with httpx.Client(transport=httpx.MockTransport(api), auth=CognitoAuth(user)) as client:
        response = client.post("https://api.example/things", json={"name": "x"})
    assert response.status_code == 200
    assert refresh_counter.count == 1
    assert api.seen[0] == tokens.access_token
    assert api.seen[1] != tokens.access_token
    assert api.bodies[0] == api.bodies[1] == b'{"name":"x"}'
    assert len(response.history) == 1


def test_a_second_401_is_returned_as_it_is(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    def always_401(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401)

    user = user_for(pool, tokens, real_clock)
    with httpx.Client(transport=httpx.MockTransport(always_401), auth=CognitoAuth(user)) as c:
        assert c.get("https://api.example/").status_code == 401
    assert refresh_counter.count == 1


def test_without_retry_a_401_is_returned_at_once(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    api = Api(refused={tokens.access_token})
    user = user_for(pool, tokens, real_clock)
    with httpx.Client(transport=httpx.MockTransport(api)) as client:
        response = client.get("https://api.example/", auth=CognitoAuth(user, retry_on_401=False))
    assert response.status_code == 401
    assert refresh_counter.count == 0


def test_the_async_client_works_the_same(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    api = Api(refused={tokens.access_token})
    user = user_for(pool, tokens, real_clock)

    async def main() -> int:
        transport = httpx.MockTransport(api)
        async with httpx.AsyncClient(transport=transport, auth=CognitoAuth(user)) as client:
            return (await client.post("https://api.example/", content=b"body")).status_code

    assert asyncio.run(main()) == 200
    assert refresh_counter.count == 1
    assert api.bodies == [b"body", b"body"]


def test_a_hundred_async_requests_with_an_expired_token_make_one_refresh(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    api = Api()
    user = user_for(pool, tokens, real_clock, MemoryStorage())
    real_clock.advance(3605)

    async def main() -> list[int]:
        transport = httpx.MockTransport(api)
        async with httpx.AsyncClient(transport=transport, auth=CognitoAuth(user)) as client:
            answers = await asyncio.gather(
                *(client.get("https://api.example/") for _ in range(100))
            )
        return [a.status_code for a in answers]

    assert asyncio.run(main()) == [200] * 100
    assert refresh_counter.count == 1
    assert len(set(api.seen)) == 1


def test_a_hundred_401s_for_one_token_make_one_refresh(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    api = Api(refused={tokens.access_token})
    user = user_for(pool, tokens, real_clock)
    barrier = threading.Barrier(100)
    codes: list[int] = []
    client = httpx.Client(transport=httpx.MockTransport(api), auth=CognitoAuth(user))

    def call() -> None:
        barrier.wait()
        codes.append(client.get("https://api.example/").status_code)

    threads = [threading.Thread(target=call) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert codes == [200] * 100
    assert refresh_counter.count == 1
