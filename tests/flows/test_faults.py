"""The flows fail closed, and Cognito's answers the emulator cannot give (throttling, its own
per-user limits) are answered as they should be, through botocore's Stubber."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from cognito_gate.cognito.idp import CognitoIdp
from cognito_gate.cognito.local import EMULATOR_CREDENTIALS, LocalPool
from tests.conftest import FakeClock
from tests.flows.conftest import ALICE, NEW_PASSWORD, post
from tests.server.conftest import Api
from tests.server.test_faults import closed_port

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]


def stub_error(stub: Stubber, operation: str, code: str, message: str = "x", n: int = 1) -> None:
    for _ in range(n):
        stub.add_client_error(
            operation, service_error_code=code, service_message=message, http_status_code=400
        )


async def test_an_unreachable_cognito_is_503_for_every_name_and_costs_no_budget(
    api_factory: ApiFactory, clock: FakeClock, pool: LocalPool, alice: str
) -> None:
    api = api_factory(clock, code_send_max=2)
    await api.gate.start()
    working = api.gate.idp
    api.gate.idp = CognitoIdp(
        user_pool_id=pool.user_pool_id,
        client_id=pool.client_id,
        region=pool.region,
        endpoint=f"http://127.0.0.1:{closed_port()}",
        credentials=EMULATOR_CREDENTIALS,
    )
    answers = [
        await post(api, "/auth/forgot-password", {"username": name})
        for name in (ALICE, "nobody", ALICE, ALICE)
    ]
    assert {(a.status_code, a.content) for a in answers} == {
        (503, b'{"error":"unavailable","message":"The service is unavailable; try again shortly."}')
    }
    api.gate.idp = working
    # Nothing was spent: the whole budget is there once Cognito is back.
    statuses = [
        (await post(api, "/auth/forgot-password", {"username": ALICE})).status_code
        for _ in range(3)
    ]
    assert statuses == [202, 202, 429]


async def test_an_unreachable_store_refuses_the_flows_without_asking_cognito(
    api_factory: ApiFactory, clock: FakeClock, tmp_path: Path
) -> None:
    db = tmp_path / "state" / "gate.db"
    api = api_factory(clock, store=f"sqlite:///{db}")
    await api.gate.start()
    await api.gate.audit.flush()
    await api.gate.store.close()
    for file in db.parent.iterdir():
        file.unlink()
    db.parent.rmdir()
    db.parent.write_text("not a folder")
    body: dict[str, Any]
    with Stubber(api.gate.idp.client):  # no answer queued: any call to Cognito would fail
        for route, body in (
            ("/auth/forgot-password", {"username": ALICE}),
            ("/auth/confirm-signup", {"username": ALICE, "code": "123456"}),
            ("/auth/signup", {"username": "x", "password": "Xx-passw0rd!", "attributes": {}}),
        ):
            answer = await post(api, route, body)
            assert answer.status_code == 503, route
            assert answer.json()["error"] == "unavailable"


async def test_cognito_throttling_a_code_check_is_503_and_no_wrong_guess(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    api = api_factory(clock, code_max_attempts=1)
    await api.gate.start()
    with Stubber(api.gate.idp.client) as stub:
        stub_error(stub, "confirm_sign_up", "TooManyRequestsException", n=3)
        for _ in range(3):
            answer = await post(api, "/auth/confirm-signup", {"username": "z", "code": "123456"})
            assert answer.status_code == 503
    # With one guess allowed, that guess is still there.
    answer = await post(api, "/auth/confirm-signup", {"username": "z", "code": "123456"})
    assert answer.json()["error"] == "code_mismatch"


async def test_cognitos_own_limit_on_codes_is_429(api_factory: ApiFactory) -> None:
    api = api_factory()
    await api.gate.start()
    with Stubber(api.gate.idp.client) as stub:
        stub_error(
            stub, "confirm_forgot_password", "LimitExceededException", "Attempt limit exceeded"
        )
        answer = await post(
            api,
            "/auth/confirm-forgot-password",
            {"username": ALICE, "code": "123456", "newPassword": NEW_PASSWORD},
        )
    assert answer.status_code == 429
    assert answer.json()["error"] == "too_many_requests"
    assert "Attempt limit" not in answer.text


async def test_cognitos_own_limit_on_sending_is_the_usual_202(api_factory: ApiFactory) -> None:
    api = api_factory()
    await api.gate.start()
    with Stubber(api.gate.idp.client) as stub:
        stub_error(stub, "forgot_password", "LimitExceededException", "Attempt limit exceeded")
        limited = await post(api, "/auth/forgot-password", {"username": ALICE})
    nobody = await post(api, "/auth/forgot-password", {"username": "nobody"})
    assert (limited.status_code, limited.content) == (nobody.status_code, nobody.content)


async def test_cognitos_own_lockout_on_change_password_is_account_locked(
    api_factory: ApiFactory,
) -> None:
    api = api_factory()
    token = (await api.login("demo", "Demo-passw0rd!")).json()["accessToken"]
    with Stubber(api.gate.idp.client) as stub:
        stub_error(stub, "change_password", "NotAuthorizedException", "Password attempts exceeded")
        answer = await post(
            api,
            "/auth/change-password",
            {"previousPassword": "whatever", "proposedPassword": NEW_PASSWORD},
            token=token,
        )
    assert answer.status_code == 429
    assert answer.json()["error"] == "account_locked"
    assert await api.status("demo") is None  # Cognito's lock is not counted as ours
