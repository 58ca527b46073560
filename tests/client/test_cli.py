"""The client's commands against the real gateway: login, session, token, logout."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner, Result

from cognito_gate.client import FileStorage
from cognito_gate.client.cli import register
from cognito_gate.cognito.local import emulator_client
from tests.conftest import LiveGateway

PASSWORD = "Demo-passw0rd!"


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def session_file(tmp_path: Path) -> Path:
    return tmp_path / "cfg" / "session.json"


def run(app: typer.Typer, session_file: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, [*args, "--storage-file", str(session_file)], input=input)


def _login(app: typer.Typer, gateway: LiveGateway, session_file: Path) -> None:
    result = run(
        app,
        session_file,
        "login",
        "--url",
        gateway.url,
        "--username",
        "demo",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.stderr


def test_login_reads_the_password_from_stdin_and_saves_the_session(
    cli: typer.Typer, gateway: LiveGateway, session_file: Path
) -> None:
    result = run(
        cli,
        session_file,
        "login",
        "--url",
        gateway.url,
        "--username",
        "demo",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("signed in as demo until ")
    assert PASSWORD not in result.output
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    data = json.loads(session_file.read_text())
    assert data[f"CognitoIdentityServiceProvider.{gateway.pool.client_id}.LastAuthUser"] == "demo"
    assert data["cognito-gate.gatewayUrl"] == gateway.url


def test_login_asks_for_the_password_without_echo(
    cli: typer.Typer, gateway: LiveGateway, session_file: Path
) -> None:
    result = run(
        cli, session_file, "login", "--url", gateway.url, "--username", "demo", input=PASSWORD
    )
    assert result.exit_code == 0, result.stderr
    assert "Password:" in result.output
    assert PASSWORD not in result.output


def test_a_wrong_password_is_one_line_and_a_non_zero_exit(
    cli: typer.Typer, gateway: LiveGateway, session_file: Path
) -> None:
    result = run(
        cli,
        session_file,
        "login",
        "--url",
        gateway.url,
        "--username",
        "demo",
        "--password-stdin",
        input="Wrong-passw0rd!\n",
    )
    assert result.exit_code == 1
    assert result.stderr == "cognito-gate: incorrect username or password\n"
    assert not session_file.exists()


def test_a_locked_account_says_how_long_to_wait(
    cli: typer.Typer, gateway: LiveGateway, session_file: Path
) -> None:
    for _ in range(gateway.settings.max_attempts):
        run(
            cli,
            session_file,
            "login",
            "--url",
            gateway.url,
            "--username",
            "demo",
            "--password-stdin",
            input="Wrong-passw0rd!\n",
        )
    result = run(
        cli,
        session_file,
        "login",
        "--url",
        gateway.url,
        "--username",
        "demo",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 1
    assert result.stderr == "cognito-gate: account locked; try again in 15 minutes\n"


def test_an_unreachable_gateway_is_one_line(cli: typer.Typer, session_file: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = run(
        cli,
        session_file,
        "login",
        "--url",
        url,
        "--username",
        "demo",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("cognito-gate: the gateway is unavailable; try again shortly")
    assert result.stderr.count("\n") == 1


def test_session_shows_who_and_until_when(
    cli: typer.Typer, gateway: LiveGateway, session_file: Path
) -> None:
    _login(cli, gateway, session_file)
    result = run(cli, session_file, "session")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "signed in as demo"
    assert "valid until" in result.stdout
    assert "(in 1 hour)" in result.stdout or "(in 60 minutes)" in result.stdout
    as_json = json.loads(run(cli, session_file, "session", "--json").stdout)
    assert as_json["username"] == "demo"
    assert as_json["userPoolId"] == gateway.pool.user_pool_id


def test_session_refreshes_an_expired_session(
    cli: typer.Typer, gateway: LiveGateway, session_file: Path
) -> None:
    _login(cli, gateway, session_file)
    key = f"CognitoIdentityServiceProvider.{gateway.pool.client_id}.demo"
    before = json.loads(session_file.read_text())
    # A drift of -4000 s (this clock behind the issuer's) makes the stored tokens expired here.
    FileStorage(session_file).set_item(f"{key}.clockDrift", "-4000")
    result = run(cli, session_file, "session")
    assert result.exit_code == 0, result.stderr
    after = json.loads(session_file.read_text())
    assert after[f"{key}.accessToken"] != before[f"{key}.accessToken"]
    assert after[f"{key}.clockDrift"] != "-4000"


def test_token_prints_a_token_that_the_gateway_accepts(
    cli: typer.Typer, gateway: LiveGateway, session_file: Path
) -> None:
    _login(cli, gateway, session_file)
    access = run(cli, session_file, "token").stdout.strip()
    id_token = run(cli, session_file, "token", "--id").stdout.strip()
    stored = json.loads(session_file.read_text())
    key = f"CognitoIdentityServiceProvider.{gateway.pool.client_id}.demo"
    assert access == stored[f"{key}.accessToken"]
    assert id_token == stored[f"{key}.idToken"]
    # curl -H "Authorization: Bearer $(cognito-gate token)" $GATEWAY/auth/me
    me = httpx.get(f"{gateway.url}/auth/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200, me.text


def test_logout_revokes_at_the_gateway_and_forgets_the_session(
    cli: typer.Typer, gateway: LiveGateway, session_file: Path
) -> None:
    _login(cli, gateway, session_file)
    key = f"CognitoIdentityServiceProvider.{gateway.pool.client_id}.demo"
    refresh_token = json.loads(session_file.read_text())[f"{key}.refreshToken"]
    result = run(cli, session_file, "logout")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "signed out demo\n"
    assert json.loads(session_file.read_text()) == {}
    idp = emulator_client(gateway.pool.endpoint)
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        idp.initiate_auth(
            ClientId=gateway.pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    after = run(cli, session_file, "session")
    assert after.exit_code == 1
    assert after.stderr.startswith("cognito-gate: not signed in")
    again = run(cli, session_file, "logout")
    assert again.exit_code == 0
    assert again.stderr == "not signed in\n"


def test_token_without_a_session_says_how_to_log_in(cli: typer.Typer, session_file: Path) -> None:
    result = run(cli, session_file, "token")
    assert result.exit_code == 1
    assert "run: cognito-gate login --url URL --username NAME" in result.stderr
    assert result.stdout == ""


def test_a_new_password_challenge_is_answered_interactively(
    cli: typer.Typer,
    gateway: LiveGateway,
    session_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator_client(gateway.pool.endpoint).admin_create_user(
        UserPoolId=gateway.pool.user_pool_id,
        Username="newbie",
        TemporaryPassword="Temp-passw0rd!",
        MessageAction="SUPPRESS",
    )
    monkeypatch.setattr("cognito_gate.client.cli._interactive", lambda: True)
    result = run(
        cli,
        session_file,
        "login",
        "--url",
        gateway.url,
        "--username",
        "newbie",
        input="Temp-passw0rd!\nBrand-new-passw0rd!\nBrand-new-passw0rd!\n",
    )
    assert result.exit_code == 0, result.stderr
    assert "New password:" in result.output
    assert "signed in as newbie" in result.stdout


def test_a_challenge_without_a_terminal_is_one_line(
    cli: typer.Typer, gateway: LiveGateway, session_file: Path
) -> None:
    emulator_client(gateway.pool.endpoint).admin_create_user(
        UserPoolId=gateway.pool.user_pool_id,
        Username="newbie",
        TemporaryPassword="Temp-passw0rd!",
        MessageAction="SUPPRESS",
    )
    result = run(
        cli,
        session_file,
        "login",
        "--url",
        gateway.url,
        "--username",
        "newbie",
        "--password-stdin",
        input="Temp-passw0rd!\n",
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "cognito-gate: Cognito asks for the NEW_PASSWORD_REQUIRED challenge, which this command "
        "answers only interactively (no stdin)\n"
    )
