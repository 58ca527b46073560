"""The Cognito calls the gateway makes, with boto3, each run off the event loop.

Every call goes out once (no automatic retry): a retried password check would spend more of
Cognito's own five attempts than the policy accounted for.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from cognito_gate import errors as e
from cognito_gate.cognito.errors import Operation, error_code, translate
from cognito_gate.cognito.jwt import secret_hash, unverified_claims
from cognito_gate.cognito.marker import client_metadata
from cognito_gate.errors import GateError
from cognito_gate.policy import Outcome

T = TypeVar("T")


class _NoWireDebug(logging.Filter):
    """botocore logs request and response bodies at DEBUG: passwords, tokens, secret hashes.

    Those records are dropped, whatever level the application sets, so that turning on DEBUG
    logging can never write a credential to a log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


for _name in ("botocore.endpoint", "botocore.parsers", "botocore.hooks", "botocore.auth"):
    logging.getLogger(_name).addFilter(_NoWireDebug())

#: Request headers never forwarded to Cognito in ContextData: they carry secrets.
PRIVATE_HEADERS = frozenset(
    {"authorization", "cookie", "proxy-authorization", "x-api-key", "x-amz-security-token"}
)


#: The device calls :meth:`CognitoIdp.device_call` makes (each authorized by the user's access
#: token, or by the gateway's IAM credentials for the Admin ones).
DEVICE_OPERATIONS = frozenset(
    {
        "ConfirmDevice",
        "UpdateDeviceStatus",
        "ForgetDevice",
        "ListDevices",
        "GetDevice",
        "AdminUpdateDeviceStatus",
        "AdminForgetDevice",
        "AdminListDevices",
        "AdminGetDevice",
    }
)
#: What a failed device call means, by Cognito's error code (anything else: Cognito unavailable).
_DEVICE_ERRORS: dict[str, type[GateError]] = {
    "NotAuthorizedException": e.InvalidToken,
    "ResourceNotFoundException": e.NotFound,
    "UserNotFoundException": e.NotFound,
    "InvalidParameterException": e.InvalidRequest,
    "DeviceKeyExistsException": e.InvalidRequest,
}


class UnknownDevice(Exception):
    """Cognito does not know the ``DEVICE_KEY`` sent (``ResourceNotFoundException "Device does not
    exist."``: never issued, forgotten, or another user's)."""


class CognitoError(Exception):
    """A Cognito call failed: ``error`` is what to answer, ``outcome`` what it says of the password."""

    def __init__(self, error: GateError, outcome: Outcome, code: str = "") -> None:
        super().__init__(error.message)
        self.error = error
        self.outcome = outcome
        self.code = code  # Cognito's error code (or the exception's name), for logs and start-up


@dataclass(frozen=True)
class Tokens:
    """A successful authentication's tokens (``new_device``: ``NewDeviceMetadata``'s DeviceKey and
    DeviceGroupKey, when Cognito issued a device with them)."""

    id_token: str
    access_token: str
    refresh_token: str | None
    expires_in: int
    token_type: str = "Bearer"
    new_device: tuple[str, str] | None = None

    @functools.cached_property
    def id_claims(self) -> dict[str, Any]:
        """The id token's claims, read without verification (they came straight from Cognito);
        decoded once, however many steps of a login or refresh ask."""
        return unverified_claims(self.id_token)


@dataclass(frozen=True)
class Challenge:
    """Cognito wants an answer before it issues tokens (``forget_device``: the device the client
    sent is unknown to Cognito, and the login went on without it)."""

    name: str
    session: str
    parameters: dict[str, str] = field(default_factory=dict)
    forget_device: bool = False


@dataclass(frozen=True)
class ClientContext:
    """Who is logging in, forwarded to Cognito as ContextData for its threat protection."""

    ip: str
    headers: tuple[tuple[str, str], ...] = ()
    server_name: str = "cognito-gate"
    server_path: str = "/auth/login"
    encoded_data: str | None = None

    def context_data(self) -> dict[str, Any]:
        """The ``ContextData`` parameter of Admin* auth calls."""
        headers = [
            {"headerName": name[:256], "headerValue": value[:2048]}
            for name, value in self.headers
            if name.lower() not in PRIVATE_HEADERS
        ][:50]
        data: dict[str, Any] = {
            "IpAddress": self.ip,
            "ServerName": self.server_name,
            "ServerPath": self.server_path,
            "HttpHeaders": headers,
        }
        if self.encoded_data:
            data["EncodedData"] = self.encoded_data
        return data


@dataclass(frozen=True)
class SignUpResult:
    """What SignUp answered: whether the user is confirmed already, its ``sub``, and where the
    confirmation code went (None when Cognito sent none)."""

    user_confirmed: bool
    user_sub: str
    delivery: dict[str, str] | None = None


def _delivery(answer: Mapping[str, Any]) -> dict[str, str] | None:
    details = answer.get("CodeDeliveryDetails")
    if not isinstance(details, Mapping):
        return None
    return {str(k): str(v) for k, v in details.items() if v is not None}


def _result(answer: Mapping[str, Any]) -> Tokens | Challenge:
    result = answer.get("AuthenticationResult")
    if result:
        device = result.get("NewDeviceMetadata") or {}
        return Tokens(
            id_token=result["IdToken"],
            access_token=result["AccessToken"],
            refresh_token=result.get("RefreshToken"),
            expires_in=int(result.get("ExpiresIn", 3600)),
            token_type=result.get("TokenType", "Bearer"),
            new_device=(
                (str(device["DeviceKey"]), str(device["DeviceGroupKey"]))
                if device.get("DeviceKey") and device.get("DeviceGroupKey")
                else None
            ),
        )
    return Challenge(
        name=str(answer.get("ChallengeName", "")),
        session=str(answer.get("Session", "")),
        parameters={str(k): str(v) for k, v in (answer.get("ChallengeParameters") or {}).items()},
    )


def _device_unknown(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    return code == "ResourceNotFoundException" and "device" in message.lower()


class CognitoIdp:
    """The gateway's view of one user pool and app client."""

    def __init__(
        self,
        *,
        user_pool_id: str,
        client_id: str,
        region: str,
        client_secret: str | None = None,
        endpoint: str | None = None,
        credentials: Mapping[str, str] | None = None,
        client: Any = None,
    ) -> None:
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.region = region
        self.endpoint = endpoint
        self._secret = client_secret
        self._get_tokens_supported: bool | None = None
        # Cognito calls block for up to the read timeout; they get their own threads, sized to
        # the connection pool, so that neither they nor other work starve each other.
        self._workers = ThreadPoolExecutor(max_workers=32, thread_name_prefix="cognito-gate-idp")
        self._client = client or boto3.client(
            "cognito-idp",
            region_name=region,
            endpoint_url=endpoint,
            config=Config(
                retries={"total_max_attempts": 1},
                connect_timeout=3,
                read_timeout=10,
                max_pool_connections=64,
            ),
            **(credentials or {}),
        )

    @property
    def client(self) -> Any:
        """The boto3 client (tests wrap it with botocore's Stubber)."""
        return self._client

    @property
    def has_secret(self) -> bool:
        """Whether the app client has a secret (SECRET_HASH is sent)."""
        return self._secret is not None

    def _hash(self, username: str) -> dict[str, str]:
        if self._secret is None:
            return {}
        return {"SECRET_HASH": secret_hash(self._secret, username, self.client_id)}

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._workers, fn)

    async def _call(self, operation: Operation, fn: Callable[[], T], *, device: bool = False) -> T:
        try:
            return await self._run(fn)
        except (ClientError, BotoCoreError) as exc:
            if device and _device_unknown(exc):
                raise UnknownDevice() from None
            error, outcome = translate(exc, operation)
            raise CognitoError(error, outcome, error_code(exc)) from None

    async def internal_username(self, username: str) -> str | None:
        """The pool's own username for a name or alias (for SECRET_HASH), None if unknown."""

        def call() -> str | None:
            try:
                return str(
                    self._client.admin_get_user(UserPoolId=self.user_pool_id, Username=username)[
                        "Username"
                    ]
                )
            except ClientError as exc:
                # A name Cognito finds no account for, or refuses as no name at all.
                if error_code(exc) in ("UserNotFoundException", "InvalidParameterException"):
                    return None
                raise

        return await self._call("read", call)

    async def password_auth(
        self,
        username: str,
        password: str,
        context: ClientContext,
        hash_name: str | None = None,
        device_key: str | None = None,
    ) -> Tokens | Challenge:
        """AdminInitiateAuth with ADMIN_USER_PASSWORD_AUTH: one password check (``device_key``:
        the client's remembered device; :class:`UnknownDevice` when Cognito does not know it)."""
        params = {"USERNAME": username, "PASSWORD": password, **self._hash(hash_name or username)}
        if device_key:
            params["DEVICE_KEY"] = device_key
        metadata = client_metadata()  # the gateway's mark, for the pool's triggers
        answer = await self._call(
            "password",
            lambda: self._client.admin_initiate_auth(
                UserPoolId=self.user_pool_id,
                ClientId=self.client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters=params,
                ContextData=context.context_data(),
                **metadata,
            ),
            device=bool(device_key),
        )
        return _result(answer)

    async def respond(
        self,
        username: str,
        challenge: str,
        session: str,
        responses: Mapping[str, str],
        context: ClientContext,
        hash_name: str | None = None,
    ) -> Tokens | Challenge:
        """AdminRespondToAuthChallenge (NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA, SMS_MFA, the
        device challenges...); :class:`UnknownDevice` when the ``DEVICE_KEY`` sent is unknown."""
        answers = {"USERNAME": username, **responses, **self._hash(hash_name or username)}
        metadata = client_metadata()
        answer = await self._call(
            "challenge",
            lambda: self._client.admin_respond_to_auth_challenge(
                UserPoolId=self.user_pool_id,
                ClientId=self.client_id,
                ChallengeName=challenge,
                Session=session,
                ChallengeResponses=answers,
                ContextData=context.context_data(),
                **metadata,
            ),
            device="DEVICE_KEY" in answers,
        )
        return _result(answer)

    async def refresh(
        self, refresh_token: str, username: str | None, device_key: str | None = None
    ) -> Tokens:
        """InitiateAuth with REFRESH_TOKEN_AUTH; ``username`` is the internal one (SECRET_HASH)."""
        params = {"REFRESH_TOKEN": refresh_token}
        if username is not None:
            params.update(self._hash(username))
        if device_key:
            params["DEVICE_KEY"] = device_key
        answer = await self._call(
            "refresh",
            lambda: self._client.initiate_auth(
                ClientId=self.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters=params
            ),
        )
        result = _result(answer)
        if not isinstance(result, Tokens):
            raise CognitoError(GateError("unexpected challenge on refresh"), Outcome.NEUTRAL)
        return result

    async def get_tokens(
        self, refresh_token: str, username: str | None, device_key: str | None = None
    ) -> Tokens:
        """GetTokensFromRefreshToken (what Amplify v6 sends), or REFRESH_TOKEN_AUTH where the
        endpoint lacks it (the emulator); the answer has the same shape either way."""
        if self._get_tokens_supported is not False and hasattr(
            self._client, "get_tokens_from_refresh_token"
        ):
            args: dict[str, Any] = {"RefreshToken": refresh_token, "ClientId": self.client_id}
            if self._secret:
                args["ClientSecret"] = self._secret
            if device_key:
                args["DeviceKey"] = device_key
            try:
                answer = await self._run(lambda: self._client.get_tokens_from_refresh_token(**args))
            except (ClientError, BotoCoreError) as exc:
                if not self._lacks_operation(exc):
                    error, outcome = translate(exc, "refresh")
                    raise CognitoError(error, outcome) from None
                self._get_tokens_supported = False
            else:
                self._get_tokens_supported = True
                result = _result(answer)
                if isinstance(result, Tokens):
                    return result
        return await self.refresh(refresh_token, username, device_key)

    def _lacks_operation(self, exc: Exception) -> bool:
        # Only a custom endpoint (an emulator) may lack a Cognito operation: it answers 500.
        if self.endpoint is None or self._get_tokens_supported:
            return False
        meta = getattr(exc, "response", {}).get("ResponseMetadata", {})
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        return int(meta.get("HTTPStatusCode", 0)) >= 500 and not str(code).endswith("Exception")

    async def device_call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One of :data:`DEVICE_OPERATIONS` (``ConfirmDevice``, ``UpdateDeviceStatus``...):
        Cognito's answer, or a :class:`CognitoError` whose ``code`` is Cognito's."""
        if operation not in DEVICE_OPERATIONS:
            raise ValueError(f"not a device call: {operation}")
        method = getattr(self._client, xform_name(operation))
        try:
            answer = await self._run(lambda: method(**params))
        except ClientError as exc:
            code = error_code(exc)
            cls = _DEVICE_ERRORS.get(code, e.CognitoUnavailable)
            raise CognitoError(cls(), Outcome.NEUTRAL, code) from None
        except BotoCoreError as exc:
            name = type(exc).__name__
            cls = e.InvalidRequest if name == "ParamValidationError" else e.CognitoUnavailable
            raise CognitoError(cls(), Outcome.NEUTRAL, name) from None
        return {k: v for k, v in dict(answer).items() if k != "ResponseMetadata"}

    async def revoke(self, refresh_token: str) -> None:
        """RevokeToken: the refresh token (and access tokens issued from it) stop working."""
        extra = {"ClientSecret": self._secret} if self._secret else {}
        await self._call(
            "revoke",
            lambda: self._client.revoke_token(
                Token=refresh_token, ClientId=self.client_id, **extra
            ),
        )

    async def admin_sign_out(self, username: str) -> bool:
        """AdminUserGlobalSignOut: every refresh token of the account stops working, wherever
        it is used. False when Cognito knows no such user."""

        def call() -> bool:
            try:
                self._client.admin_user_global_sign_out(
                    UserPoolId=self.user_pool_id, Username=username
                )
            except ClientError as exc:
                if error_code(exc) == "UserNotFoundException":
                    return False
                raise
            return True

        return await self._call("read", call)

    async def global_sign_out(self, access_token: str) -> None:
        """GlobalSignOut: every refresh token of the user stops working."""
        await self._call("signout", lambda: self._client.global_sign_out(AccessToken=access_token))

    async def get_user(self, access_token: str) -> dict[str, Any]:
        """GetUser: the user's attributes, for the holder of a valid access token."""
        answer = await self._call(
            "signout", lambda: self._client.get_user(AccessToken=access_token)
        )
        return {k: v for k, v in dict(answer).items() if k != "ResponseMetadata"}

    # -- account flows: sign-up, confirmation, password reset, change password ------------------

    @staticmethod
    def _user_context(context: ClientContext) -> dict[str, str]:
        """``UserContextData`` of the unauthenticated flows: the user's address for Cognito's
        threat protection (and the device fingerprint, when the front end collected one)."""
        data = {"IpAddress": context.ip}
        if context.encoded_data:
            data["EncodedData"] = context.encoded_data
        return data

    def _secret_hash_param(self, hash_name: str) -> dict[str, str]:
        """``SecretHash`` as the unauthenticated flows take it (a parameter, not an auth one)."""
        hashed = self._hash(hash_name)
        return {"SecretHash": hashed["SECRET_HASH"]} if hashed else {}

    async def sign_up(
        self,
        username: str,
        password: str,
        attributes: Mapping[str, str],
        context: ClientContext,
    ) -> SignUpResult:
        """SignUp: a new, unconfirmed user (Cognito sends the confirmation code)."""
        answer = await self._call(
            "code",
            lambda: self._client.sign_up(
                ClientId=self.client_id,
                Username=username,
                Password=password,
                UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
                UserContextData=self._user_context(context),
                **self._secret_hash_param(username),
            ),
        )
        return SignUpResult(
            user_confirmed=bool(answer.get("UserConfirmed")),
            user_sub=str(answer.get("UserSub", "")),
            delivery=_delivery(answer),
        )

    async def confirm_sign_up(
        self, username: str, code: str, context: ClientContext, hash_name: str | None = None
    ) -> None:
        """ConfirmSignUp: one check of a confirmation code."""
        await self._call(
            "code",
            lambda: self._client.confirm_sign_up(
                ClientId=self.client_id,
                Username=username,
                ConfirmationCode=code,
                UserContextData=self._user_context(context),
                **self._secret_hash_param(hash_name or username),
            ),
        )

    async def resend_confirmation_code(
        self, username: str, context: ClientContext, hash_name: str | None = None
    ) -> dict[str, str] | None:
        """ResendConfirmationCode: a new sign-up code; where it went (or a simulated place)."""
        answer = await self._call(
            "code",
            lambda: self._client.resend_confirmation_code(
                ClientId=self.client_id,
                Username=username,
                UserContextData=self._user_context(context),
                **self._secret_hash_param(hash_name or username),
            ),
        )
        return _delivery(answer)

    async def forgot_password(
        self, username: str, context: ClientContext, hash_name: str | None = None
    ) -> dict[str, str] | None:
        """ForgotPassword: a reset code to the account's verified email or phone."""
        answer = await self._call(
            "code",
            lambda: self._client.forgot_password(
                ClientId=self.client_id,
                Username=username,
                UserContextData=self._user_context(context),
                **self._secret_hash_param(hash_name or username),
            ),
        )
        return _delivery(answer)

    async def confirm_forgot_password(
        self,
        username: str,
        code: str,
        new_password: str,
        context: ClientContext,
        hash_name: str | None = None,
    ) -> None:
        """ConfirmForgotPassword: one check of a reset code, and the new password if it is right."""
        await self._call(
            "code",
            lambda: self._client.confirm_forgot_password(
                ClientId=self.client_id,
                Username=username,
                ConfirmationCode=code,
                Password=new_password,
                UserContextData=self._user_context(context),
                **self._secret_hash_param(hash_name or username),
            ),
        )

    async def change_password(self, access_token: str, previous: str, proposed: str) -> None:
        """ChangePassword: one check of the previous password, for the holder of an access token."""
        await self._call(
            "change",
            lambda: self._client.change_password(
                AccessToken=access_token, PreviousPassword=previous, ProposedPassword=proposed
            ),
        )

    async def describe_pool(self) -> dict[str, Any]:
        """DescribeUserPool."""
        answer = await self._call(
            "read", lambda: self._client.describe_user_pool(UserPoolId=self.user_pool_id)
        )
        return dict(answer["UserPool"])

    async def describe_client(self, client_id: str | None = None) -> dict[str, Any]:
        """DescribeUserPoolClient (the gateway's own client by default)."""
        answer = await self._call(
            "read",
            lambda: self._client.describe_user_pool_client(
                UserPoolId=self.user_pool_id, ClientId=client_id or self.client_id
            ),
        )
        return dict(answer["UserPoolClient"])

    async def list_client_ids(self) -> list[str]:
        """Every app client of the pool."""

        def call() -> list[str]:
            ids: list[str] = []
            kwargs: dict[str, Any] = {"UserPoolId": self.user_pool_id, "MaxResults": 60}
            while True:
                page = self._client.list_user_pool_clients(**kwargs)
                ids += [c["ClientId"] for c in page.get("UserPoolClients", [])]
                if not page.get("NextToken"):
                    return ids
                kwargs["NextToken"] = page["NextToken"]

        return await self._call("read", call)
