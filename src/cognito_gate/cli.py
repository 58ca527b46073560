"""The ``cognito-gate`` command: ``serve``, ``doctor``, ``status``, ``unlock``, ``lock`` for operators,
and ``login``, ``session``, ``token``, ``logout`` for users (from ``cognito_gate.client.cli``)."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import httpx
import typer

from cognito_gate.admin import Admin
from cognito_gate.cognito.local import EMULATOR_CREDENTIALS, REGION, LocalPool
from cognito_gate.config import Settings, load_settings
from cognito_gate.errors import ConfigError, GateError
from cognito_gate.gate import Gate

if TYPE_CHECKING:
    from cognito_gate.runtime import Runtime

T = TypeVar("T")

app = typer.Typer(
    name="cognito-gate",
    help="A login gateway for AWS Cognito with a lockout policy you configure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML file of settings (environment variables win).", exists=False
    ),
]


def fail(message: str, code: int = 2) -> None:
    """Print one line to stderr and exit."""
    typer.echo(f"cognito-gate: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit(config: Path | None, **overrides: Any) -> Settings:
    """Load settings; a bad value stops here with one line naming it."""
    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        fail(exc.message)
        raise  # unreachable: fail() exits


def runtime_or_exit(settings: Settings) -> Runtime:
    """The gate (and, on the embedded default, the emulator); a setting that cannot work stops
    here with one line naming it, never a traceback."""
    from cognito_gate.runtime import build_runtime

    try:
        return build_runtime(settings)
    except GateError as exc:
        fail(exc.message)
        raise


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine, turning gateway errors into one line."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except GateError as exc:
        fail(exc.message, 1)
        raise


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Listen address (COGNITO_GATE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (COGNITO_GATE_PORT).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes serving the port (COGNITO_GATE_WORKERS); above 1 the store must be"
            " shared (not memory://)."
        ),
    ] = None,
) -> None:
    """Start the gateway (the embedded emulator when no user pool is configured)."""
    import uvicorn

    from cognito_gate.runtime import configure_logging, summary

    options = {"host": host, "port": port, "workers": workers}
    settings = settings_or_exit(config, **options)
    configure_logging()
    runtime = runtime_or_exit(settings)
    try:
        run(runtime.check())
    except typer.Exit:
        if runtime.emulator is not None:
            runtime.emulator.stop()
        raise
    for line in summary(runtime):
        typer.echo(line)
    for finding in runtime.gate.findings:  # the same findings as `cognito-gate doctor`
        typer.echo(f"doctor: {finding.line()}", err=finding.severity != "info")
    if runtime.pool is not None:
        _remember_embedded_pool(runtime.pool)
    try:
        if settings.workers > 1:
            _serve_workers(runtime, config, options)
        else:
            from cognito_gate.server.app import create_app

            # The checked gate's store connections belonged to the check's event loop: serve
            # with a new gate, started in uvicorn's loop.
            # proxy_headers=False: only the gateway's TRUSTED_PROXIES rule may read X-Forwarded-For.
            uvicorn.run(
                create_app(runtime=runtime.renewed()),
                host=settings.host,
                port=settings.port,
                log_level="info",
                proxy_headers=False,
            )
    finally:
        if runtime.pool is not None:
            EMBEDDED_STATE.unlink(missing_ok=True)


def _serve_workers(runtime: Runtime, config: Path | None, options: dict[str, Any]) -> None:
    """``settings.workers`` processes on one port. This process made the embedded emulator and its
    pool (if any) and keeps serving it; the workers build their gates on the same settings and that
    same pool (``cognito_gate.runtime.WORKER_ENV``), and share the store."""
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from cognito_gate.runtime import WORKER_APP, WORKER_ENV, worker_handoff

    settings = runtime.settings
    os.environ[WORKER_ENV] = worker_handoff(runtime, config, options).to_env()
    try:
        # proxy_headers=False: only the gateway's TRUSTED_PROXIES rule may read X-Forwarded-For.
        server_config = uvicorn.Config(
            WORKER_APP,
            factory=True,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            log_level="info",
            proxy_headers=False,
        )
        sock = _listening_socket(settings.host, settings.port)
        typer.echo(f"listening on {settings.host}:{settings.port} with {settings.workers} workers")
        Multiprocess(server_config, sockets=[sock]).run()
    finally:
        os.environ.pop(WORKER_ENV, None)
        if runtime.emulator is not None:
            runtime.emulator.stop()


def _listening_socket(host: str, port: int) -> socket.socket:
    """The workers' shared socket, made as a TCP socket. uvicorn makes its own with protocol 0,
    and asyncio turns Nagle off (TCP_NODELAY) only on connections accepted from a socket that says
    TCP: so each answer of a worker waited for the client's delayed ACK, 44 ms (measured: 727
    requests/s with two workers against 3,484 with one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    sock.set_inheritable(True)
    return sock


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Read the pool and every app client; report each way around the gate, with its fix."""
    from cognito_gate.doctor import diagnose

    settings = settings_or_exit(config)
    runtime = runtime_or_exit(settings)
    try:
        findings = run(diagnose(runtime.gate.idp))
    finally:
        if runtime.emulator is not None:
            runtime.emulator.stop()
    where = "the embedded emulator's pool " if runtime.pool else "user pool "
    typer.echo(f"doctor: {where}{runtime.gate.idp.user_pool_id}")
    for finding in findings:
        typer.echo(f"  {finding.line()}")
    errors = sum(f.severity == "error" for f in findings)
    typer.echo(f"{errors} error(s), {sum(f.severity == 'warning' for f in findings)} warning(s)")
    raise typer.Exit(1 if errors else 0)


# -- operators: account status and unlock -----------------------------------------------------------

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="A running gateway: use its admin API (COGNITO_GATE_ADMIN_TOKEN) instead of the store.",
    ),
]


#: Where ``serve`` on the embedded default says which pool it made, for the offline commands.
EMBEDDED_STATE = Path(".cognito-gate") / "embedded.json"


def _remember_embedded_pool(pool: LocalPool) -> None:
    EMBEDDED_STATE.parent.mkdir(parents=True, exist_ok=True)
    state = {"userPoolId": pool.user_pool_id, "clientId": pool.client_id, "endpoint": pool.endpoint}
    EMBEDDED_STATE.write_text(json.dumps(state))


def _offline_gate(settings: Settings) -> Gate:
    """A gate over the store, for status/unlock/lock without the gateway's admin API."""
    if settings.store.startswith("memory://"):
        fail("the memory:// store lives inside the gateway process: use --url URL")
    if not settings.embedded:
        return Gate.from_settings(settings)
    # The embedded pool lives inside the running gateway, and keys carry its id.
    try:
        pool = json.loads(EMBEDDED_STATE.read_text())
    except (OSError, ValueError):
        fail(
            "no embedded gateway is running here (its pool lives in its process):"
            " start it with `make run`, or use --url URL"
        )
        raise
    embedded = settings.model_copy(
        update={
            "user_pool_id": pool["userPoolId"],
            "client_id": pool["clientId"],
            "cognito_endpoint": pool["endpoint"],
            "region": REGION,
        }
    )
    return Gate.from_settings(embedded, credentials=EMULATOR_CREDENTIALS)


def _admin(
    settings: Settings, url: str, method: str, path: str, missing_ok: bool = False
) -> httpx.Response:
    if settings.admin_token is None:
        fail("set COGNITO_GATE_ADMIN_TOKEN to the gateway's admin token")
    token = settings.admin_token.get_secret_value() if settings.admin_token else ""
    try:
        response = httpx.request(
            method, url.rstrip("/") + path, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    except httpx.HTTPError as exc:
        fail(f"cannot reach {url} ({type(exc).__name__})", 1)
        raise
    if response.status_code >= 400 and not (missing_ok and _is_gateway_404(response)):
        try:
            detail = str(response.json().get("message", ""))
        except ValueError:
            detail = response.reason_phrase
        fail(f"{response.status_code} {detail}".strip(), 1)
    return response


def _is_gateway_404(response: httpx.Response) -> bool:
    """A 404 from the gateway's admin API itself: nothing recorded for that name."""
    try:
        return response.status_code == 404 and response.json().get("error") == "not_found"
    except ValueError:
        return False


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


async def _with_admin(settings: Settings, work: Callable[[Admin], Awaitable[T]]) -> T:
    gate = _offline_gate(settings)
    try:
        return await work(Admin(gate))
    finally:
        await gate.close()


@app.command()
def status(name: str, config: ConfigOption = None, url: UrlOption = None) -> None:
    """Show an account's failures, lockout and locks."""
    settings = settings_or_exit(config)
    if url:
        response = _admin(settings, url, "GET", f"/admin/accounts/{_quote(name)}", missing_ok=True)
        found = None if response.status_code == 404 else response.json()
    else:
        result = run(_with_admin(settings, lambda admin: admin.status(name)))
        found = None if result is None else result.to_json()
    if found is None:
        typer.echo(f"{name}: nothing recorded (no failures, not locked)")
        return
    typer.echo(json.dumps(found, indent=2))


def _account_action(
    name: str,
    config: Path | None,
    url: str | None,
    action: str,
    method: Callable[[Admin, str], Awaitable[None]],
) -> None:
    """``action`` through a gateway's admin API (``url``), else ``method`` on the store."""
    settings = settings_or_exit(config)
    if url:
        _admin(settings, url, "POST", f"/admin/accounts/{_quote(name)}/{action}")
    else:
        run(_with_admin(settings, lambda admin: method(admin, name)))
    typer.echo(f"{name}: {action}ed")


@app.command()
def unlock(name: str, config: ConfigOption = None, url: UrlOption = None) -> None:
    """Clear an account's failures, lockouts and locks."""
    _account_action(name, config, url, "unlock", Admin.unlock)


@app.command()
def lock(name: str, config: ConfigOption = None, url: UrlOption = None) -> None:
    """Lock an account until an admin unlocks it (login and refresh refused; unless
    COGNITO_GATE_LOCK_SIGNS_OUT=false, also signed out at Cognito)."""
    _account_action(name, config, url, "lock", Admin.lock)


store_app = typer.Typer(help="The lockout store: create its schema or table.", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("init")
def store_init(config: ConfigOption = None) -> None:
    """Create the store's schema (PostgreSQL, SQLite) or table (DynamoDB) now, for operators who
    grant the gateway no DDL at run time. Safe to run again."""
    from cognito_gate.stores import open_store

    settings = settings_or_exit(config)

    async def init() -> None:
        store = open_store(settings.store, region=settings.aws_region)
        try:
            await store.init()
        finally:
            await store.close()

    run(init())
    typer.echo(f"store ready: {settings.store_shown}")


def _register_client_commands() -> None:
    try:
        from cognito_gate.client.cli import register
    except ImportError:  # pragma: no cover - the client half is part of the package
        return
    register(app)


_register_client_commands()


def main() -> None:
    """Entry point of the ``cognito-gate`` script."""
    app(prog_name="cognito-gate")


if __name__ == "__main__":  # pragma: no cover
    main()
