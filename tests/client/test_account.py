"""The client's account flows and their commands, against the real gateway on the emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from cognito_gate.client import (
    AccountLocked,
    CodeMismatch,
    ExpiredCode,
    FileStorage,
    InvalidCredentials,
    InvalidPassword,
    TooManyRequests,
    UsernameExists,
    aconfirm_sign_up,
    asign_up,
    change_password,
    confirm_forgot_password,
    confirm_sign_up,
    forgot_password,
    login,
    resend_code,
    sign_up,
)
from cognito_gate.client.cli import register
from cognito_gate.cognito.local import create_user, emulator_client
from cognito_gate.cognito.local_codes import RESET, SIGNUP, latest_code
from tests.conftest import LiveGateway

PASSWORD = "Demo-passw0rd!"


def code(gateway: LiveGateway, username: str, purpose: str) -> str:
    return latest_code(gateway.pool.user_pool_id, username, purpose)


def test_sign_up_confirm_and_log_in(gateway: LiveGateway) -> None:
    result = sign_up(gateway.url, "quinn", "Quinn-passw0rd!", {"email": "quinn@example.com"})
    assert result.user_confirmed is False
    assert result.code_delivery is not None
    assert result.code_delivery.destination == "q***@e***"
    assert result.code_delivery.delivery_medium == "EMAIL"
    right = code(gateway, "quinn", SIGNUP)
    with pytest.raises(CodeMismatch):
        confirm_sign_up(gateway.url, "quinn", f"{(int(right) + 1) % 1_000_000:06d}")
    first = code(gateway, "quinn", SIGNUP)
    resend_code(gateway.url, "quinn")
    with pytest.raises(ExpiredCode):
        confirm_sign_up(gateway.url, "quinn", first)
    confirm_sign_up(gateway.url, "quinn", f" {code(gateway, 'quinn', SIGNUP)} ")
    user = login(gateway.url, "quinn", "Quinn-passw0rd!")
    assert user.username == "quinn"


def test_sign_up_errors_are_typed(gateway: LiveGateway) -> None:
    with pytest.raises(UsernameExists):
        sign_up(gateway.url, "demo", "Whatever-passw0rd!")
    with pytest.raises(InvalidPassword) as weak:
        sign_up(gateway.url, "rita", "weakpassword", {"email": "r@x.org"})
    assert weak.value.message == (
        "Password did not conform with policy: Password must have uppercase characters"
    )
    assert "weakpassword" not in str(weak.value)


def test_the_async_drivers(gateway: LiveGateway) -> None:
    import asyncio

    async def flow() -> None:
        await asign_up(gateway.url, "sam", "Sam-passw0rd!!", {"email": "sam@example.com"})
        await aconfirm_sign_up(gateway.url, "sam", code(gateway, "sam", SIGNUP))

    asyncio.run(flow())
    assert login(gateway.url, "sam", "Sam-passw0rd!!").username == "sam"


def test_forgot_and_confirm_forgot_password(gateway: LiveGateway) -> None:
    idp = emulator_client(gateway.pool.endpoint)
    create_user(
        idp,
        gateway.pool.user_pool_id,
        "tara",
        "Tara-passw0rd!",
        {"email": "tara@example.com", "email_verified": "true"},
    )
    forgot_password(gateway.url, "tara")
    forgot_password(gateway.url, "nobody-at-all")  # the same quiet success
    confirm_forgot_password(gateway.url, "tara", code(gateway, "tara", RESET), "Tara-passw0rd!2")
    assert login(gateway.url, "tara", "Tara-passw0rd!2").username == "tara"


def test_change_password_uses_the_stored_session(gateway: LiveGateway, tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "session.json")
    user = login(gateway.url, "demo", PASSWORD, storage)
    with pytest.raises(InvalidCredentials):
        change_password(user, "not-it", "Changed-passw0rd!")
    change_password(user, PASSWORD, "Changed-passw0rd!")
    assert login(gateway.url, "demo", "Changed-passw0rd!").username == "demo"


def test_too_many_codes_and_wrong_guesses(
    gateway_factory: Callable[..., LiveGateway],
) -> None:
    gateway = gateway_factory(code_send_max=1, code_max_attempts=1)
    forgot_password(gateway.url, "uma")
    with pytest.raises(TooManyRequests) as throttled:
        forgot_password(gateway.url, "uma")
    assert throttled.value.retry_after == 3600
    with pytest.raises(CodeMismatch):
        confirm_forgot_password(gateway.url, "uma", "123456", "Uma-passw0rd!")
    with pytest.raises(AccountLocked):
        confirm_forgot_password(gateway.url, "uma", "123456", "Uma-passw0rd!")


# -- the commands -----------------------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def run(app: typer.Typer, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def test_the_sign_up_commands(cli: typer.Typer, gateway: LiveGateway) -> None:
    url = ["--url", gateway.url]
    signed = run(
        cli,
        "signup",
        *url,
        "--username",
        "vera",
        "--email",
        "vera@example.com",
        "--attribute",
        "name=Vera",
        "--password-stdin",
        input="Vera-passw0rd!\n",
    )
    assert signed.exit_code == 0, signed.stderr
    assert signed.stdout == "signed up vera; a code was sent to v***@e*** (EMAIL)\n"
    assert "cognito-gate confirm" in signed.stderr
    assert "Vera-passw0rd!" not in signed.output

    wrong = run(cli, "confirm", *url, "--username", "vera", "--code", "12")
    assert wrong.exit_code == 1
    assert wrong.stderr == "cognito-gate: the code is wrong\n"
    resent = run(cli, "resend-code", *url, "--username", "vera")
    assert resent.exit_code == 0
    confirmed = run(
        cli, "confirm", *url, "--username", "vera", input=code(gateway, "vera", SIGNUP) + "\n"
    )
    assert confirmed.exit_code == 0, confirmed.stderr
    assert confirmed.stdout.endswith("confirmed vera\n")

    taken = run(
        cli, "signup", *url, "--username", "vera", "--password-stdin", input="Vera-passw0rd!\n"
    )
    assert taken.exit_code == 1
    assert taken.stderr == "cognito-gate: an account with that username already exists\n"
    bad = run(cli, "signup", *url, "--username", "w", "--attribute", "novalue")
    assert bad.exit_code == 2


def test_the_password_commands(cli: typer.Typer, gateway: LiveGateway, tmp_path: Path) -> None:
    url = ["--url", gateway.url]
    idp = emulator_client(gateway.pool.endpoint)
    create_user(
        idp,
        gateway.pool.user_pool_id,
        "walt",
        "Walt-passw0rd!",
        {"email": "walt@example.com", "email_verified": "true"},
    )
    asked = run(cli, "forgot-password", *url, "--username", "walt")
    assert asked.exit_code == 0
    assert asked.stdout == "if walt can receive a code, a reset code is on its way\n"
    weak = run(
        cli,
        "reset-password",
        *url,
        "--username",
        "walt",
        "--code",
        code(gateway, "walt", RESET),
        "--password-stdin",
        input="weak\n",
    )
    assert weak.exit_code == 1
    assert weak.stderr == (
        "cognito-gate: Password did not conform with policy: Password not long enough\n"
    )
    reset = run(
        cli,
        "reset-password",
        *url,
        "--username",
        "walt",
        input=f"{code(gateway, 'walt', RESET)}\nWalt-passw0rd!2\nWalt-passw0rd!2\n",
    )
    assert reset.exit_code == 0, reset.stderr
    assert "Walt-passw0rd!2" not in reset.output

    session = tmp_path / "session.json"
    logged = CliRunner().invoke(
        cli,
        ["login", *url, "--username", "walt", "--password-stdin", "--storage-file", str(session)],
        input="Walt-passw0rd!2\n",
    )
    assert logged.exit_code == 0, logged.stderr
    changed = run(
        cli,
        "change-password",
        "--password-stdin",
        "--storage-file",
        str(session),
        input="Walt-passw0rd!2\nWalt-passw0rd!3\n",
    )
    assert changed.exit_code == 0, changed.stderr
    assert changed.stdout == "password changed for walt\n"
    refused = run(
        cli,
        "change-password",
        "--password-stdin",
        "--storage-file",
        str(session),
        input="Walt-passw0rd!2\nWalt-passw0rd!4\n",
    )
    assert refused.exit_code == 1
    assert refused.stderr.startswith("cognito-gate: ")
    nobody = run(cli, "change-password", "--storage-file", str(tmp_path / "none.json"))
    assert nobody.exit_code == 1
    assert "not signed in" in nobody.stderr
