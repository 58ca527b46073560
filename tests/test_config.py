"""Settings exactly as SPEC's table: defaults, the environment, ``--config FILE.toml``, and one clear
line for every bad value."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import pytest

from cognito_gate.config import Settings, load_settings
from cognito_gate.errors import ConfigError

P = "COGNITO_GATE_"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No COGNITO_GATE_* from the outer environment; relative paths land in tmp_path."""
    for name in list(os.environ):
        if name.upper().startswith(P):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def toml(tmp_path: Path, text: str, name: str = "gate.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(**env: str) -> str:
    """The ConfigError message for the environment ``env`` (names without the prefix)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(P + key, value)
        with pytest.raises(ConfigError) as failed:
            load_settings()
    return failed.value.message


# -- defaults -------------------------------------------------------------------------------------


def test_every_default_is_the_specs() -> None:
    s = load_settings()
    assert s.user_pool_id is None
    assert s.embedded is True
    assert s.client_id is None
    assert s.client_secret is None
    assert s.region is None
    assert s.cognito_endpoint is None
    assert s.store == "sqlite:///.cognito-gate/gate.db"
    assert s.max_attempts == 5
    assert s.lockout_seconds == 900
    assert s.backoff_multiplier == 2.0
    assert s.max_lockout_seconds == 86400
    assert s.failure_window_seconds == 900
    assert s.permanent_after == 0
    assert s.lock_scope == "user"
    assert s.ip_max_attempts == 100
    assert s.ip_window_seconds == 900
    assert s.trusted_proxies == []
    assert s.lockout_response == "explicit"
    assert s.admin_token is None
    assert s.cors_origins == []
    assert s.host == "127.0.0.1"
    assert s.port == 8000
    assert s.demo_password.get_secret_value() == "Demo-passw0rd!"


def test_settings_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        s.max_attempts = 3  # type: ignore[misc]


# -- the environment ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "attr", "expected"),
    [
        ("USER_POOL_ID", "eu-west-1_AbCdEf123", "user_pool_id", "eu-west-1_AbCdEf123"),
        ("CLIENT_ID", "1example23456789", "client_id", "1example23456789"),
        ("COGNITO_ENDPOINT", "http://127.0.0.1:4566/", "cognito_endpoint", "http://127.0.0.1:4566"),
        ("STORE", "memory://", "store", "memory://"),
        ("STORE", "sqlite:////var/lib/gate.db", "store", "sqlite:////var/lib/gate.db"),
        ("STORE", "redis://localhost:6379/0", "store", "redis://localhost:6379/0"),
        ("STORE", "postgresql://db/gate", "store", "postgresql://db/gate"),
        ("MAX_ATTEMPTS", "3", "max_attempts", 3),
        ("LOCKOUT_SECONDS", "60", "lockout_seconds", 60.0),
        ("BACKOFF_MULTIPLIER", "1.5", "backoff_multiplier", 1.5),
        ("MAX_LOCKOUT_SECONDS", "3600", "max_lockout_seconds", 3600.0),
        ("FAILURE_WINDOW_SECONDS", "300", "failure_window_seconds", 300.0),
        ("PERMANENT_AFTER", "4", "permanent_after", 4),
        ("LOCK_SCOPE", "user+ip", "lock_scope", "user+ip"),
        ("IP_MAX_ATTEMPTS", "20", "ip_max_attempts", 20),
        ("IP_WINDOW_SECONDS", "120", "ip_window_seconds", 120.0),
        ("LOCKOUT_RESPONSE", "opaque", "lockout_response", "opaque"),
        ("HOST", "0.0.0.0", "host", "0.0.0.0"),
        ("PORT", "9000", "port", 9000),
    ],
)
def test_each_variable_is_read(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, attr: str, expected: Any
) -> None:
    monkeypatch.setenv(P + name, value)
    if name == "USER_POOL_ID":
        monkeypatch.setenv(P + "CLIENT_ID", "1example23456789")
    assert getattr(load_settings(), attr) == expected


def test_secrets_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(P + "CLIENT_SECRET", "client-secret-value")
    monkeypatch.setenv(P + "ADMIN_TOKEN", "admin-token-value")
    monkeypatch.setenv(P + "DEMO_PASSWORD", "An0ther-passw0rd!")
    s = load_settings()
    assert s.client_secret is not None
    assert s.client_secret.get_secret_value() == "client-secret-value"
    assert s.admin_token is not None
    assert s.admin_token.get_secret_value() == "admin-token-value"
    assert s.demo_password.get_secret_value() == "An0ther-passw0rd!"


def test_trusted_proxies_is_a_comma_list_of_cidrs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(P + "TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1 ,fd00::/8,")
    assert load_settings().trusted_proxies == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.1/32"),
        ipaddress.ip_network("fd00::/8"),
    ]


def test_cors_origins_is_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(P + "CORS_ORIGINS", "https://app.example.com, http://localhost:3000")
    assert load_settings().cors_origins == ["https://app.example.com", "http://localhost:3000"]


@pytest.mark.parametrize(
    ("pool_id", "region"),
    [
        ("eu-west-1_AbCdEf123", "eu-west-1"),
        ("ap-southeast-2_XyZ987654", "ap-southeast-2"),
        ("us-gov-west-1_AbCdEf123", "us-gov-west-1"),
    ],
)
def test_the_region_comes_from_the_pool_id(
    monkeypatch: pytest.MonkeyPatch, pool_id: str, region: str
) -> None:
    monkeypatch.setenv(P + "USER_POOL_ID", pool_id)
    monkeypatch.setenv(P + "CLIENT_ID", "client")
    s = load_settings()
    assert s.region is None
    assert s.aws_region == region
    assert s.embedded is False


def test_an_explicit_region_wins_over_the_pool_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(P + "USER_POOL_ID", "eu-west-1_AbCdEf123")
    monkeypatch.setenv(P + "CLIENT_ID", "client")
    monkeypatch.setenv(P + "REGION", "eu-central-1")
    assert load_settings().aws_region == "eu-central-1"


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(P + "PORT", "9000")
    assert load_settings(port=9100).port == 9100


# -- the TOML file --------------------------------------------------------------------------------


def test_a_toml_file_with_lower_case_names_and_sections(tmp_path: Path) -> None:
    path = toml(
        tmp_path,
        """
user_pool_id = "eu-west-1_AbCdEf123"
client_id = "abc123"
store = "memory://"

[policy]
max_attempts = 3
lockout_seconds = 60
backoff_multiplier = 3.0
lock_scope = "user+ip"
lockout_response = "opaque"

[network]
trusted_proxies = ["10.0.0.0/8", "172.16.0.0/12"]
cors_origins = "https://a.example.com, https://b.example.com"

[server.listen]
host = "0.0.0.0"
port = 9001
""",
    )
    s = load_settings(path)
    assert s.user_pool_id == "eu-west-1_AbCdEf123"
    assert s.aws_region == "eu-west-1"
    assert s.client_id == "abc123"
    assert s.store == "memory://"
    assert (s.max_attempts, s.lockout_seconds, s.backoff_multiplier) == (3, 60, 3.0)
    assert (s.lock_scope, s.lockout_response) == ("user+ip", "opaque")
    assert s.trusted_proxies == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("172.16.0.0/12"),
    ]
    assert s.cors_origins == ["https://a.example.com", "https://b.example.com"]
    assert (s.host, s.port) == ("0.0.0.0", 9001)
    # untouched settings keep their defaults
    assert s.ip_max_attempts == 100


def test_the_environment_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = toml(tmp_path, "max_attempts = 3\n[server]\nport = 9001\nhost = '0.0.0.0'\n")
    monkeypatch.setenv(P + "MAX_ATTEMPTS", "7")
    monkeypatch.setenv(P + "PORT", "9002")
    s = load_settings(path)
    assert s.max_attempts == 7
    assert s.port == 9002
    assert s.host == "0.0.0.0"  # from the file: the environment does not set it


def test_a_file_does_not_leak_into_the_next_load(tmp_path: Path) -> None:
    assert load_settings(toml(tmp_path, "max_attempts = 3\n")).max_attempts == 3
    assert load_settings().max_attempts == 5


def test_a_bad_value_in_the_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as failed:
        load_settings(toml(tmp_path, "[policy]\nmax_attempts = 'many'\n"))
    assert failed.value.message.startswith(f"{P}MAX_ATTEMPTS: ")
    assert "\n" not in failed.value.message


def test_a_consistency_rule_spans_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(P + "LOCKOUT_SECONDS", "7200")
    with pytest.raises(ConfigError) as failed:
        load_settings(toml(tmp_path, "max_lockout_seconds = 3600\n"))
    assert failed.value.message.startswith(f"{P}MAX_LOCKOUT_SECONDS: ")


# -- bad values: one line naming the setting and what is allowed ----------------------------------


@pytest.mark.parametrize(
    ("env", "setting", "allowed"),
    [
        ({"MAX_ATTEMPTS": "many"}, "MAX_ATTEMPTS", "integer"),
        ({"MAX_ATTEMPTS": "0"}, "MAX_ATTEMPTS", "greater than or equal to 1"),
        ({"MAX_ATTEMPTS": "2.5"}, "MAX_ATTEMPTS", "integer"),
        ({"LOCKOUT_SECONDS": "0"}, "LOCKOUT_SECONDS", "greater than 0"),
        ({"LOCKOUT_SECONDS": "soon"}, "LOCKOUT_SECONDS", "number"),
        ({"BACKOFF_MULTIPLIER": "0.5"}, "BACKOFF_MULTIPLIER", "greater than or equal to 1"),
        ({"FAILURE_WINDOW_SECONDS": "-5"}, "FAILURE_WINDOW_SECONDS", "greater than 0"),
        ({"PERMANENT_AFTER": "-1"}, "PERMANENT_AFTER", "greater than or equal to 0"),
        ({"IP_MAX_ATTEMPTS": "0"}, "IP_MAX_ATTEMPTS", "greater than or equal to 1"),
        ({"IP_WINDOW_SECONDS": "x"}, "IP_WINDOW_SECONDS", "number"),
        ({"LOCK_SCOPE": "foo"}, "LOCK_SCOPE", "'user' or 'user+ip'"),
        ({"LOCKOUT_RESPONSE": "x"}, "LOCKOUT_RESPONSE", "'explicit' or 'opaque'"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,not-a-cidr"}, "TRUSTED_PROXIES", "network"),
        ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES", "network"),
        ({"USER_POOL_ID": "nope", "CLIENT_ID": "c"}, "USER_POOL_ID", "eu-west-1_AbCdEf123"),
        ({"USER_POOL_ID": "eu-west-1"}, "USER_POOL_ID", "eu-west-1_AbCdEf123"),
        ({"USER_POOL_ID": "eu-west-1_AbCdEf123"}, "CLIENT_ID", "required"),
        ({"MAX_LOCKOUT_SECONDS": "60"}, "MAX_LOCKOUT_SECONDS", ">= lockout_seconds"),
        ({"STORE": "mysql://db/gate"}, "STORE", "memory://"),
        ({"STORE": "gate.db"}, "STORE", "sqlite:///PATH"),
        ({"PORT": "70000"}, "PORT", "less than or equal to 65535"),
        ({"PORT": "http"}, "PORT", "integer"),
        ({"CORS_ORIGINS": "https://a.example.com/app"}, "CORS_ORIGINS", "no path"),
        ({"COGNITO_ENDPOINT": "ftp://cognito"}, "COGNITO_ENDPOINT", "http(s) URL"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(
    env: dict[str, str], setting: str, allowed: str
) -> None:
    message = config_error(**env)
    assert message.startswith(f"{P}{setting}: "), message
    assert allowed in message
    assert "\n" not in message


def test_the_message_shows_the_bad_value() -> None:
    assert "(got 'many')" in config_error(MAX_ATTEMPTS="many")


def test_an_unknown_key_in_the_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as failed:
        load_settings(toml(tmp_path, "[policy]\nmax_attemps = 3\n"))
    message = failed.value.message
    assert "max_attemps" in message
    assert "unknown setting" in message
    assert "\n" not in message


def test_an_unreadable_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as failed:
        load_settings(missing)
    message = failed.value.message
    assert message.startswith(f"--config {missing}: ")
    assert "cannot read" in message
    assert "\n" not in message


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as failed:
        load_settings(tmp_path)
    assert failed.value.message.startswith(f"--config {tmp_path}: ")


def test_invalid_toml_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = toml(tmp_path, "max_attempts = = 3\n[policy\n")
    with pytest.raises(ConfigError) as failed:
        load_settings(path)
    message = failed.value.message
    assert message.startswith(f"--config {path}: ")
    assert "not valid TOML" in message
    assert "\n" not in message


# -- secrets never shown --------------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["client_secret", "admin_token", "demo_password"])
def test_a_bad_secret_value_never_appears_in_the_message(tmp_path: Path, setting: str) -> None:
    # A number where a string belongs: the value itself must not be echoed.
    with pytest.raises(ConfigError) as failed:
        load_settings(toml(tmp_path, f"{setting} = 8675309123\n"))
    message = failed.value.message
    assert message.startswith(f"{P}{setting.upper()}: ")
    assert "8675309123" not in message


@pytest.mark.parametrize("setting", ["client_secret", "admin_token", "demo_password"])
def test_a_secret_never_appears_in_another_settings_error(
    monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv(P + setting.upper(), "Sup3r-secret-value")
    # a whole-model rule fails: its input is every value, secrets included
    message = config_error(USER_POOL_ID="eu-west-1_AbCdEf123")
    assert message.startswith(f"{P}CLIENT_ID: ")
    assert "Sup3r-secret-value" not in message


def test_a_misspelt_secret_key_does_not_echo_its_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as failed:
        load_settings(toml(tmp_path, 'admin_tokn = "Sup3r-secret-value"\n'))
    assert "Sup3r-secret-value" not in failed.value.message
    assert "admin_tokn" in failed.value.message


def test_repr_never_shows_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(P + "CLIENT_SECRET", "client-secret-value")
    monkeypatch.setenv(P + "ADMIN_TOKEN", "admin-token-value")
    monkeypatch.setenv(P + "DEMO_PASSWORD", "Demo-secret-value1!")
    s = load_settings()
    for shown in (repr(s), str(s), s.model_dump_json()):
        assert "client-secret-value" not in shown
        assert "admin-token-value" not in shown
        assert "Demo-secret-value1!" not in shown
    assert "Demo-passw0rd!" not in repr(Settings())


# -- known bugs -----------------------------------------------------------------------------------


def test_a_key_set_in_two_sections_is_refused(tmp_path: Path) -> None:
    path = toml(tmp_path, "[policy]\nmax_attempts = 3\n[legacy]\nmax_attempts = 10\n")
    with pytest.raises(ConfigError) as failed:
        load_settings(path)
    assert "max_attempts" in failed.value.message


def test_a_store_password_never_shows_in_repr() -> None:
    settings = load_settings(store="sqlite:///gate.db")
    shown = settings.model_copy(update={"store": "postgresql://gate:hunter2@db/gate"})
    assert "hunter2" not in repr(shown)
    assert "postgresql://gate:***@db/gate" in repr(shown)
    assert shown.store_shown == "postgresql://gate:***@db/gate"
