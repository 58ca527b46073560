"""The embedded default: moto's Cognito emulator in-process over HTTP, and a pool provisioned on it.

moto lacks some calls the gateway makes. They are added here, on moto's own response class, so
that every route works against the emulator as it does on AWS:

- ``RevokeToken`` (moto answers 500): revokes the refresh token and the access tokens issued
  from it, as Cognito does.

And where moto differs from Cognito in who a name reaches, it is made to agree:

- ``UsernameConfiguration.CaseSensitive: false`` is honoured (moto ignores it): ``Alice`` reaches
  ``alice``, and a second user differing only in case cannot be created;
- ``UsernameAttributes`` (sign-in with email or phone) and ``AliasAttributes`` (a verified email or
  phone, or ``preferred_username``) reach the account, under the pool's case rule;
- tokens, refresh-token records and sign-outs name the account's own username, whichever name
  logged in (moto keeps the string typed, so a global sign-out missed sessions opened by an
  alias, and an email pool's id token carried the typed name as its ``email``).

Confirmation and reset codes are issued and checked as Cognito does (``local_codes``: sign-up,
``ResendConfirmationCode``, forgot-password; moto accepts any code), and delivered to the log and
to ``GET /dev/codes``.

Remembered devices are kept as Cognito keeps them (``local_devices``: ``NewDeviceMetadata``,
``ConfirmDevice``, device SRP, refresh bound to the device key, the device calls; moto has none).

``GetTokensFromRefreshToken`` is left missing on purpose: the gateway answers it through
``REFRESH_TOKEN_AUTH`` where the endpoint lacks it, and that path is tested here. Pools that
remember devices are the exception (``local_devices``): Amplify v6 refreshes with it there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import boto3
from botocore.config import Config

from cognito_gate.cognito.jwt import unverified_claims
from cognito_gate.cognito.local_codes import install_codes
from cognito_gate.cognito.local_devices import install_devices
from cognito_gate.cognito.local_triggers import install_triggers
from cognito_gate.verify.pools import issuer_for, jwks_uri_for

REGION = "us-east-1"
# moto checks no signature; boto3 still wants credentials to sign with.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}

logger = logging.getLogger(__name__)


def _install_missing_calls() -> None:
    """Teach moto the Cognito calls it lacks (idempotent)."""
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import EmptyResult

    if getattr(CognitoIdpResponse, "_cognito_gate_patched", False):
        return

    def revoke_token(self: Any) -> Any:
        token = self._get_param("Token")
        client_id = self._get_param("ClientId")
        for account in cognitoidp_backends.values():
            for region, backend in account.items():
                if region == "global":
                    continue
                for pool in backend.user_pools.values():
                    if token not in pool.refresh_tokens:
                        continue
                    entry = pool.refresh_tokens[token]
                    if entry is None:
                        return EmptyResult()
                    if entry[0] != client_id:
                        raise NotAuthorizedError("Invalid token")
                    pool.refresh_tokens[token] = None
                    origin = entry[2]
                    for access in list(pool.access_tokens):
                        if unverified_claims(access).get("origin_jti") == origin:
                            pool.access_tokens.pop(access, None)
                    return EmptyResult()
        # Cognito answers success for a token it does not know (RFC 7009).
        return EmptyResult()

    setattr(CognitoIdpResponse, "revoke_token", revoke_token)  # noqa: B010
    _install_account_names()
    install_codes()
    install_devices()
    setattr(CognitoIdpResponse, "_cognito_gate_patched", True)  # noqa: B010
    install_triggers()


def _fold(pool: Any, text: str) -> str:
    """A name as the pool compares it: lower-cased unless the pool is case-sensitive. Lower-cased,
    not case-folded: Cognito does not make ``straße`` and ``strasse`` one name."""
    config = pool.extended_config.get("UsernameConfiguration") or {}
    return text if config.get("CaseSensitive", True) else text.lower()


def _sign_in_names(pool: Any, user: Any) -> list[str]:
    """Every name that reaches ``user`` in ``pool``, as Cognito allows them."""
    attrs = {a["Name"]: a["Value"] for a in user.attributes}
    names = [user.username]
    for kind in pool.extended_config.get("UsernameAttributes") or []:
        if attrs.get(kind):
            names.append(attrs[kind])
    for kind in pool.extended_config.get("AliasAttributes") or []:
        verified = kind == "preferred_username" or attrs.get(f"{kind}_verified") == "true"
        if attrs.get(kind) and verified:
            names.append(attrs[kind])
    return names


def _install_account_names() -> None:
    """Make moto find accounts by every name Cognito accepts, and record the account's own."""
    from moto.cognitoidp.models import CognitoIdpUserPool

    def get_user(self: Any, username: str) -> Any:
        if username is None:
            return None
        exact = self.users.get(username)
        if exact is not None:
            return exact
        wanted = _fold(self, username)
        for user in self.users.values():
            if any(_fold(self, name) == wanted for name in _sign_in_names(self, user)):
                return user
        return None

    def canonical(self: Any, username: str) -> str:
        user = get_user(self, username)
        return str(user.username) if user is not None else username

    create_refresh_token = CognitoIdpUserPool.create_refresh_token
    create_jwt = CognitoIdpUserPool.create_jwt
    sign_out = CognitoIdpUserPool.sign_out

    def refresh_token(self: Any, client_id: str, username: str) -> Any:
        return create_refresh_token(self, client_id, canonical(self, username))

    def jwt(
        self: Any,
        client_id: str,
        username: str,
        token_use: str,
        expires_in: int = 3600,
        extra_data: dict[str, Any] | None = None,
    ) -> Any:
        name = canonical(self, username)
        extra = dict(extra_data or {})
        if token_use == "id" and "email" in (self.extended_config.get("UsernameAttributes") or []):
            attrs = {x["Name"]: x["Value"] for x in get_user(self, name).attributes}
            if attrs.get("email"):
                extra["email"] = attrs["email"]  # not the name typed (moto's bug)
        return create_jwt(self, client_id, name, token_use, expires_in, extra)

    def signed_out(self: Any, username: str) -> None:
        sign_out(self, canonical(self, username))

    for name, patched in (
        ("_get_user", get_user),
        ("create_refresh_token", refresh_token),
        ("create_jwt", jwt),
        ("sign_out", signed_out),
    ):
        setattr(CognitoIdpUserPool, name, patched)


class _ExpectedGaps(logging.Filter):
    """Drop moto's traceback for the calls it lacks on purpose (the gateway probes them once)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        text = f"{record.getMessage()} {exc or ''}"
        return "get_tokens_from_refresh_token action has not been implemented" not in text


class Emulator:
    """moto's server on a free loopback port, in a thread of this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        """The emulator's base URL, e.g. ``http://127.0.0.1:40123``."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> str:
        """Start serving; return the endpoint."""
        from moto.server import ThreadedMotoServer

        _install_missing_calls()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        for name in ("moto", "werkzeug"):
            log = logging.getLogger(name)
            if not any(isinstance(f, _ExpectedGaps) for f in log.filters):
                log.addFilter(_ExpectedGaps())
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        return self.endpoint

    def stop(self) -> None:
        """Stop serving (state is kept in moto's process-wide backends)."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def emulator_client(endpoint: str, region: str = REGION) -> Any:
    """A boto3 cognito-idp client for the emulator (no retries: moto's 500s should fail fast)."""
    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        **EMULATOR_CREDENTIALS,
    )


@dataclass(frozen=True)
class LocalPool:
    """What :func:`provision_pool` created."""

    endpoint: str
    region: str
    user_pool_id: str
    client_id: str
    client_secret: str | None
    demo_username: str | None
    demo_password: str | None

    @property
    def jwks_uri(self) -> str:
        """Where the emulator serves this pool's JWKS."""
        return jwks_uri_for(self.user_pool_id, self.endpoint)

    @property
    def issuer(self) -> str:
        """The ``iss`` of this pool's tokens: always the AWS form, even on the emulator."""
        return issuer_for(self.user_pool_id)


SAFE_AUTH_FLOWS = ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def provision_pool(
    endpoint: str,
    *,
    region: str = REGION,
    name: str = "cognito-gate-local",
    demo_username: str | None = "demo",
    demo_password: str | None = "Demo-passw0rd!",
    remember_devices: bool | Literal["always", "opt-in"] = False,
    with_secret: bool = False,
    case_sensitive: bool = False,
    auth_flows: list[str] | None = None,
    username_attributes: list[str] | None = None,
    alias_attributes: list[str] | None = None,
    auto_verified_attributes: list[str] | None = None,
) -> LocalPool:
    """Create a pool, a safe app client and (optionally) a confirmed demo user on the emulator.

    ``username_attributes`` (``["email"]``: sign in with an email, the username a generated id) and
    ``alias_attributes`` (``["email", "preferred_username"]``) give the pool more than one name per
    account, as Cognito's console offers. ``auto_verified_attributes`` (default ``["email"]``,
    the console's default) are where sign-up sends its confirmation code. ``remember_devices``
    turns device tracking on: ``True`` or ``"always"`` remembers every device, ``"opt-in"`` only
    those the user chooses (``DeviceOnlyRememberedOnUserPrompt``).
    """
    idp = emulator_client(endpoint, region)
    pool_args: dict[str, Any] = {
        "PoolName": name,
        "UsernameConfiguration": {"CaseSensitive": case_sensitive},
        "Policies": {
            "PasswordPolicy": {
                "MinimumLength": 8,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": True,
            }
        },
    }
    pool_args["AutoVerifiedAttributes"] = (
        ["email"] if auto_verified_attributes is None else auto_verified_attributes
    )
    if username_attributes:
        pool_args["UsernameAttributes"] = username_attributes
    if alias_attributes:
        pool_args["AliasAttributes"] = alias_attributes
    if remember_devices:
        pool_args["DeviceConfiguration"] = {
            "ChallengeRequiredOnNewDevice": False,
            "DeviceOnlyRememberedOnUserPrompt": remember_devices == "opt-in",
        }
    pool_id = idp.create_user_pool(**pool_args)["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{name}-client",
        GenerateSecret=with_secret,
        ExplicitAuthFlows=auth_flows or SAFE_AUTH_FLOWS,
        PreventUserExistenceErrors="ENABLED",
        EnableTokenRevocation=True,
    )["UserPoolClient"]
    if demo_username and demo_password:
        create_user(idp, pool_id, demo_username, demo_password)
    return LocalPool(
        endpoint=endpoint,
        region=region,
        user_pool_id=pool_id,
        client_id=client["ClientId"],
        client_secret=client.get("ClientSecret"),
        demo_username=demo_username,
        demo_password=demo_password,
    )


def create_user(
    idp: Any, pool_id: str, username: str, password: str, attributes: dict[str, str] | None = None
) -> str:
    """Create a confirmed user with a permanent password; return the account's username (on an
    email-sign-in pool a generated id, not the email given)."""
    created = idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": k, "Value": v} for k, v in (attributes or {}).items()],
    )
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=username, Password=password, Permanent=True
    )
    return str(created["User"]["Username"])
