"""Request bodies. camelCase on the wire; types are strict, so a number is not a username."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr


class Body(BaseModel):
    """Base of every request body."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


#: Cognito's ``DeviceKeyType``: ``<region>_<uuid>``, at most 55 characters.
DEVICE_KEY = r"^[\w-]+_[0-9a-f-]+$"


class LoginBody(Body):
    """``POST /auth/login`` (``deviceKey``: the client's remembered device, never its password;
    ``rememberDevice``: remember a new device on a pool that asks the user)."""

    username: StrictStr
    password: StrictStr = Field(repr=False)
    device_key: StrictStr | None = Field(None, alias="deviceKey", max_length=55, pattern=DEVICE_KEY)
    remember_device: StrictBool | None = Field(None, alias="rememberDevice")


class ChallengeBody(Body):
    """``POST /auth/challenge``."""

    username: StrictStr
    challenge_name: StrictStr = Field(alias="challengeName")
    session: StrictStr = Field(min_length=20, max_length=2048, repr=False)
    responses: dict[StrictStr, StrictStr] = Field(repr=False)
    remember_device: StrictBool | None = Field(None, alias="rememberDevice")


class RefreshBody(Body):
    """``POST /auth/refresh``."""

    refresh_token: StrictStr = Field(alias="refreshToken", repr=False)
    username: StrictStr | None = None
    device_key: StrictStr | None = Field(None, alias="deviceKey", max_length=55, pattern=DEVICE_KEY)


class LogoutBody(Body):
    """``POST /auth/logout``."""

    refresh_token: StrictStr = Field(alias="refreshToken", repr=False)
    everywhere: StrictBool = False
