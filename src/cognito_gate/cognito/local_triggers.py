"""Cognito's Pre and Post Authentication triggers, run in-process by the embedded emulator.

moto stores a pool's ``LambdaConfig`` and never calls it. Here the emulator calls the functions
it names, in this process, the way Cognito invokes a Lambda function, so the whole trigger flow
(``cognito_gate.aws``) runs offline: a function is registered under its ARN with
:func:`register`, and from then on every pool whose ``LambdaConfig`` names that ARN gets it.
An ARN nothing registered is left uncalled, as moto always did. :func:`attach` names functions
in a pool's ``LambdaConfig``, as an operator attaches triggers in the console.

Where Cognito invokes them, and what they get (Cognito's documented event shapes, version 1)::

    {"version": "1", "triggerSource": "PreAuthentication_Authentication", "region": R,
     "userPoolId": POOL, "userName": USERNAME,
     "callerContext": {"awsSdkVersion": ..., "clientId": CLIENT},
     "request": {"userAttributes": {...}, "validationData": {...}, "userNotFound": false},
     "response": {}}

- **Pre Authentication**, before the password is checked, on ``AdminInitiateAuth``
  (``ADMIN_USER_PASSWORD_AUTH``, ``ADMIN_NO_SRP_AUTH``) and ``InitiateAuth``
  (``USER_PASSWORD_AUTH``). ``validationData`` is the call's ``ClientMetadata``. ``userName`` is
  the account's username, whichever name was typed; for a name that reaches no account the
  trigger runs only where the app client has ``PreventUserExistenceErrors: ENABLED``, with
  ``userNotFound: true`` and the name as typed (``userNotFound`` is present only on such
  clients, as in Cognito).
- **Post Authentication**, once a call of those, or ``(Admin)RespondToAuthChallenge``, issues
  tokens, before they are returned; ``request`` has ``userAttributes``, ``newDeviceUsed`` and,
  from a challenge response only, ``clientMetadata`` (Cognito does not pass InitiateAuth's there).

A trigger that raises makes the call fail as Cognito's does: ``UserLambdaValidationException``,
``"PreAuthentication failed with error MESSAGE."``; tokens a refused Post Authentication would
have received are revoked again. Installed by ``local._install_missing_calls``; idempotent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

TriggerFunction = Callable[[dict[str, Any], Any], Any]

#: What the events say of the caller's SDK (the emulator cannot tell).
SDK_VERSION = "aws-sdk-unknown-unknown"
PASSWORD_FLOWS = frozenset({"ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH", "USER_PASSWORD_AUTH"})

_FUNCTIONS: dict[str, TriggerFunction] = {}
_LOCK = threading.Lock()
_installed: list[bool] = []


def register(arn: str, function: TriggerFunction) -> None:
    """Run ``function(event, context)`` wherever a pool's LambdaConfig names ``arn``."""
    with _LOCK:
        _FUNCTIONS[arn] = function


def unregister(arn: str) -> None:
    """Stop running the function registered under ``arn``."""
    with _LOCK:
        _FUNCTIONS.pop(arn, None)


def function_arn(name: str, region: str = "us-east-1", account: str = "123456789012") -> str:
    """A Lambda function ARN (the emulator's account by default)."""
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def attach(pool_id: str, **triggers: str) -> None:
    """Name trigger functions in an emulator pool's ``LambdaConfig`` (``PreAuthentication=ARN``,
    ``PostAuthentication=ARN``), keeping what it named before. In-process: moto's UpdateUserPool
    resets every setting it is not sent, the pool's case rule included, which Cognito's API cannot
    send back."""
    from moto.cognitoidp.models import cognitoidp_backends

    for account in cognitoidp_backends.values():
        for region, backend in account.items():
            pool = None if region == "global" else backend.user_pools.get(pool_id)
            if pool is not None:
                config = dict(pool.extended_config.get("LambdaConfig") or {})
                config.update(triggers)
                pool.extended_config["LambdaConfig"] = config
                return
    raise KeyError(f"no emulator pool {pool_id}")


def _functions(pool: Any) -> tuple[TriggerFunction | None, TriggerFunction | None]:
    config = pool.extended_config.get("LambdaConfig") or {}
    with _LOCK:
        return (
            _FUNCTIONS.get(str(config.get("PreAuthentication") or "")),
            _FUNCTIONS.get(str(config.get("PostAuthentication") or "")),
        )


def _attributes(user: Any) -> dict[str, str]:
    attributes = {str(a["Name"]): str(a["Value"]) for a in user.attributes}
    status = getattr(user.status, "value", user.status)
    return {**attributes, "cognito:user_status": str(status)}


def _event(source: str, pool: Any, client_id: str, username: str, request: dict[str, Any]) -> Any:
    return {
        "version": "1",
        "triggerSource": source,
        "region": pool.region,
        "userPoolId": pool.id,
        "userName": username,
        "callerContext": {"awsSdkVersion": SDK_VERSION, "clientId": client_id},
        "request": request,
        "response": {},
    }


def install_triggers() -> None:
    """Wrap moto's sign-in calls so that they invoke registered triggers (idempotent)."""
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.exceptions import JsonRESTError

    with _LOCK:
        if _installed:
            return
        _installed.append(True)

    class UserLambdaValidationError(JsonRESTError):
        def __init__(self, trigger: str, message: str) -> None:
            super().__init__(
                "UserLambdaValidationException", f"{trigger} failed with error {message}."
            )

    def invoke(trigger: str, function: TriggerFunction, event: dict[str, Any]) -> None:
        try:
            function(event, None)
        except Exception as exc:  # whatever the function raised, Cognito says this
            logger.info("%s trigger refused %s: %s", trigger, event.get("userName"), exc)
            raise UserLambdaValidationError(trigger, str(exc) or type(exc).__name__) from None

    def hides_users(pool: Any, client_id: str) -> bool:
        client = pool.clients.get(client_id)
        config = getattr(client, "extended_config", None) or {}
        return bool(config.get("PreventUserExistenceErrors") == "ENABLED")

    def pre_authentication(pool: Any, client_id: str, name: str, metadata: Any) -> None:
        pre, _ = _functions(pool)
        if pre is None or not name:
            return
        user = pool._get_user(name)
        hiding = hides_users(pool, client_id)
        if user is None and not hiding:
            return  # Cognito does not invoke it for an unknown user then
        request: dict[str, Any] = {
            "userAttributes": _attributes(user) if user is not None else {},
            "validationData": dict(metadata or {}),
        }
        if hiding:
            request["userNotFound"] = user is None
        username = str(user.username) if user is not None else name
        event = _event("PreAuthentication_Authentication", pool, client_id, username, request)
        invoke("PreAuthentication", pre, event)

    def post_authentication(
        pool: Any, client_id: str, name: str, result: Any, metadata: Any
    ) -> None:
        _, post = _functions(pool)
        answer = getattr(result, "result", None)
        if post is None or not isinstance(answer, dict):
            return
        tokens = answer.get("AuthenticationResult")
        user = pool._get_user(name) if name else None
        if not tokens or user is None:
            return
        request: dict[str, Any] = {"userAttributes": _attributes(user), "newDeviceUsed": False}
        if metadata:
            request["clientMetadata"] = dict(metadata)
        event = _event(
            "PostAuthentication_Authentication", pool, client_id, str(user.username), request
        )
        try:
            invoke("PostAuthentication", post, event)
        except UserLambdaValidationError:
            pool.refresh_tokens.pop(tokens.get("RefreshToken"), None)
            pool.access_tokens.pop(tokens.get("AccessToken"), None)
            raise

    def pool_backend(response: Any, client_id: str) -> Any:
        try:
            return response._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
        except Exception:  # moto answers the unknown client itself
            return None

    def pool_of_client(response: Any, client_id: str) -> Any:
        backend = pool_backend(response, client_id)
        for pool in getattr(backend, "user_pools", {}).values():
            if client_id in pool.clients:
                return pool
        return None

    original_admin_initiate = CognitoIdpResponse.admin_initiate_auth
    original_initiate = CognitoIdpResponse.initiate_auth
    original_admin_respond = CognitoIdpResponse.admin_respond_to_auth_challenge
    original_respond = CognitoIdpResponse.respond_to_auth_challenge

    def signed_in(response: Any, original: Callable[[Any], Any], pool: Any, client_id: str) -> Any:
        params = response._get_param("AuthParameters") or {}
        name = str(params.get("USERNAME") or "")
        metadata = response._get_param("ClientMetadata")
        pre_authentication(pool, client_id, name, metadata)
        result = original(response)
        post_authentication(pool, client_id, name, result, None)
        return result

    def admin_initiate_auth(self: Any) -> Any:
        pool = self.backend.user_pools.get(self._get_param("UserPoolId"))
        if pool is None or self._get_param("AuthFlow") not in PASSWORD_FLOWS:
            return original_admin_initiate(self)
        return signed_in(self, original_admin_initiate, pool, self._get_param("ClientId"))

    def initiate_auth(self: Any) -> Any:
        client_id = self._get_param("ClientId")
        pool = pool_of_client(self, client_id)
        if pool is None or self._get_param("AuthFlow") not in PASSWORD_FLOWS:
            return original_initiate(self)
        return signed_in(self, original_initiate, pool, client_id)

    def responded(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def respond(self: Any) -> Any:
            client_id = self._get_param("ClientId")
            pool = pool_of_client(self, client_id)
            answers = self._get_param("ChallengeResponses") or {}
            name = str(answers.get("USERNAME") or "")
            if pool is not None and not name:  # the session knows whom it signs in
                sessions = getattr(pool_backend(self, client_id), "sessions", {})
                name = str((sessions.get(self._get_param("Session")) or ("",))[0])
            result = original(self)
            if pool is not None:
                metadata = self._get_param("ClientMetadata")
                post_authentication(pool, client_id, name, result, metadata)
            return result

        return respond

    setattr(CognitoIdpResponse, "admin_initiate_auth", admin_initiate_auth)  # noqa: B010
    setattr(CognitoIdpResponse, "initiate_auth", initiate_auth)  # noqa: B010
    setattr(  # noqa: B010
        CognitoIdpResponse, "admin_respond_to_auth_challenge", responded(original_admin_respond)
    )
    setattr(  # noqa: B010
        CognitoIdpResponse, "respond_to_auth_challenge", responded(original_respond)
    )
