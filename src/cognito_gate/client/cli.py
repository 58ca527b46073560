"""The client's commands: ``login``, ``session``, ``token``, ``logout`` (and, from
``account_cli``, ``signup``, ``confirm``, ``resend-code``, ``forgot-password``,
``reset-password``, ``change-password``).

``register(app)`` adds them to the ``cognito-gate`` typer app. The session lives in a
:class:`FileStorage` (``--storage-file``, default ``$XDG_CONFIG_HOME/cognito-gate/session.json``);
every error is one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cognito_gate.client.account_cli import one_line_errors as _one_line_errors
from cognito_gate.client.account_cli import register_account
from cognito_gate.client.errors import ChallengeRequired, ClientError, NotSignedIn, describe_wait
from cognito_gate.client.login import login, respond_to_challenge
from cognito_gate.client.pool import RefreshVia
from cognito_gate.client.session import CognitoUserSession
from cognito_gate.client.setup import current_user
from cognito_gate.client.storage import FileStorage
from cognito_gate.client.user import CognitoUser

StorageFile = Annotated[
    Path | None,
    typer.Option(
        "--storage-file",
        envvar="COGNITO_GATE_SESSION_FILE",
        help="Session file (default: $XDG_CONFIG_HOME/cognito-gate/session.json).",
        show_default=False,
    ),
]

# The challenges an interactive login can answer: name -> (prompt, response key, hidden).
_CHALLENGES = {
    "SOFTWARE_TOKEN_MFA": ("Authenticator code", "SOFTWARE_TOKEN_MFA_CODE", False),
    "SMS_MFA": ("Code sent by SMS", "SMS_MFA_CODE", False),
    "EMAIL_OTP": ("Code sent by email", "EMAIL_OTP_CODE", False),
    "NEW_PASSWORD_REQUIRED": ("New password", "NEW_PASSWORD", True),
}


def _storage(path: Path | None) -> FileStorage:
    return FileStorage(path)


def _signed_in(storage: FileStorage) -> CognitoUser:
    try:
        return current_user(storage)
    except NotSignedIn:
        raise NotSignedIn(
            f"not signed in (nothing in {storage.path}); run: cognito-gate login --url URL "
            "--username NAME"
        ) from None


def _until(session: CognitoUserSession) -> str:
    expires = session.expires_at
    if expires is None:
        return "unknown"
    when = datetime.fromtimestamp(expires, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    left = int(expires - time.time())
    return f"{when} (in {describe_wait(left)})" if left > 0 else f"{when} (expired)"


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise typer.BadParameter("no password on stdin", param_hint="--password-stdin")
        return password
    return str(typer.prompt("Password", hide_input=True))


def _interactive() -> bool:
    return sys.stdin.isatty()


def _answer(challenge: ChallengeRequired, interactive: bool) -> dict[str, str]:
    known = _CHALLENGES.get(challenge.challenge_name)
    if known is None or not interactive:
        raise ClientError(
            f"Cognito asks for the {challenge.challenge_name} challenge, which this command "
            + ("cannot answer" if known is None else "answers only interactively (no stdin)")
        )
    prompt, key, hidden = known
    value = typer.prompt(prompt, hide_input=hidden, confirmation_prompt=hidden)
    return {key: str(value).strip() if not hidden else str(value)}


def login_command(
    url: Annotated[str, typer.Option("--url", help="The gateway's URL.")],
    username: Annotated[str, typer.Option("--username", help="Who logs in.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
    refresh_through_gateway: Annotated[
        bool,
        typer.Option(
            "--refresh-through-gateway",
            help="Refresh at the gateway's /auth/refresh instead of at Cognito.",
        ),
    ] = False,
    remember_device: Annotated[
        bool,
        typer.Option(
            "--remember-device",
            help="On a pool that remembers devices on the user's choice, remember this one.",
        ),
    ] = False,
    storage_file: StorageFile = None,
) -> None:
    """Log in through the gateway and store the session (asks for the password)."""
    storage = _storage(storage_file)
    via: RefreshVia = "gateway" if refresh_through_gateway else "cognito"
    remember = True if remember_device else None
    with _one_line_errors():
        password = _read_password(password_stdin)
        try:
            user = login(
                url, username, password, storage, refresh_via=via, remember_device=remember
            )
        except ChallengeRequired as first:
            challenge = first
            for _ in range(5):  # a new password may be followed by an MFA code
                responses = _answer(challenge, interactive=_interactive())
                try:
                    user = respond_to_challenge(
                        url,
                        challenge.username or username,
                        challenge.challenge_name,
                        challenge.session,
                        responses,
                        storage,
                        refresh_via=via,
                        remember_device=remember,
                    )
                    break
                except ChallengeRequired as again:
                    challenge = again
            else:
                raise ClientError("too many challenges in a row; giving up") from None
        session = user.get_session()
    typer.echo(f"signed in as {user.username} until {_until(session)}")
    typer.echo(f"session saved to {storage.path}", err=True)


def session_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")] = False,
    storage_file: StorageFile = None,
) -> None:
    """Show who is signed in and until when (refreshing the session if needed)."""
    storage = _storage(storage_file)
    with _one_line_errors():
        user = _signed_in(storage)
        session = user.get_session()
    pool = user.pool
    where = (
        f"through the gateway {pool.gateway_url}"
        if pool.refresh_via == "gateway"
        else f"at Cognito {pool.endpoint}"
    )
    if as_json:
        claims = session.id_token.payload
        typer.echo(
            json.dumps(
                {
                    "username": user.username,
                    "sub": claims.get("sub"),
                    "userPoolId": pool.user_pool_id,
                    "clientId": pool.client_id,
                    "expiresAt": session.expires_at,
                    "refreshVia": pool.refresh_via,
                    "gatewayUrl": pool.gateway_url,
                    "storage": str(storage.path),
                }
            )
        )
        return
    typer.echo(f"signed in as {user.username}")
    typer.echo(f"  valid until  {_until(session)}")
    typer.echo(f"  user pool    {pool.user_pool_id} (app client {pool.client_id})")
    typer.echo(f"  refreshes    {where}")
    typer.echo(f"  stored in    {storage.path}")


def token_command(
    id_token: Annotated[
        bool, typer.Option("--id", help="Print the ID token instead of the access token.")
    ] = False,
    storage_file: StorageFile = None,
) -> None:
    """Print a valid token (refreshed if needed), for curl -H "Authorization: Bearer $(...)"."""
    storage = _storage(storage_file)
    with _one_line_errors():
        session = _signed_in(storage).get_session(min_ttl=60)
    typer.echo((session.id_token if id_token else session.access_token).jwt_token)


def logout_command(
    everywhere: Annotated[
        bool, typer.Option("--everywhere", help="End every session of this user (gateway only).")
    ] = False,
    storage_file: StorageFile = None,
) -> None:
    """Revoke the refresh token (at the gateway the session came from) and forget the session."""
    storage = _storage(storage_file)
    with _one_line_errors():
        try:
            user = current_user(storage)
        except NotSignedIn:
            typer.echo("not signed in", err=True)
            return
        try:
            user.sign_out(revoke=True, everywhere=everywhere)
        except ClientError as exc:
            raise ClientError(
                f"signed out here, but the refresh token could not be revoked: {exc.message}"
            ) from None
    typer.echo(f"signed out {user.username}")


def register(app: typer.Typer) -> None:
    """Add ``login``, ``session``, ``token`` and ``logout`` to the ``cognito-gate`` app, and the
    account commands (``signup``, ``confirm``, ``resend-code``, ``forgot-password``,
    ``reset-password``, ``change-password``)."""
    app.command("login")(login_command)
    app.command("session")(session_command)
    app.command("token")(token_command)
    app.command("logout")(logout_command)
    register_account(app)
