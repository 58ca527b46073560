"""``COGNITO_GATE_EMBEDDED_TRIGGERS=true``: the embedded default's pool names the triggers in its
LambdaConfig, and its emulator runs them in-process, so the whole flow works offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cognito_gate.aws.triggers import POST_FUNCTION, PRE_FUNCTION
from cognito_gate.cognito import local_triggers
from cognito_gate.cognito.idp import ClientContext
from cognito_gate.cognito.local import emulator_client
from cognito_gate.config import load_settings
from cognito_gate.errors import ConfigError
from cognito_gate.runtime import build_runtime
from tests.aws.conftest import PASSWORD, SECRET, WRONG, sign_in


def test_the_embedded_pool_runs_the_triggers(tmp_path: Path) -> None:
    settings = load_settings(
        embedded_triggers=True,
        trigger_secret=SECRET,
        store=f"sqlite:///{tmp_path}/gate.db",
        max_attempts=3,
    )
    runtime = build_runtime(settings)
    pool = runtime.pool
    assert pool is not None
    try:
        idp = emulator_client(pool.endpoint)
        config = idp.describe_user_pool(UserPoolId=pool.user_pool_id)["UserPool"]["LambdaConfig"]
        assert PRE_FUNCTION in config["PreAuthentication"]
        assert POST_FUNCTION in config["PostAuthentication"]

        async def gateway_login() -> object:
            try:
                return await runtime.gate.login("demo", PASSWORD, ClientContext(ip="192.0.2.1"))
            finally:
                await runtime.gate.close()

        assert type(asyncio.run(gateway_login())).__name__ == "TokenAnswer"
        direct = idp.create_user_pool_client(
            UserPoolId=pool.user_pool_id,
            ClientName="direct",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        answers = [sign_in(idp, direct, "demo", WRONG) for _ in range(4)]
        assert answers == ["NotAuthorizedException"] * 3 + ["UserLambdaValidationException"]
    finally:
        if runtime.emulator is not None:
            runtime.emulator.stop()
        for name in (PRE_FUNCTION, POST_FUNCTION):
            local_triggers.unregister(local_triggers.function_arn(f"{name}-{pool.user_pool_id}"))


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({}, "COGNITO_GATE_TRIGGER_SECRET"),
        ({"trigger_secret": SECRET, "store": "memory://"}, "not memory://"),
    ],
)
def test_embedded_triggers_need_the_shared_secret_and_a_shared_store(
    values: dict[str, str], words: str
) -> None:
    with pytest.raises(ConfigError, match=r"^COGNITO_GATE_EMBEDDED_TRIGGERS: ") as caught:
        load_settings(embedded_triggers=True, **values)
    assert words in caught.value.message
