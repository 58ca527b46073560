"""Request bodies of the account flows. camelCase on the wire; types are strict."""

from __future__ import annotations

from pydantic import Field, StrictStr

from cognito_gate.server.schemas import Body


class SignUpBody(Body):
    """``POST /auth/signup``."""

    username: StrictStr
    password: StrictStr = Field(repr=False)
    attributes: dict[StrictStr, StrictStr] = Field(default_factory=dict)


class UsernameBody(Body):
    """``POST /auth/forgot-password`` and ``POST /auth/resend-code``."""

    username: StrictStr


class ConfirmSignUpBody(Body):
    """``POST /auth/confirm-signup``."""

    username: StrictStr
    code: StrictStr = Field(repr=False)


class ConfirmForgotPasswordBody(Body):
    """``POST /auth/confirm-forgot-password``."""

    username: StrictStr
    code: StrictStr = Field(repr=False)
    new_password: StrictStr = Field(alias="newPassword", repr=False)


class ChangePasswordBody(Body):
    """``POST /auth/change-password`` (with ``Authorization: Bearer ACCESS``)."""

    previous_password: StrictStr = Field(alias="previousPassword", repr=False)
    proposed_password: StrictStr = Field(alias="proposedPassword", repr=False)
