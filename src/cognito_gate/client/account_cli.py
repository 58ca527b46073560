"""The account commands: ``signup``, ``confirm``, ``resend-code``, ``forgot-password``,
``reset-password``, ``change-password``.

Passwords are asked for without echo (twice for a new one), or read from stdin with
``--password-stdin`` (``change-password``: the current password on the first line, the new one on
the second). Codes are asked for when ``--code`` is not given. Every error is one line on stderr
and exit code 1.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from cognito_gate.client.account import (
    change_password,
    confirm_forgot_password,
    confirm_sign_up,
    forgot_password,
    resend_code,
    sign_up,
)
from cognito_gate.client.errors import ClientError, NotSignedIn
from cognito_gate.client.setup import current_user
from cognito_gate.client.storage import FileStorage

Url = Annotated[str, typer.Option("--url", help="The gateway's URL.")]
Username = Annotated[str, typer.Option("--username", help="The account's name.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
]
Code = Annotated[
    str | None,
    typer.Option(
        "--code", help="The code Cognito sent (asked for when not given).", show_default=False
    ),
]


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A client error ends the command with one line on stderr and exit status 1."""
    try:
        yield
    except ClientError as exc:
        typer.echo(f"cognito-gate: {exc.message}", err=True)
        raise typer.Exit(1) from None


def _line(what: str) -> str:
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise typer.BadParameter(f"no {what} on stdin", param_hint="--password-stdin")
    return value


def _new_password(from_stdin: bool, prompt: str = "New password") -> str:
    if from_stdin:
        return _line("password")
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=True))


def _code(code: str | None) -> str:
    return (code if code is not None else str(typer.prompt("Code"))).strip()


def _attributes(email: str | None, attribute: list[str] | None) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for item in attribute or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--attribute")
        attributes[name.strip()] = value
    if email:
        attributes["email"] = email
    return attributes


def signup_command(
    url: Url,
    username: Username,
    email: Annotated[
        str | None, typer.Option("--email", help="The email the code goes to.", show_default=False)
    ] = None,
    attribute: Annotated[
        list[str] | None,
        typer.Option(
            "--attribute", help="A user attribute, NAME=VALUE (repeatable).", show_default=False
        ),
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Sign up through the gateway (asks for the password twice); Cognito sends a code."""
    attributes = _attributes(email, attribute)
    with one_line_errors():
        password = _new_password(password_stdin, "Password")
        result = sign_up(url, username, password, attributes)
    if result.user_confirmed:
        typer.echo(f"signed up {username}: confirmed already")
        return
    where = result.code_delivery
    sent = f" a code was sent to {where.destination} ({where.delivery_medium})" if where else ""
    typer.echo(f"signed up {username};{sent or ' no code was sent (an admin confirms)'}")
    if where:
        typer.echo(
            f"confirm with: cognito-gate confirm --url {url} --username {username}", err=True
        )


def confirm_command(url: Url, username: Username, code: Code = None) -> None:
    """Confirm a sign-up with the code Cognito sent."""
    with one_line_errors():
        confirm_sign_up(url, username, _code(code))
    typer.echo(f"confirmed {username}")
    typer.echo(f"log in with: cognito-gate login --url {url} --username {username}", err=True)


def resend_code_command(url: Url, username: Username) -> None:
    """Ask for a new sign-up code."""
    with one_line_errors():
        resend_code(url, username)
    typer.echo(f"if {username} is waiting for confirmation, a new code is on its way")


def forgot_password_command(url: Url, username: Username) -> None:
    """Ask for a password reset code."""
    with one_line_errors():
        forgot_password(url, username)
    typer.echo(f"if {username} can receive a code, a reset code is on its way")
    typer.echo(f"then: cognito-gate reset-password --url {url} --username {username}", err=True)


def reset_password_command(
    url: Url, username: Username, code: Code = None, password_stdin: PasswordStdin = False
) -> None:
    """Set a new password with a reset code (asks for the code and the new password)."""
    with one_line_errors():
        the_code = _code(code)
        password = _new_password(password_stdin)
        confirm_forgot_password(url, username, the_code, password)
    typer.echo(f"password reset for {username}; log in with the new password")


def change_password_command(
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the current password, then the new one, from stdin's first two lines.",
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="The gateway (default: where the session came from).", show_default=False
        ),
    ] = None,
    storage_file: Annotated[
        Path | None,
        typer.Option(
            "--storage-file",
            envvar="COGNITO_GATE_SESSION_FILE",
            help="Session file (default: $XDG_CONFIG_HOME/cognito-gate/session.json).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Change the signed-in user's password (a wrong current password counts as a failed login)."""
    storage = FileStorage(storage_file)
    with one_line_errors():
        try:
            user = current_user(storage)
        except NotSignedIn:
            raise NotSignedIn(
                f"not signed in (nothing in {storage.path}); run: cognito-gate login --url URL"
                " --username NAME"
            ) from None
        if password_stdin:
            previous, proposed = _line("current password"), _line("new password")
        else:
            previous = str(typer.prompt("Current password", hide_input=True))
            proposed = _new_password(False)
        change_password(user, previous, proposed, gateway_url=url)
    typer.echo(f"password changed for {user.username}")


def register_account(app: typer.Typer) -> None:
    """Add the account commands to the ``cognito-gate`` app."""
    app.command("signup")(signup_command)
    app.command("confirm")(confirm_command)
    app.command("resend-code")(resend_code_command)
    app.command("forgot-password")(forgot_password_command)
    app.command("reset-password")(reset_password_command)
    app.command("change-password")(change_password_command)
