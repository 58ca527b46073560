"""The embedded emulator issues and checks codes as Cognito does (boto3 straight at it)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from cognito_gate.cognito.local import (
    Emulator,
    LocalPool,
    create_user,
    emulator_client,
    provision_pool,
)
from cognito_gate.cognito.local_codes import (
    RESET,
    SIGNUP,
    CodeError,
    Codes,
    mask_email,
    mask_phone,
    password_problem,
)
from tests.flows.conftest import code_for, wrong


def fails(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as failed:
        call(**params)
    error = failed.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


@pytest.fixture
def idp(pool: LocalPool) -> Any:
    return emulator_client(pool.endpoint, pool.region)


def sign_up(idp: Any, pool: LocalPool, name: str, **attrs: str) -> dict[str, Any]:
    return dict(
        idp.sign_up(
            ClientId=pool.client_id,
            Username=name,
            Password="Good-passw0rd!",
            UserAttributes=[{"Name": k, "Value": v} for k, v in attrs.items()],
        )
    )


def test_sign_up_sends_a_six_digit_code_that_confirms_once(idp: Any, pool: LocalPool) -> None:
    answer = sign_up(idp, pool, "kim", email="kim@example.com")
    assert answer["UserConfirmed"] is False
    assert answer["CodeDeliveryDetails"] == {
        "Destination": "k***@e***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }
    code = code_for(pool, "kim", SIGNUP)
    assert code.isdigit()
    assert len(code) == 6
    assert fails(
        idp.confirm_sign_up, ClientId=pool.client_id, Username="kim", ConfirmationCode=wrong(code)
    ) == ("CodeMismatchException", "Invalid verification code provided, please try again.")
    idp.confirm_sign_up(ClientId=pool.client_id, Username="kim", ConfirmationCode=code)
    user = idp.admin_get_user(UserPoolId=pool.user_pool_id, Username="kim")
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email_verified", "Value": "true"} in user["UserAttributes"]
    assert (
        fails(idp.confirm_sign_up, ClientId=pool.client_id, Username="kim", ConfirmationCode=code)[
            0
        ]
        == "NotAuthorizedException"
    )


def test_an_unconfirmed_users_right_password_is_user_not_confirmed(
    idp: Any, pool: LocalPool
) -> None:
    sign_up(idp, pool, "lee", email="lee@example.com")
    params = {
        "UserPoolId": pool.user_pool_id,
        "ClientId": pool.client_id,
        "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
    }
    right = fails(
        idp.admin_initiate_auth,
        **params,
        AuthParameters={"USERNAME": "lee", "PASSWORD": "Good-passw0rd!"},
    )
    assert right == ("UserNotConfirmedException", "User is not confirmed.")
    wrong_password = fails(
        idp.admin_initiate_auth, **params, AuthParameters={"USERNAME": "lee", "PASSWORD": "nope"}
    )
    assert wrong_password[0] == "NotAuthorizedException"


def test_resend_replaces_the_code_and_refuses_a_confirmed_user(idp: Any, pool: LocalPool) -> None:
    sign_up(idp, pool, "max", email="max@example.com")
    first = code_for(pool, "max", SIGNUP)
    details = idp.resend_confirmation_code(ClientId=pool.client_id, Username="max")
    assert details["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    second = code_for(pool, "max", SIGNUP)
    assert second != first
    assert fails(
        idp.confirm_sign_up, ClientId=pool.client_id, Username="max", ConfirmationCode=first
    ) == ("ExpiredCodeException", "Invalid code provided, please request a code again.")
    idp.confirm_sign_up(ClientId=pool.client_id, Username="max", ConfirmationCode=second)
    assert fails(idp.resend_confirmation_code, ClientId=pool.client_id, Username="max") == (
        "InvalidParameterException",
        "User is already confirmed.",
    )


def test_a_pool_that_verifies_nothing_sends_no_sign_up_code(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint, auto_verified_attributes=[])
    answer = sign_up(emulator_client(pool.endpoint), pool, "ned", email="ned@example.com")
    assert "CodeDeliveryDetails" not in answer
    with pytest.raises(LookupError):
        code_for(pool, "ned", SIGNUP)


def test_forgot_password_needs_a_verified_contact_and_sends_no_header(
    idp: Any, pool: LocalPool
) -> None:
    assert fails(idp.forgot_password, ClientId=pool.client_id, Username="demo")[0] == (
        "InvalidParameterException"
    )
    create_user(
        idp,
        pool.user_pool_id,
        "olive",
        "Olive-passw0rd!",
        {
            "phone_number": "+15550001234",
            "phone_number_verified": "true",
            "email": "olive@example.com",
            "email_verified": "true",
        },
    )
    answer = idp.forgot_password(ClientId=pool.client_id, Username="olive")
    assert answer["CodeDeliveryDetails"] == {
        "Destination": "+*******1234",
        "DeliveryMedium": "SMS",
        "AttributeName": "phone_number",
    }
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    assert not [h for h in headers if "moto" in h]
    code = code_for(pool, "olive", RESET)
    assert (
        fails(
            idp.confirm_forgot_password,
            ClientId=pool.client_id,
            Username="olive",
            ConfirmationCode="moto-confirmation-code:123456",
            Password="Newer-passw0rd!",
        )[0]
        == "CodeMismatchException"
    )
    idp.confirm_forgot_password(
        ClientId=pool.client_id, Username="olive", ConfirmationCode=code, Password="Newer-passw0rd!"
    )


def test_recovery_settings_choose_the_email_first(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint)
    idp = emulator_client(pool.endpoint)
    idp.update_user_pool(
        UserPoolId=pool.user_pool_id,
        AccountRecoverySetting={
            "RecoveryMechanisms": [
                {"Name": "verified_email", "Priority": 1},
                {"Name": "verified_phone_number", "Priority": 2},
            ]
        },
    )
    create_user(
        idp,
        pool.user_pool_id,
        "pia",
        "Pia-passw0rd!",
        {
            "phone_number": "+15550001234",
            "phone_number_verified": "true",
            "email": "pia@example.com",
            "email_verified": "true",
        },
    )
    answer = idp.forgot_password(ClientId=pool.client_id, Username="pia")
    assert answer["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"


def test_unknown_users_as_prevent_user_existence_errors_says(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint)  # the client has PreventUserExistenceErrors ENABLED
    idp = emulator_client(pool.endpoint)
    assert idp.forgot_password(ClientId=pool.client_id, Username="ghost")["CodeDeliveryDetails"]
    assert idp.resend_confirmation_code(ClientId=pool.client_id, Username="ghost")[
        "CodeDeliveryDetails"
    ]
    for call, extra in (
        (idp.confirm_sign_up, {}),
        (idp.confirm_forgot_password, {"Password": "Ghost-passw0rd!"}),
    ):
        code = fails(
            call, ClientId=pool.client_id, Username="ghost", ConfirmationCode="123456", **extra
        )
        assert code[0] == "CodeMismatchException"
    idp.update_user_pool_client(
        UserPoolId=pool.user_pool_id, ClientId=pool.client_id, PreventUserExistenceErrors="LEGACY"
    )
    assert fails(idp.forgot_password, ClientId=pool.client_id, Username="ghost")[0] == (
        "UserNotFoundException"
    )
    assert fails(idp.resend_confirmation_code, ClientId=pool.client_id, Username="ghost")[0] == (
        "UserNotFoundException"
    )


def test_change_password_speaks_cognitos_words(idp: Any, pool: LocalPool) -> None:
    token = idp.admin_initiate_auth(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "demo", "PASSWORD": "Demo-passw0rd!"},
    )["AuthenticationResult"]["AccessToken"]
    assert fails(
        idp.change_password,
        AccessToken=token,
        PreviousPassword="nope",
        ProposedPassword="Next-passw0rd!",
    ) == ("NotAuthorizedException", "Incorrect username or password.")
    idp.global_sign_out(AccessToken=token)
    code, message = fails(
        idp.change_password,
        AccessToken=token,
        PreviousPassword="Demo-passw0rd!",
        ProposedPassword="Next-passw0rd!",
    )
    assert (code, message) == ("NotAuthorizedException", "Access Token has been revoked")
    assert token not in message


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt!", "Password not long enough"),
        ("NOLOWER-1", "Password must have lowercase characters"),
        ("noupper-1", "Password must have uppercase characters"),
        ("No-digits-here", "Password must have numeric characters"),
        ("NoSymbols123", "Password must have symbol characters"),
        ("Fine-passw0rd", None),
    ],
)
def test_password_policy_words(password: str, problem: str | None) -> None:
    policy = {"MinimumLength": 8}
    assert password_problem(policy, password) == problem


def test_masks_and_the_code_book() -> None:
    assert mask_email("someone@example.org") == "s***@e***"
    assert mask_phone("+15550009876") == "+*******9876"
    now = [1000.0]
    book = Codes(clock=lambda: now[0])
    details = {"Destination": "d", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    code = book.issue("pool", "u", RESET, details).code
    now[0] += 3601
    with pytest.raises(CodeError) as expired:
        book.use("pool", "u", RESET, code)
    assert expired.value.kind == "expired"
    with pytest.raises(CodeError) as again:
        book.use("pool", "u", RESET, code)
    assert again.value.kind == "expired"
    fresh = book.issue("pool", "u", RESET, details).code
    book.use("pool", "u", RESET, fresh)
    assert [d.code for d in book.delivered("pool", "u")] == [fresh, code]
