"""The Python client: an Amplify-compatible Cognito session from the gateway's tokens.

::

    from cognito_gate.client import setup_session, login, FileStorage, CognitoAuth

    user = login("http://127.0.0.1:8000", "alice", "pw", storage=FileStorage())
    session = user.get_session()          # valid tokens; refreshed (and stored) when expired
    httpx.get(url, auth=CognitoAuth(user))

    sign_up(URL, "bob", "pw", {"email": "bob@example.com"}); confirm_sign_up(URL, "bob", code)
    forgot_password(URL, "bob"); confirm_forgot_password(URL, "bob", code, "new pw")
    change_password(user, "pw", "new pw")

It mirrors amazon-cognito-identity-js, and stores sessions under the same keys, so a session
written here reads the same there (and the other way round). It never imports the gateway.
"""

from cognito_gate.client.account import (
    CodeDelivery,
    SignUpResult,
    achange_password,
    aconfirm_forgot_password,
    aconfirm_sign_up,
    aforgot_password,
    aresend_code,
    asign_up,
    change_password,
    confirm_forgot_password,
    confirm_sign_up,
    forgot_password,
    resend_code,
    sign_up,
)
from cognito_gate.client.auth import CognitoAuth
from cognito_gate.client.errors import (
    AccountDisabled,
    AccountLocked,
    ChallengeRequired,
    ClientError,
    CodeMismatch,
    CognitoUnavailable,
    ExpiredCode,
    GatewayUnavailable,
    InvalidCredentials,
    InvalidPassword,
    InvalidRequest,
    NotAuthorized,
    NotSignedIn,
    PasswordResetRequired,
    RefreshFailed,
    StorageError,
    TooManyRequests,
    Unavailable,
    UnexpectedResponse,
    UsernameExists,
    UserNotConfirmed,
)
from cognito_gate.client.keyring_storage import KeyringStorage
from cognito_gate.client.login import alogin, arespond_to_challenge, login, respond_to_challenge
from cognito_gate.client.pool import CognitoUserPool
from cognito_gate.client.session import CognitoUserSession
from cognito_gate.client.setup import current_user, setup_session
from cognito_gate.client.storage import FileStorage, MemoryStorage, Storage, default_session_path
from cognito_gate.client.tokens import (
    CognitoAccessToken,
    CognitoIdToken,
    CognitoJwtToken,
    CognitoRefreshToken,
)
from cognito_gate.client.user import CognitoUser

__all__ = [
    "AccountDisabled",
    "AccountLocked",
    "ChallengeRequired",
    "ClientError",
    "CodeDelivery",
    "CodeMismatch",
    "CognitoAccessToken",
    "CognitoAuth",
    "CognitoIdToken",
    "CognitoJwtToken",
    "CognitoRefreshToken",
    "CognitoUnavailable",
    "CognitoUser",
    "CognitoUserPool",
    "CognitoUserSession",
    "ExpiredCode",
    "FileStorage",
    "GatewayUnavailable",
    "InvalidCredentials",
    "InvalidPassword",
    "InvalidRequest",
    "KeyringStorage",
    "MemoryStorage",
    "NotAuthorized",
    "NotSignedIn",
    "PasswordResetRequired",
    "RefreshFailed",
    "SignUpResult",
    "Storage",
    "StorageError",
    "TooManyRequests",
    "Unavailable",
    "UnexpectedResponse",
    "UserNotConfirmed",
    "UsernameExists",
    "achange_password",
    "aconfirm_forgot_password",
    "aconfirm_sign_up",
    "aforgot_password",
    "alogin",
    "aresend_code",
    "arespond_to_challenge",
    "asign_up",
    "change_password",
    "confirm_forgot_password",
    "confirm_sign_up",
    "current_user",
    "default_session_path",
    "forgot_password",
    "login",
    "resend_code",
    "respond_to_challenge",
    "setup_session",
    "sign_up",
]
