"""One account, one counter: every name of an account shares its lock, on the pools most real
pools are (sign-in with email; aliases), over HTTP against the emulator over HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cognito_gate.cognito.local import Emulator, LocalPool, create_user, emulator_client
from tests.conftest import FakeClock
from tests.server.conftest import PASSWORD, Api, CheckCounter

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]


@dataclass(frozen=True)
class Account:
    """A user of a pool with several sign-in names, and those names."""

    pool: LocalPool
    username: str  # the account's own username (a generated id on an email pool)
    names: tuple[str, ...]  # every name that reaches it, the username among them


def email_pool_account(emulator: Emulator) -> Account:
    """Amplify's most common set-up: sign in with an email; the username is generated."""
    pool = provision_pool_with(emulator, username_attributes=["email"])
    idp = emulator_client(pool.endpoint)
    username = create_user(
        idp, pool.user_pool_id, "alice@example.com", PASSWORD, {"email_verified": "true"}
    )
    assert username != "alice@example.com"
    return Account(pool, username, ("alice@example.com", username, "ALICE@Example.com"))


def alias_pool_account(emulator: Emulator) -> Account:
    """A username, plus a verified email and a preferred_username as aliases."""
    pool = provision_pool_with(emulator, alias_attributes=["email", "preferred_username"])
    idp = emulator_client(pool.endpoint)
    attributes = {
        "email": "alice@example.com",
        "email_verified": "true",
        "preferred_username": "ally",
    }
    username = create_user(idp, pool.user_pool_id, "alice", PASSWORD, attributes)
    return Account(pool, username, ("alice", "alice@example.com", "Ally", "ALICE"))


def provision_pool_with(emulator: Emulator, **kwargs: Any) -> LocalPool:
    from cognito_gate.cognito.local import provision_pool

    return provision_pool(emulator.endpoint, demo_username=None, **kwargs)


@pytest.fixture(params=["email", "alias"])
def account(request: pytest.FixtureRequest, emulator: Emulator) -> Account:
    make = email_pool_account if request.param == "email" else alias_pool_account
    return make(emulator)


class CallCounter:
    """Counts named calls where the emulator's backend receives them."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, name: str) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def __getitem__(self, name: str) -> int:
        return self.counts.get(name, 0)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> CallCounter:
    """AdminInitiateAuth and AdminGetUser requests as the emulator's HTTP layer receives them
    (its backend calls admin_get_user internally too, so the handlers are counted)."""
    from moto.cognitoidp.responses import CognitoIdpResponse

    counter = CallCounter()
    for name in ("admin_initiate_auth", "admin_get_user"):
        original: Callable[..., Any] = getattr(CognitoIdpResponse, name)

        def counted(self: Any, _n: str = name, _o: Any = original) -> Any:
            counter.hit(_n)
            return _o(self)

        monkeypatch.setattr(CognitoIdpResponse, name, counted)
    return counter


def cognito_refresh(pool: LocalPool, refresh_token: str) -> str:
    """Refresh straight at the emulator, as Amplify or the Python client would: 'ok' or the
    error code Cognito answered."""
    idp = emulator_client(pool.endpoint)
    try:
        idp.initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    except idp.exceptions.NotAuthorizedException:
        return "NotAuthorizedException"
    return "ok"


# -- every name, one counter ------------------------------------------------------------------------


async def test_failures_spread_over_every_name_lock_the_account_at_max_attempts(
    api_factory: ApiFactory, clock: FakeClock, account: Account, cognito_checks: CheckCounter
) -> None:
    api = api_factory(clock, target=account.pool, max_attempts=3)
    names = account.names
    answers = [await api.login(names[i % len(names)], "Wrong-passw0rd!") for i in range(6)]
    assert [r.status_code for r in answers] == [401, 401, 401, 429, 429, 429]
    assert cognito_checks.count == 3  # counted where the emulator receives them
    for name in names:
        refused = await api.login(name, PASSWORD)
        assert refused.status_code == 429, name
        assert refused.json()["error"] == "account_locked"


async def test_200_concurrent_wrong_passwords_over_the_names_reach_cognito_at_most_max_attempts(
    api_factory: ApiFactory, clock: FakeClock, account: Account, cognito_checks: CheckCounter
) -> None:
    api = api_factory(clock, target=account.pool, max_attempts=3)
    names = account.names
    answers = await asyncio.gather(
        *(api.login(names[i % len(names)], "Wrong-passw0rd!") for i in range(200))
    )
    assert 1 <= cognito_checks.count <= 3
    assert sum(r.status_code == 401 for r in answers) == cognito_checks.count
    assert all(r.status_code in (401, 429) for r in answers)
    for name in names:
        assert (await api.login(name, PASSWORD)).status_code == 429


async def test_status_by_any_name_shows_the_same_record(
    api_factory: ApiFactory, clock: FakeClock, account: Account
) -> None:
    api = api_factory(clock, target=account.pool)
    assert (await api.login(account.names[0], "Wrong-passw0rd!")).status_code == 401
    assert (await api.login(account.names[1], "Wrong-passw0rd!")).status_code == 401
    seen = [await api.status(name) for name in account.names]
    assert seen[0] is not None
    assert seen[0]["failures"] == 2
    assert seen[0]["username"] == account.username
    assert all(s == seen[0] for s in seen)


async def test_an_admin_lock_by_one_name_refuses_login_and_refresh_by_every_name(
    api_factory: ApiFactory, clock: FakeClock, account: Account
) -> None:
    api = api_factory(clock, target=account.pool)
    sessions = []
    for name in account.names:
        ok = await api.login(name, PASSWORD)
        assert ok.status_code == 200, ok.text
        assert ok.json()["username"] == account.username
        sessions.append(ok.json()["refreshToken"])
    assert (await api.admin("POST", f"/admin/accounts/{account.names[-1]}/lock")).status_code == 204
    for name in account.names:
        refused = await api.login(name, PASSWORD)
        assert refused.status_code == 429, name
        assert "retryAfter" not in refused.json()  # only an admin unlocks
    for token, name in zip(sessions, account.names, strict=True):
        through_gateway = await api.client().post(
            "/auth/refresh", json={"refreshToken": token, "username": name}
        )
        assert through_gateway.status_code == 403
        assert through_gateway.json()["error"] == "account_disabled"
        # the lock signed the account out at Cognito: its own refresh refuses every session
        assert cognito_refresh(account.pool, token) == "NotAuthorizedException"
    status = await api.status(account.names[0])
    assert status is not None
    assert status["adminLocked"] is True
    # unlock lets the user log in again; it does not bring the ended sessions back
    assert (
        await api.admin("POST", f"/admin/accounts/{account.names[1]}/unlock")
    ).status_code == 204
    assert (await api.login(account.names[0], PASSWORD)).status_code == 200
    assert cognito_refresh(account.pool, sessions[0]) == "NotAuthorizedException"


async def test_lock_signs_out_false_leaves_sessions_at_cognito(
    api_factory: ApiFactory, clock: FakeClock, account: Account
) -> None:
    api = api_factory(clock, target=account.pool, lock_signs_out=False)
    token = (await api.login(account.names[0], PASSWORD)).json()["refreshToken"]
    assert (await api.admin("POST", f"/admin/accounts/{account.names[1]}/lock")).status_code == 204
    assert (await api.login(account.names[0], PASSWORD)).status_code == 429
    assert cognito_refresh(account.pool, token) == "ok"  # so the test above can fail


async def test_a_permanent_lockout_does_not_sign_out(
    api_factory: ApiFactory, clock: FakeClock, account: Account
) -> None:
    api = api_factory(clock, target=account.pool, max_attempts=2, permanent_after=1)
    token = (await api.login(account.names[0], PASSWORD)).json()["refreshToken"]
    for name in account.names[:2]:
        assert (await api.login(name, "Wrong-passw0rd!")).status_code == 401
    assert (await api.login(account.names[0], PASSWORD)).status_code == 429
    # an attacker can cause a permanent lockout: it must not end the owner's sessions
    assert cognito_refresh(account.pool, token) == "ok"


async def test_an_unknown_name_and_a_real_one_answer_alike_with_the_same_round_trips(
    api_factory: ApiFactory, clock: FakeClock, account: Account, calls: CallCounter
) -> None:
    api = api_factory(clock, target=account.pool, max_attempts=3)

    async def attempt(name: str) -> tuple[Any, ...]:
        before = dict(calls.counts)
        response = await api.login(name, "Wrong-passw0rd!")
        trips = {k: v - before.get(k, 0) for k, v in calls.counts.items()}
        return response.status_code, response.content, response.headers.get("retry-after"), trips

    real = [await attempt(account.names[0]) for _ in range(4)]
    ghost = [await attempt("nobody@example.com") for _ in range(4)]
    assert real == ghost
    assert real[0][3] == {"admin_get_user": 1, "admin_initiate_auth": 1}


async def test_a_pool_with_one_name_per_account_makes_no_lookup(
    api_factory: ApiFactory, clock: FakeClock, calls: CallCounter
) -> None:
    api = api_factory(clock)
    assert (await api.login("Demo", "Wrong-passw0rd!")).status_code == 401
    assert (await api.login("demo", PASSWORD)).status_code == 200
    assert calls["admin_get_user"] == 0
    assert calls["admin_initiate_auth"] == 2


async def test_cognito_unreachable_while_resolving_is_503_and_counts_nothing(
    api_factory: ApiFactory, clock: FakeClock, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = api_factory(clock, target=account.pool)
    assert (await api.login(account.names[0], "Wrong-passw0rd!")).status_code == 401
    from botocore.exceptions import EndpointConnectionError

    def down(**kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url=account.pool.endpoint)

    monkeypatch.setattr(api.gate.idp.client, "admin_get_user", down)
    answer = await api.login("someone-new@example.com", "Wrong-passw0rd!")
    assert answer.status_code == 503
    assert answer.json()["error"] == "unavailable"
    monkeypatch.undo()
    status = await api.status(account.names[0])
    assert status is not None
    assert status["failures"] == 1


# -- names as written ----------------------------------------------------------------------------


async def test_a_name_that_changes_under_case_folding_logs_in_as_written(
    api_factory: ApiFactory, clock: FakeClock, pool: LocalPool
) -> None:
    create_user(emulator_client(pool.endpoint), pool.user_pool_id, "straße", PASSWORD)
    api = api_factory(clock)
    for name in ("straße", "Straße", " STRAßE "):
        ok = await api.login(name, PASSWORD)
        assert ok.status_code == 200, (name, ok.text)
        assert ok.json()["username"] == "straße"
    # Cognito lower-cases, it does not case-fold: 'strasse' is another (unknown) name
    assert (await api.login("strasse", PASSWORD)).status_code == 401
    assert (await api.status("straße")) is None
    assert (await api.status("strasse")) is not None


# -- keys carry the pool -------------------------------------------------------------------------


async def test_two_pools_sharing_a_store_never_share_a_counter(
    api_factory: ApiFactory, clock: FakeClock, emulator: Emulator, tmp_path: Any
) -> None:
    from cognito_gate.cognito.local import provision_pool

    url = f"sqlite:///{tmp_path}/shared.db"
    first = api_factory(clock, store=url, max_attempts=2)
    second = api_factory(clock, target=provision_pool(emulator.endpoint), store=url)
    for _ in range(2):
        assert (await first.login("demo", "Wrong-passw0rd!")).status_code == 401
    assert (await first.login("demo", PASSWORD)).status_code == 429
    assert (await second.login("demo", PASSWORD)).status_code == 200


async def test_events_are_kept_under_the_account_whichever_name_was_typed(
    api_factory: ApiFactory, clock: FakeClock, account: Account
) -> None:
    api = api_factory(clock, target=account.pool)
    assert (await api.login(account.names[0], "Wrong-passw0rd!")).status_code == 401
    assert (await api.login(account.names[1], PASSWORD)).status_code == 200
    response = await api.admin("GET", f"/admin/events?username={account.names[-1]}")
    events = response.json()["events"]
    assert [(e["type"], e["outcome"]) for e in events] == [
        ("login", "success"),
        ("login", "failure"),
    ]
    assert {e["username"] for e in events} == {account.username}
    assert PASSWORD not in response.text
