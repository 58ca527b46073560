"""Settings: ``COGNITO_GATE_*`` environment variables, or a TOML file; validated once at start-up.

In a TOML file the names are the same in lower case without the prefix; tables (sections) are
allowed and only group keys, so ``[policy] max_attempts = 3`` sets ``max_attempts``. The environment
wins over the file. An invalid value raises :class:`ConfigError` with one line naming the setting.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from cognito_gate.errors import ConfigError
from cognito_gate.verify.pools import region_of

ENV_PREFIX = "COGNITO_GATE_"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: The embedded default's demo user logs in with this unless COGNITO_GATE_DEMO_PASSWORD says otherwise.
DEFAULT_DEMO_PASSWORD = "Demo-passw0rd!"


def redact_url(url: str) -> str:
    """``scheme://user:***@host/...``: a URL safe to print."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the gateway; see the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, validate_default=True
    )

    user_pool_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    region: str | None = None
    cognito_endpoint: str | None = None
    store: str = "sqlite:///.cognito-gate/gate.db"
    workers: int = Field(1, ge=1, le=64)

    max_attempts: int = Field(5, ge=1, le=1000)
    lockout_seconds: float = Field(900, gt=0)
    backoff_multiplier: float = Field(2.0, ge=1.0, le=100.0)
    max_lockout_seconds: float = Field(86400, gt=0)
    failure_window_seconds: float = Field(900, gt=0)
    permanent_after: int = Field(0, ge=0)
    lock_scope: Literal["user", "user+ip"] = "user"
    ip_max_attempts: int = Field(100, ge=1)
    ip_window_seconds: float = Field(900, gt=0)
    trusted_proxies: Annotated[list[Network], NoDecode] = Field(default_factory=list)
    ipv6_prefix: int = Field(64, ge=1, le=128)
    lock_signs_out: bool = True
    lockout_response: Literal["explicit", "opaque"] = "explicit"
    min_failure_seconds: float = Field(0, ge=0, le=10)  # failed logins take at least this long
    # A refusal read from the store is answered again without a read for at most this long; an
    # unlock made by another process is seen within it (cognito_gate.refusals). 0: always read.
    refusal_cache_seconds: float = Field(1.0, ge=0, le=60)
    # Account flows (sign-up, confirmation, reset): wrong codes lock the code routes like wrong
    # passwords lock login; sending codes and signing up are throttled per account and address.
    code_max_attempts: int = Field(5, ge=1, le=1000)
    code_send_max: int = Field(5, ge=1)
    code_send_max_per_ip: int = Field(20, ge=1)
    code_send_window_seconds: float = Field(3600, gt=0)
    signup_max: int = Field(10, ge=1)
    signup_max_per_ip: int = Field(10, ge=1)
    signup_window_seconds: float = Field(3600, gt=0)
    # The same lock inside Cognito (cognito_gate.aws triggers): the gateway marks its own checks
    # with this secret; a trigger's reservation no success settles counts as a failure after
    # settle_seconds; the embedded emulator can run the triggers in-process.
    trigger_secret: SecretStr | None = None  # at least 16 characters: see _trigger_secret
    trigger_settle_seconds: float = Field(180, gt=0, le=86400)
    embedded_triggers: bool = False

    admin_token: SecretStr | None = None  # at least 12 characters: see _admin_token
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8000, ge=0, le=65535)

    demo_password: SecretStr = SecretStr(DEFAULT_DEMO_PASSWORD)

    @field_validator("trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("user_pool_id")
    @classmethod
    def _pool_id_shape(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                region_of(value)
            except ValueError:
                raise ValueError("expected REGION_ID, e.g. eu-west-1_AbCdEf123") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not re.match(r"^https?://[^/\s]+$", origin):
                raise ValueError("each origin is scheme://host[:port], with no path")
        return value

    @field_validator("admin_token")
    @classmethod
    def _admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 12:
            raise ValueError("must be at least 12 characters, or unset to turn the admin API off")
        return value

    @field_validator("trigger_secret")
    @classmethod
    def _trigger_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (the gateway and triggers share it)")
        return value

    @model_validator(mode="after")
    def _embedded_triggers(self) -> Settings:
        if self.embedded_triggers and self.trigger_secret is None:
            raise ValueError(
                "embedded_triggers: needs COGNITO_GATE_TRIGGER_SECRET, shared by the gateway and"
                " the triggers (so that the gateway's own checks are not counted twice)"
            )
        if self.embedded_triggers and self.store.startswith("memory://"):
            raise ValueError(
                "embedded_triggers: the triggers need a store they can share with the gateway:"
                " sqlite:///PATH, redis://, postgresql:// or dynamodb://, not memory://"
            )
        return self

    @field_validator("store")
    @classmethod
    def _store_scheme(cls, value: str) -> str:
        schemes = (
            "memory://",
            "sqlite:///",
            "redis://",
            "rediss://",
            "postgresql://",
            "postgres://",
            "dynamodb://",
        )
        if not value.startswith(schemes):
            raise ValueError(
                "expected memory://, sqlite:///PATH, redis://HOST:PORT/DB,"
                " postgresql://USER@HOST:PORT/DB or dynamodb://TABLE"
            )
        return value

    @field_validator("cognito_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s]+$", value):
            raise ValueError("expected an http(s) URL")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.user_pool_id and not self.client_id:
            raise ValueError("client_id: required when user_pool_id is set")
        if self.max_lockout_seconds < self.lockout_seconds:
            raise ValueError("max_lockout_seconds: must be >= lockout_seconds")
        if self.workers > 1 and self.store.startswith("memory://"):
            raise ValueError(
                "workers: above 1 the processes must share a store: use sqlite:///PATH,"
                " redis://, postgresql:// or dynamodb:// instead of memory://"
            )
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A store URL may carry a password: never in a repr (logs, tracebacks).
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name == "store" and isinstance(value, str) else value

    @property
    def store_shown(self) -> str:
        """The store URL with any password hidden, for logs and summaries."""
        return redact_url(self.store)

    @property
    def embedded(self) -> bool:
        """True when no pool is configured: the gateway runs its own emulator."""
        return self.user_pool_id is None

    @property
    def aws_region(self) -> str:
        """The region: set explicitly, or read from the pool id."""
        if self.region:
            return self.region
        return region_of(self.user_pool_id) if self.user_pool_id else "us-east-1"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments, then the environment, then the TOML file (see load_settings).
        return (init_settings, env_settings, _TomlSource(settings_cls, _TOML_DATA.get(cls, {})))


_TOML_DATA: dict[type[BaseSettings], dict[str, Any]] = {}


class _TomlSource(InitSettingsSource):
    """The values read from ``--config FILE``: the lowest-priority source."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls, init_kwargs=data)


def _flatten(
    table: dict[str, Any], where: str, flat: dict[str, Any] | None = None
) -> dict[str, Any]:
    flat = {} if flat is None else flat
    for key, value in table.items():
        if isinstance(value, dict):
            _flatten(value, where, flat)
        elif key.lower() in flat:
            raise ConfigError(f"--config {where}: {key.lower()} is set twice")
        else:
            flat[key.lower()] = value
    return flat


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return _flatten(tomllib.load(fh), str(path))
    except OSError as exc:
        raise ConfigError(f"--config {path}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {path}: not valid TOML ({exc})") from None


def _describe(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if isinstance(part, str)]
    message = str(error.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    name, _, rest = message.partition(": ")
    if not loc and rest and name.isidentifier():
        loc, message = [name], rest
    if error.get("type") == "extra_forbidden":
        return (
            f"--config: unknown setting {loc[0] if loc else '?'!r} (settings are the"
            " COGNITO_GATE_* names in lower case, without the prefix)"
        )
    setting = ENV_PREFIX + loc[0].upper() if loc else "settings"
    value = error.get("input")
    secret = bool(loc) and loc[0] in {
        "client_secret",
        "admin_token",
        "demo_password",
        "trigger_secret",
    }
    if isinstance(value, str) and loc and loc[0] == "store":
        value = redact_url(value)
    shown = "" if secret or isinstance(value, dict) or value is None else f" (got {value!r})"
    return f"{setting}: {message}{shown}"


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the environment (and ``config_file``); raise ConfigError naming a bad setting."""
    data = _read_toml(Path(config_file)) if config_file else {}
    _TOML_DATA[Settings] = data
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(dict(exc.errors()[0]))) from None
    finally:
        _TOML_DATA.pop(Settings, None)
