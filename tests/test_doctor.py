"""``cognito_gate.doctor.diagnose`` against pools on the emulator: every way around the gate."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cognito_gate.cognito.idp import CognitoIdp
from cognito_gate.cognito.local import (
    EMULATOR_CREDENTIALS,
    SAFE_AUTH_FLOWS,
    Emulator,
    LocalPool,
    emulator_client,
    provision_pool,
)
from cognito_gate.doctor import Finding, diagnose
from tests.conftest import FakeClock, make_gate


def idp_for(
    pool: LocalPool, client_id: str | None = None, user_pool_id: str | None = None
) -> CognitoIdp:
    return CognitoIdp(
        user_pool_id=user_pool_id or pool.user_pool_id,
        client_id=client_id or pool.client_id,
        region=pool.region,
        endpoint=pool.endpoint,
        credentials=EMULATOR_CREDENTIALS,
    )


def doctor(pool: LocalPool, client_id: str | None = None) -> list[Finding]:
    return asyncio.run(diagnose(idp_for(pool, client_id)))


def add_client(pool: LocalPool, name: str = "other", **settings: Any) -> str:
    """Another app client on the pool; returns its id."""
    idp = emulator_client(pool.endpoint, pool.region)
    answer = idp.create_user_pool_client(UserPoolId=pool.user_pool_id, ClientName=name, **settings)
    return str(answer["UserPoolClient"]["ClientId"])


def safe_client(pool: LocalPool, **more: Any) -> str:
    """A client set up like the gateway's, with ``more`` changed."""
    settings: dict[str, Any] = {
        "ExplicitAuthFlows": SAFE_AUTH_FLOWS,
        "PreventUserExistenceErrors": "ENABLED",
        "EnableTokenRevocation": True,
    }
    settings.update(more)
    return add_client(pool, "gateway", **settings)


def serious(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity in ("error", "warning")]


def codes(findings: list[Finding], severity: str | None = None) -> list[str]:
    return [f.code for f in findings if severity is None or f.severity == severity]


# -- the safe default -----------------------------------------------------------------------------


def test_the_safe_default_pool_has_no_errors_or_warnings(pool: LocalPool) -> None:
    findings = doctor(pool)
    assert serious(findings) == []
    lifetimes = [f for f in findings if f.code == "token_lifetimes"]
    assert len(lifetimes) == 1
    assert lifetimes[0].severity == "info"
    assert lifetimes[0].client_id == pool.client_id
    assert "60 min" in lifetimes[0].message
    assert "30 days" in lifetimes[0].message


def test_a_case_sensitive_pool_is_noted(emulator: Emulator) -> None:
    pool = provision_pool(emulator.endpoint, case_sensitive=True)
    findings = doctor(pool)
    assert serious(findings) == []
    assert "case_sensitive" in codes(findings, "info")


# -- ways around the gate -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flow",
    [
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_CUSTOM_AUTH",
        "USER_PASSWORD_AUTH",
        "CUSTOM_AUTH_FLOW_ONLY",
    ],
)
def test_a_second_client_allowing_a_bypass_flow_is_an_error(pool: LocalPool, flow: str) -> None:
    other = add_client(pool, ExplicitAuthFlows=[flow, "ALLOW_REFRESH_TOKEN_AUTH"])
    findings = doctor(pool)
    errors = [f for f in findings if f.severity == "error"]
    assert len(errors) == 1
    (found,) = errors
    assert found.code == "bypass_flow"
    assert found.client_id == other
    assert flow in found.message
    assert f"remove {flow}" in found.fix
    line = found.line()
    assert line.startswith("ERROR")
    assert f"[client {other}]" in line
    assert "Fix: remove" in line
    # nothing is said against the gateway's own, safe client
    assert all(f.client_id != pool.client_id for f in serious(findings))


def test_each_bypass_flow_of_a_client_is_reported(pool: LocalPool) -> None:
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"]
    other = add_client(pool, ExplicitAuthFlows=[*flows, "ALLOW_REFRESH_TOKEN_AUTH"])
    bypasses = [f for f in doctor(pool) if f.code == "bypass_flow"]
    assert sorted(f.message.split(":")[0] for f in bypasses) == sorted(
        f"The client allows {flow}" for flow in flows
    )
    assert {f.client_id for f in bypasses} == {other}


def test_a_client_listing_no_flows_gets_cognitos_defaults(pool: LocalPool) -> None:
    other = add_client(pool)  # no ExplicitAuthFlows: Cognito allows SRP, custom and refresh
    bypasses = [f for f in doctor(pool) if f.code == "bypass_flow"]
    assert {f.client_id for f in bypasses} == {other}
    messages = " ".join(f.message for f in bypasses)
    assert "ALLOW_USER_SRP_AUTH" in messages
    assert "ALLOW_CUSTOM_AUTH" in messages
    assert len(bypasses) == 2


def test_the_gateways_own_client_allowing_a_bypass_is_an_error(emulator: Emulator) -> None:
    pool = provision_pool(
        emulator.endpoint, auth_flows=[*SAFE_AUTH_FLOWS, "ALLOW_USER_PASSWORD_AUTH"]
    )
    errors = [f for f in doctor(pool) if f.severity == "error"]
    assert [(f.code, f.client_id) for f in errors] == [("bypass_flow", pool.client_id)]


def test_errors_come_first(pool: LocalPool) -> None:
    add_client(pool, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    severities = [f.severity for f in doctor(pool)]
    order = {"error": 0, "warning": 1, "info": 2}
    assert severities == sorted(severities, key=order.__getitem__)
    assert severities[0] == "error"


def test_every_client_is_read_even_past_one_page(pool: LocalPool) -> None:
    for n in range(60):
        add_client(pool, f"safe-{n}", ExplicitAuthFlows=SAFE_AUTH_FLOWS)
    last = add_client(pool, "last", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"])
    bypasses = [f for f in doctor(pool) if f.code == "bypass_flow"]
    assert [f.client_id for f in bypasses] == [last]


def test_a_hosted_ui_client_is_a_warning(pool: LocalPool) -> None:
    other = add_client(
        pool,
        ExplicitAuthFlows=["ALLOW_REFRESH_TOKEN_AUTH"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid"],
        CallbackURLs=["https://app.example.com/callback"],
        SupportedIdentityProviders=["COGNITO"],
    )
    found = [f for f in doctor(pool) if f.code == "hosted_ui"]
    assert [(f.severity, f.client_id) for f in found] == [("warning", other)]


# -- what breaks browser refresh, and weaker settings ---------------------------------------------


@pytest.mark.parametrize("mode", ["always", "opt-in"])
def test_device_remembering_works_and_doctor_says_what_the_client_must_do(
    emulator: Emulator, mode: str
) -> None:
    pool = provision_pool(emulator.endpoint, remember_devices=mode)  # type: ignore[arg-type]
    findings = doctor(pool)
    assert serious(findings) == []
    [found] = [f for f in findings if f.code == "device_remembering"]
    assert found.severity == "info"
    for duty in ("deviceKey", "deviceGroupKey", "randomPasswordKey", "DEVICE_SRP_AUTH"):
        assert duty in found.fix
    assert ("rememberDevice: true" in found.fix) is (mode == "opt-in")


def test_the_gateway_knows_the_pool_remembers_devices_at_start(
    emulator: Emulator, clock: FakeClock
) -> None:
    pool = provision_pool(emulator.endpoint, remember_devices="opt-in")
    gate = make_gate(pool, clock)
    asyncio.run(gate.start())
    assert gate.device_remembering is True
    assert gate.device_mode == "opt-in"
    assert "device_remembering" in codes(gate.findings, "info")
    assert "device_remembering" not in codes(gate.findings, "warning")


def test_user_existence_errors_on_the_gateways_client_is_a_warning(pool: LocalPool) -> None:
    ours = safe_client(pool, PreventUserExistenceErrors="LEGACY")
    findings = serious(doctor(pool, ours))
    assert [(f.severity, f.code, f.client_id) for f in findings] == [
        ("warning", "user_existence_errors", ours)
    ]
    assert "PreventUserExistenceErrors" in findings[0].fix


def test_user_existence_errors_on_another_client_is_not_the_gateways_concern(
    pool: LocalPool,
) -> None:
    add_client(pool, ExplicitAuthFlows=SAFE_AUTH_FLOWS, PreventUserExistenceErrors="LEGACY")
    assert serious(doctor(pool)) == []


def test_long_access_tokens_are_a_warning(pool: LocalPool) -> None:
    ours = safe_client(pool, AccessTokenValidity=2, TokenValidityUnits={"AccessToken": "hours"})
    findings = serious(doctor(pool, ours))
    assert [(f.code, f.client_id) for f in findings] == [("long_access_tokens", ours)]
    assert "2 hours" in findings[0].message


def test_short_access_tokens_are_fine(pool: LocalPool) -> None:
    ours = safe_client(pool, AccessTokenValidity=30, TokenValidityUnits={"AccessToken": "minutes"})
    findings = doctor(pool, ours)
    assert serious(findings) == []
    (lifetimes,) = [f for f in findings if f.code == "token_lifetimes" and f.client_id == ours]
    assert "30 min" in lifetimes.message


def test_revocation_off_is_a_warning(pool: LocalPool) -> None:
    ours = safe_client(pool, EnableTokenRevocation=False)
    assert [(f.code, f.client_id) for f in serious(doctor(pool, ours))] == [
        ("revocation_off", ours)
    ]


@pytest.mark.parametrize(
    ("flows", "missing"),
    [
        (["ALLOW_REFRESH_TOKEN_AUTH"], "admin_flow_missing"),
        (["ALLOW_ADMIN_USER_PASSWORD_AUTH"], "refresh_flow_missing"),
    ],
)
def test_the_gateways_client_missing_a_needed_flow_is_an_error(
    pool: LocalPool, flows: list[str], missing: str
) -> None:
    ours = safe_client(pool, ExplicitAuthFlows=flows)
    errors = [f for f in doctor(pool, ours) if f.severity == "error"]
    assert [(f.code, f.client_id) for f in errors] == [(missing, ours)]
    if missing == "admin_flow_missing":
        # What the gateway then sees at every login, named so the log line leads here.
        assert "InvalidParameterException" in errors[0].message


def test_a_gateway_client_listing_no_flows_misses_the_admin_flow(pool: LocalPool) -> None:
    # No ExplicitAuthFlows: Cognito's defaults, without ALLOW_ADMIN_USER_PASSWORD_AUTH.
    ours = add_client(pool, "gateway", PreventUserExistenceErrors="ENABLED")
    found = [f for f in doctor(pool, ours) if f.code == "admin_flow_missing"]
    assert [(f.severity, f.client_id) for f in found] == [("error", ours)]


# -- unreadable -----------------------------------------------------------------------------------


def test_an_unknown_pool_is_one_unreadable_error(pool: LocalPool) -> None:
    findings = asyncio.run(
        diagnose(idp_for(pool, user_pool_id="us-east-1_doesnotexist0000000000000000"))
    )
    assert [(f.severity, f.code) for f in findings] == [("error", "unreadable")]
    assert "DescribeUserPool" in findings[0].fix


def test_an_unreachable_endpoint_is_one_unreadable_error(pool: LocalPool) -> None:
    idp = CognitoIdp(
        user_pool_id=pool.user_pool_id,
        client_id=pool.client_id,
        region=pool.region,
        endpoint="http://127.0.0.1:9",
        credentials=EMULATOR_CREDENTIALS,
    )
    findings = asyncio.run(diagnose(idp))
    assert [(f.severity, f.code) for f in findings] == [("error", "unreadable")]


# -- known gaps -----------------------------------------------------------------------------------


def test_a_client_allowing_user_auth_is_a_bypass(pool: LocalPool) -> None:
    other = add_client(pool, ExplicitAuthFlows=["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    assert [(f.code, f.client_id) for f in doctor(pool) if f.severity == "error"] == [
        ("bypass_flow", other)
    ]


def test_a_hosted_ui_client_with_the_implicit_flow_is_a_warning(pool: LocalPool) -> None:
    other = add_client(
        pool,
        ExplicitAuthFlows=["ALLOW_REFRESH_TOKEN_AUTH"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["implicit"],
        AllowedOAuthScopes=["openid"],
        CallbackURLs=["https://app.example.com/callback"],
        SupportedIdentityProviders=["COGNITO"],
    )
    found = [f for f in doctor(pool) if f.code == "hosted_ui"]
    assert [(f.severity, f.client_id) for f in found] == [("warning", other)]


def test_a_gateway_client_missing_from_the_pool_is_an_error(pool: LocalPool) -> None:
    missing = "nosuchclient0000000000000"
    findings = doctor(pool, missing)
    errors = [f for f in findings if f.severity == "error"]
    assert errors
    assert any(missing in f.message or f.client_id == missing for f in errors)
