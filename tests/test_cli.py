"""The ``cognito-gate`` command for operators: serve, doctor, status, unlock, lock."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner, Result

from cognito_gate.answers import TokenAnswer
from cognito_gate.cli import _listening_socket, app
from cognito_gate.cognito.idp import Challenge, ClientContext
from cognito_gate.cognito.local import (
    EMULATOR_CREDENTIALS,
    Emulator,
    LocalPool,
    emulator_client,
    provision_pool,
)
from cognito_gate.config import load_settings
from cognito_gate.errors import AccountLocked, InvalidCredentials
from cognito_gate.gate import Gate
from cognito_gate.runtime import Runtime, build_runtime, summary
from tests.conftest import ADMIN_TOKEN, LiveGateway, make_gate

P = "COGNITO_GATE_"
CLIENT = ClientContext(ip="127.0.0.1")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No COGNITO_GATE_* from outside; the embedded default's ./.cognito-gate lands in tmp_path."""
    for name in list(os.environ):
        if name.upper().startswith(P):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cli() -> Callable[..., Result]:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def configure(monkeypatch: pytest.MonkeyPatch, pool: LocalPool, **more: str) -> None:
    """Point the command at ``pool`` on the emulator, as an operator would with a real pool."""
    monkeypatch.setenv(P + "USER_POOL_ID", pool.user_pool_id)
    monkeypatch.setenv(P + "CLIENT_ID", pool.client_id)
    monkeypatch.setenv(P + "COGNITO_ENDPOINT", pool.endpoint)
    monkeypatch.setenv(P + "REGION", pool.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", EMULATOR_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", EMULATOR_CREDENTIALS["aws_secret_access_key"])
    for key, value in more.items():
        monkeypatch.setenv(P + key, value)


# -- serve ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"MAX_ATTEMPTS": "many"}, "COGNITO_GATE_MAX_ATTEMPTS"),
        ({"LOCK_SCOPE": "foo"}, "COGNITO_GATE_LOCK_SCOPE"),
        ({"USER_POOL_ID": "eu-west-1_AbCdEf123"}, "COGNITO_GATE_CLIENT_ID"),
        ({"TRUSTED_PROXIES": "10.0.0.0/99"}, "COGNITO_GATE_TRUSTED_PROXIES"),
    ],
)
def test_serve_with_a_bad_setting_exits_2_with_one_line(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, env: dict[str, str], setting: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(P + key, value)
    result = cli("serve")
    assert result.exit_code == 2
    line = one_line(result.output)
    assert line.startswith(f"cognito-gate: {setting}: ")
    assert "Traceback" not in result.output
    assert result.stdout == ""  # the line goes to stderr


def test_serve_with_a_bad_port_option_names_the_setting(cli: Callable[..., Result]) -> None:
    result = cli("serve", "--port", "70000")
    assert result.exit_code == 2
    assert one_line(result.output).startswith("cognito-gate: COGNITO_GATE_PORT: ")


def test_serve_with_a_bad_config_file_exits_2(cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "gate.toml").write_text("[policy]\nmax_attempts = 0\n")
    result = cli("serve", "--config", str(tmp_path / "gate.toml"))
    assert result.exit_code == 2
    assert one_line(result.output).startswith("cognito-gate: COGNITO_GATE_MAX_ATTEMPTS: ")
    missing = cli("serve", "--config", str(tmp_path / "missing.toml"))
    assert missing.exit_code == 2
    assert one_line(missing.output).startswith(f"cognito-gate: --config {tmp_path}")


def test_serve_on_an_unreadable_pool_exits_1_with_one_line(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, pool: LocalPool
) -> None:
    configure(monkeypatch, pool, STORE="memory://")
    monkeypatch.setenv(P + "USER_POOL_ID", "us-east-1_doesnotexist0000000000000000")
    result = cli("serve")
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert "cannot read user pool us-east-1_doesnotexist" in line
    assert "Traceback" not in result.output


@pytest.fixture
def fake_uvicorn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace uvicorn.run: record the call, run the app's lifespan (which closes the runtime)."""
    import uvicorn

    seen: dict[str, Any] = {}

    def run(asgi: Any, **kwargs: Any) -> None:
        seen.update(kwargs, app=asgi)

        async def lifespan() -> None:
            async with asgi.router.lifespan_context(asgi):
                transport = httpx.ASGITransport(app=asgi)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                    seen["login"] = await c.post(
                        "/auth/login", json={"username": "demo", "password": "Demo-passw0rd!"}
                    )

        asyncio.run(lifespan())

    monkeypatch.setattr(uvicorn, "run", run)
    return seen


def test_serve_on_the_embedded_default_prints_where_everything_is(
    cli: Callable[..., Result], fake_uvicorn: dict[str, Any]
) -> None:
    result = cli("serve", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert (fake_uvicorn["host"], fake_uvicorn["port"]) == ("127.0.0.1", 8123)
    out = result.stdout
    assert out.splitlines()[0].endswith(" on http://127.0.0.1:8123")
    assert "emulator URL : http://127.0.0.1:" in out
    assert "user pool id : us-east-1_" in out
    assert "demo user    : demo" in out
    assert "curl -s http://127.0.0.1:8123/auth/login" in out
    # the demo user printed there really logs in
    login = fake_uvicorn["login"]
    assert login.status_code == 200, login.text
    assert login.json()["username"] == "demo"
    assert Path(".cognito-gate").is_dir()  # the embedded default's SQLite store


def test_serve_prints_the_doctors_warnings(
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    emulator: Emulator,
    fake_uvicorn: dict[str, Any],
) -> None:
    pool = provision_pool(emulator.endpoint, remember_devices=True)
    idp = emulator_client(pool.endpoint)
    idp.update_user_pool_client(  # moto's update resets what it is not sent: send it all
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="LEGACY",
        EnableTokenRevocation=True,
    )
    bypass = idp.create_user_pool_client(
        UserPoolId=pool.user_pool_id,
        ClientName="spa",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    configure(monkeypatch, pool, STORE="memory://")
    result = cli("serve")
    assert result.exit_code == 0, result.output
    assert f"user pool id : {pool.user_pool_id}" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("doctor: WARN")]
    assert len(warnings) == 1
    assert "PreventUserExistenceErrors is off" in warnings[0]
    assert "Fix:" in warnings[0]
    # Remembered devices work through the gateway: said as what the client must do, not a warning.
    [devices] = [line for line in result.stdout.splitlines() if "remembers devices" in line]
    assert devices.startswith("doctor: INFO")
    assert "Hint:" in devices
    # every client of the pool is checked, not only the gateway's own: the same as doctor
    errors = [line for line in result.stderr.splitlines() if line.startswith("doctor: ERROR")]
    assert len(errors) == 1
    assert f"[client {bypass}]" in errors[0]
    served = {line.removeprefix("doctor: ") for line in result.output.splitlines()}
    doctor_lines = {line.strip() for line in cli("doctor").stdout.splitlines()[1:-1]}
    assert doctor_lines <= served
    assert any("Users sign in with: username; case-insensitive" in line for line in served)


# -- doctor ---------------------------------------------------------------------------------------


def test_doctor_on_the_embedded_default_exits_0(cli: Callable[..., Result]) -> None:
    result = cli("doctor")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("doctor: the embedded emulator's pool us-east-1_")
    assert any(line.strip().startswith("INFO [client ") for line in lines)
    assert "Access and id tokens live 60 min" in result.stdout
    assert lines[-1] == "0 error(s), 0 warning(s)"


def test_doctor_on_a_pool_with_a_bypass_exits_1(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, pool: LocalPool
) -> None:
    other = emulator_client(pool.endpoint).create_user_pool_client(
        UserPoolId=pool.user_pool_id,
        ClientName="spa",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    configure(monkeypatch, pool)
    result = cli("doctor")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"doctor: user pool {pool.user_pool_id}"
    errors = [line for line in result.stdout.splitlines() if line.strip().startswith("ERROR")]
    assert len(errors) == 1
    assert f"[client {other}]" in errors[0]
    assert "ALLOW_USER_SRP_AUTH" in errors[0]
    assert result.stdout.splitlines()[-1] == "1 error(s), 0 warning(s)"


def test_doctor_on_an_unreadable_pool_exits_1(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, pool: LocalPool
) -> None:
    configure(monkeypatch, pool)
    monkeypatch.setenv(P + "USER_POOL_ID", "us-east-1_doesnotexist0000000000000000")
    result = cli("doctor")
    assert result.exit_code == 1
    assert "Cannot read the pool" in result.stdout


def test_doctor_with_a_bad_setting_exits_2(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(P + "LOCKOUT_RESPONSE", "loud")
    result = cli("doctor")
    assert result.exit_code == 2
    assert one_line(result.output).startswith("cognito-gate: COGNITO_GATE_LOCKOUT_RESPONSE: ")


# -- status / unlock / lock on the store ----------------------------------------------------------


@pytest.fixture
def sqlite_gate(pool: LocalPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    """A gateway's Gate over an SQLite file, and the CLI pointed at the same file."""
    url = f"sqlite:///{tmp_path}/gate.db"
    configure(monkeypatch, pool, STORE=url)
    gate = make_gate(pool, store=url)
    asyncio.run(gate.start())
    yield gate
    asyncio.run(gate.close())


def login_after_unlock_elsewhere(gate: Gate) -> TokenAnswer | Challenge:
    """The CLI is another process: a gateway that has just refused the account may refuse it
    again for up to REFUSAL_CACHE_SECONDS after the CLI's unlock (cognito_gate.refusals), and no
    longer."""
    deadline = time.monotonic() + gate.settings.refusal_cache_seconds + 2
    while True:
        try:
            return asyncio.run(gate.login("demo", "Demo-passw0rd!", CLIENT))
        except AccountLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def fail_logins(gate: Gate, count: int, name: str = "demo") -> None:
    for _ in range(count):
        with pytest.raises(InvalidCredentials):
            asyncio.run(gate.login(name, "Wrong-passw0rd!", CLIENT))


def test_status_shows_the_stores_counts(cli: Callable[..., Result], sqlite_gate: Gate) -> None:
    fail_logins(sqlite_gate, 2)
    result = cli("status", "demo")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found == {
        "username": "demo",
        "failures": 2,
        "lockedUntil": None,
        "lockouts": 0,
        "permanent": False,
        "adminLocked": False,
    }
    # the embedded pool is case-insensitive: the same account under any case
    assert json.loads(cli("status", " DEMO").stdout)["failures"] == 2


def test_status_shows_a_lockout(cli: Callable[..., Result], sqlite_gate: Gate) -> None:
    fail_logins(sqlite_gate, sqlite_gate.settings.max_attempts)
    found = json.loads(cli("status", "demo").stdout)
    assert found["lockouts"] == 1
    assert found["failures"] == 0
    assert found["lockedUntil"].endswith("Z")


def test_unlock_clears_the_account(cli: Callable[..., Result], sqlite_gate: Gate) -> None:
    fail_logins(sqlite_gate, sqlite_gate.settings.max_attempts)
    with pytest.raises(AccountLocked):
        asyncio.run(sqlite_gate.login("demo", "Demo-passw0rd!", CLIENT))
    result = cli("unlock", "demo")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "demo: unlocked"
    assert (
        cli("status", "demo").stdout.strip() == "demo: nothing recorded (no failures, not locked)"
    )
    assert isinstance(login_after_unlock_elsewhere(sqlite_gate), TokenAnswer)


def test_lock_refuses_login_until_unlocked(cli: Callable[..., Result], sqlite_gate: Gate) -> None:
    result = cli("lock", "demo")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "demo: locked"
    assert json.loads(cli("status", "demo").stdout)["adminLocked"] is True
    with pytest.raises(AccountLocked) as refused:
        asyncio.run(sqlite_gate.login("demo", "Demo-passw0rd!", CLIENT))
    assert refused.value.retry_after is None  # only an admin can unlock
    assert cli("unlock", "demo").exit_code == 0
    assert isinstance(login_after_unlock_elsewhere(sqlite_gate), TokenAnswer)


def test_status_of_an_unknown_name(cli: Callable[..., Result], sqlite_gate: Gate) -> None:
    result = cli("status", "nobody")
    assert result.exit_code == 0
    assert result.stdout.strip() == "nobody: nothing recorded (no failures, not locked)"


def test_status_with_a_memory_store_and_no_url_fails_clearly(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(P + "STORE", "memory://")
    for command in ("status", "unlock", "lock"):
        result = cli(command, "demo")
        assert result.exit_code == 2
        line = one_line(result.output)
        assert "memory://" in line
        assert "--url" in line


# -- status / unlock / lock through a live gateway's admin API ------------------------------------


def live_failures(gateway: LiveGateway, count: int) -> None:
    for _ in range(count):
        answer = httpx.post(
            f"{gateway.url}/auth/login",
            json={"username": "demo", "password": "Wrong-passw0rd!"},
            timeout=10,
        )
        assert answer.status_code == 401


def test_status_url_uses_the_admin_api(
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    gateway_factory: Callable[..., LiveGateway],
) -> None:
    gateway = gateway_factory()
    live_failures(gateway, 3)
    monkeypatch.setenv(P + "ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv(P + "STORE", "memory://")  # the CLI's own store is not used
    result = cli("status", "demo", "--url", gateway.url)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["failures"] == 3
    nobody = cli("status", "nobody", "--url", gateway.url)
    assert nobody.stdout.strip() == "nobody: nothing recorded (no failures, not locked)"


def test_lock_and_unlock_url_use_the_admin_api(
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    gateway_factory: Callable[..., LiveGateway],
) -> None:
    gateway = gateway_factory()
    monkeypatch.setenv(P + "ADMIN_TOKEN", ADMIN_TOKEN)
    login = {"username": "demo", "password": "Demo-passw0rd!"}
    assert cli("lock", "demo", "--url", gateway.url).stdout.strip() == "demo: locked"
    refused = httpx.post(f"{gateway.url}/auth/login", json=login, timeout=10)
    assert refused.status_code == 429
    assert "retryAfter" not in refused.json()
    assert cli("unlock", "demo", "--url", gateway.url + "/").stdout.strip() == "demo: unlocked"
    assert httpx.post(f"{gateway.url}/auth/login", json=login, timeout=10).status_code == 200


def test_status_url_with_a_wrong_token_exits_1(
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    gateway_factory: Callable[..., LiveGateway],
) -> None:
    gateway = gateway_factory()
    monkeypatch.setenv(P + "ADMIN_TOKEN", "not-the-token")
    result = cli("status", "demo", "--url", gateway.url)
    assert result.exit_code == 1
    line = one_line(result.output)
    assert line.startswith("cognito-gate: 401")
    assert "not-the-token" not in result.output


def test_status_url_without_an_admin_token_exits_2(cli: Callable[..., Result]) -> None:
    result = cli("status", "demo", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert "COGNITO_GATE_ADMIN_TOKEN" in one_line(result.output)


def test_status_url_unreachable_exits_1(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(P + "ADMIN_TOKEN", ADMIN_TOKEN)
    result = cli("status", "demo", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 1
    line = one_line(result.output)
    assert "cannot reach http://127.0.0.1:9" in line
    assert ADMIN_TOKEN not in result.output


# -- the start-up summary -------------------------------------------------------------------------


def test_the_embedded_summary_names_everything() -> None:
    runtime = build_runtime(load_settings(store="memory://"))
    try:
        text = "\n".join(summary(runtime))
        assert runtime.pool is not None
        assert runtime.emulator is not None
        assert runtime.pool.user_pool_id in text
        assert runtime.pool.client_id in text
        assert runtime.emulator.endpoint in text
        assert "demo user    : demo" in text
        assert "curl -s http://127.0.0.1:8000/auth/login" in text
        assert '"username": "demo"' in text
        assert "admin API off" in text
        assert runtime.gate.idp.user_pool_id == runtime.pool.user_pool_id
        assert runtime.gate.settings.cognito_endpoint == runtime.emulator.endpoint
    finally:
        asyncio.run(runtime.close())


def test_a_configured_pools_summary(pool: LocalPool) -> None:
    gate = make_gate(pool, host="0.0.0.0", port=9000)
    lines = summary(Runtime(gate=gate, settings=gate.settings))
    text = "\n".join(lines)
    assert lines[0].startswith("cognito-gate ")
    assert lines[0].endswith(" on http://0.0.0.0:9000")
    assert f"user pool id : {pool.user_pool_id}" in text
    assert f"client id    : {pool.client_id}" in text
    assert "emulator URL" not in text
    assert "curl -s http://0.0.0.0:9000/auth/login" in text
    assert "admin API off" not in text  # make_gate sets an admin token
    assert ADMIN_TOKEN not in text


def test_a_demo_password_the_operator_chose_is_never_printed(emulator: Emulator) -> None:
    chosen = "Operat0r-chosen!"
    pool = provision_pool(emulator.endpoint, demo_password=chosen)
    settings = load_settings(store="memory://", demo_password=chosen)
    gate = make_gate(pool)
    text = "\n".join(summary(Runtime(gate=gate, settings=settings, pool=pool)))
    assert chosen not in text
    assert "COGNITO_GATE_DEMO_PASSWORD" in text
    assert "demo user    : demo" in text


# -- known bugs: --url against something that is not the gateway ----------------------------------


class _NotAGateway(http.server.BaseHTTPRequestHandler):
    """A web server that is not the gateway: 404 under /missing, a proxy's 502 HTML elsewhere."""

    def _answer(self) -> None:
        status = 404 if self.path.startswith("/missing") else 502
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>Bad Gateway</body></html>")

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def not_a_gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(P + "ADMIN_TOKEN", ADMIN_TOKEN)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotAGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.parametrize("command", ["lock", "unlock"])
def test_lock_and_unlock_url_fail_when_the_route_is_not_there(
    cli: Callable[..., Result], not_a_gateway: str, command: str
) -> None:
    result = cli(command, "demo", "--url", f"{not_a_gateway}/missing")
    assert result.exit_code == 1
    assert "404" in one_line(result.output)


@pytest.mark.parametrize("command", ["status", "unlock"])
def test_a_non_json_error_answer_is_one_line(
    cli: Callable[..., Result], not_a_gateway: str, command: str
) -> None:
    result = cli(command, "demo", "--url", not_a_gateway)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    assert one_line(result.output).startswith("cognito-gate: 502")


def test_store_init_creates_the_schema_and_says_so(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.services import postgres

    with postgres.store_url() as url:
        monkeypatch.setenv(P + "STORE", url)
        result = cli("store", "init")
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == f"store ready: {url}"
        import psycopg

        schema = url.rsplit("schema=", 1)[1]
        conninfo = url.split("?", 1)[0]
        with psycopg.connect(conninfo) as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
        assert ("cognito_gate_state",) in tables
        assert cli("store", "init").exit_code == 0  # again: nothing to do, no error


def test_store_init_on_an_unreachable_store_is_one_line(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(P + "STORE", "redis://127.0.0.1:9/0")
    result = cli("store", "init")
    assert result.exit_code == 1
    assert one_line(result.output).startswith("cognito-gate: ")


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("STORE", "sqlite:///", "COGNITO_GATE_STORE: sqlite:/// needs a path"),
        ("DEMO_PASSWORD", "short", "COGNITO_GATE_DEMO_PASSWORD: the embedded pool's password"),
    ],
)
def test_serve_with_a_setting_that_cannot_work_says_so_in_one_line(
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    needle: str,
) -> None:
    monkeypatch.setenv(P + variable, value)
    result = cli("serve")
    assert result.exit_code == 2
    assert one_line(result.output).startswith(f"cognito-gate: {needle}")
    assert "Traceback" not in result.output


# -- serve --workers: the shared socket ------------------------------------------------------------


def _accepted_nodelay(sock: socket.socket) -> int:
    """TCP_NODELAY of a connection an asyncio server (as each uvicorn worker runs) accepts on
    ``sock``."""

    async def accept_one() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            raw = writer.get_extra_info("socket")
            accepted.set_result(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=sock)
        host, port = sock.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        try:
            return await asyncio.wait_for(accepted, 5)
        finally:
            writer.close()
            server.close()

    return asyncio.run(accept_one())


def test_the_workers_socket_accepts_connections_with_nagle_off() -> None:
    # Each small answer otherwise waits for the client's delayed ACK (44 ms a request, measured).
    sock = _listening_socket("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert _accepted_nodelay(sock) != 0


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(typer.Exit):
            _listening_socket("127.0.0.1", taken.getsockname()[1])
