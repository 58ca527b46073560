"""Request bodies. camelCase on the wire; types are strict, so a number is not a username."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr


class Body(BaseModel):
    """Base of every request body."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class LoginBody(Body):
    """``POST /auth/login``."""

    username: StrictStr
    password: StrictStr = Field(repr=False)


class ChallengeBody(Body):
    """``POST /auth/challenge``."""

    username: StrictStr
    challenge_name: StrictStr = Field(alias="challengeName")
    session: StrictStr = Field(min_length=20, max_length=2048, repr=False)
    responses: dict[StrictStr, StrictStr] = Field(repr=False)


class RefreshBody(Body):
    """``POST /auth/refresh``."""

    refresh_token: StrictStr = Field(alias="refreshToken", repr=False)
    username: StrictStr | None = None


class LogoutBody(Body):
    """``POST /auth/logout``."""

    refresh_token: StrictStr = Field(alias="refreshToken", repr=False)
    everywhere: StrictBool = False
