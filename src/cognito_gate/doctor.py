"""``cognito-gate doctor``: every way around the gate, and what would break browser refresh.

The gateway is only a lock if it is the only way to check a password. Each finding names the app
client it concerns and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cognito_gate.cognito.idp import CognitoError, CognitoIdp
from cognito_gate.identity import SignInNames

#: Auth flows that check a password without the gateway.
BYPASS_FLOWS = {
    "ALLOW_USER_PASSWORD_AUTH": "anyone with the client id can try passwords directly",
    "USER_PASSWORD_AUTH": "anyone with the client id can try passwords directly",
    "ALLOW_USER_SRP_AUTH": "browsers can log in with SRP directly, never meeting the gateway",
    "ALLOW_USER_AUTH": "the choice-based USER_AUTH flow checks passwords with the client id alone",
    "ALLOW_CUSTOM_AUTH": "custom auth lambdas may check passwords outside the gateway",
    "CUSTOM_AUTH_FLOW_ONLY": "custom auth lambdas may check passwords outside the gateway",
}
#: What Cognito allows when a client lists no ExplicitAuthFlows.
DEFAULT_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


@dataclass(frozen=True)
class Finding:
    """One thing doctor found."""

    severity: str  # error | warning | info
    code: str
    message: str
    fix: str
    client_id: str | None = None

    def line(self) -> str:
        """One line for a terminal or a log."""
        where = f" [client {self.client_id}]" if self.client_id else ""
        label = "Hint" if self.severity == "info" else "Fix"
        return f"{self.severity.upper()}{where} {self.message} {label}: {self.fix}"


def device_remembering(pool: dict[str, Any]) -> bool:
    """True when the pool remembers devices (always, or on the user's opt-in)."""
    config = pool.get("DeviceConfiguration") or {}
    return bool(config)


def device_mode(pool: dict[str, Any]) -> str:
    """``off``, ``always`` or ``opt-in`` (``DeviceOnlyRememberedOnUserPrompt``)."""
    config = pool.get("DeviceConfiguration") or {}
    if not config:
        return "off"
    return "opt-in" if config.get("DeviceOnlyRememberedOnUserPrompt") else "always"


def _validity(client: dict[str, Any], kind: str, default: float) -> float:
    value = client.get(f"{kind}TokenValidity")
    if value is None:
        return default
    units = (client.get("TokenValidityUnits") or {}).get(
        {"Access": "AccessToken", "Id": "IdToken", "Refresh": "RefreshToken"}[kind],
        "days" if kind == "Refresh" else "hours",
    )
    return float(value) * UNIT_SECONDS.get(units, 1)


def refresh_validity(client: dict[str, Any]) -> float:
    """How long the client's refresh tokens live, in seconds (Cognito's default: 30 days)."""
    return _validity(client, "Refresh", 30 * 86400)


def check_pool(pool: dict[str, Any], gateway_client_id: str) -> list[Finding]:
    """Findings about the pool itself."""
    names = SignInNames.of(pool)
    findings: list[Finding] = [
        Finding(
            "info",
            "sign_in_names",
            f"Users sign in with: {names.describe()}.",
            "every name of one account shares one counter and one lock: the gateway resolves"
            " it with AdminGetUser before it counts (cognito-idp:AdminGetUser)"
            if names.several
            else "one name per account: no lookup is needed before an attempt is counted.",
        )
    ]
    if device_remembering(pool):
        opt_in = device_mode(pool) == "opt-in"
        findings.append(
            Finding(
                "info",
                "device_remembering",
                "The pool remembers devices"
                + (" the user chooses to remember" if opt_in else "")
                + ": the gateway confirms each new device for the client and hands it"
                " newDevice once; a refresh then works only with that device's key.",
                "the client must store newDevice under Amplify's keys (deviceKey, deviceGroupKey,"
                " randomPasswordKey), send deviceKey with its next login and answer"
                " DEVICE_SRP_AUTH and DEVICE_PASSWORD_VERIFIER through /auth/challenge (the"
                " Python client and the web helpers do)"
                + ("; send rememberDevice: true to remember the device" if opt_in else "")
                + ". Without remembered devices, set 'Remember user devices' to"
                " 'Don't remember'.",
            )
        )
    if (pool.get("UsernameConfiguration") or {}).get("CaseSensitive", True):
        findings.append(
            Finding(
                "info",
                "case_sensitive",
                "Usernames are case-sensitive in this pool: 'Alice' and 'alice' are different"
                " accounts with separate lockout counters.",
                "new pools should set UsernameConfiguration CaseSensitive=false (it cannot be"
                " changed on an existing pool).",
            )
        )
    return findings


def check_client(client: dict[str, Any], gateway_client_id: str) -> list[Finding]:
    """Findings about one app client."""
    cid = str(client.get("ClientId"))
    ours = cid == gateway_client_id
    flows = client.get("ExplicitAuthFlows") or DEFAULT_FLOWS
    findings = [
        Finding(
            "error",
            "bypass_flow",
            f"The client allows {flow}: {why}.",
            f"remove {flow} from the client's auth flows; keep ALLOW_ADMIN_USER_PASSWORD_AUTH"
            " and ALLOW_REFRESH_TOKEN_AUTH.",
            cid,
        )
        for flow, why in BYPASS_FLOWS.items()
        if flow in flows
    ]
    if client.get("CallbackURLs") and {"code", "implicit"} & set(
        client.get("AllowedOAuthFlows") or []
    ):
        findings.append(
            Finding(
                "warning",
                "hosted_ui",
                "The client allows the hosted UI (OAuth code flow): passwords typed there are"
                " checked by Cognito alone.",
                "turn off the hosted UI for this client, or accept Cognito's own lockout there.",
                cid,
            )
        )
    if not ours:
        return findings
    if not {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"} & set(flows):
        findings.append(
            Finding(
                "error",
                "admin_flow_missing",
                "The gateway's client does not allow ALLOW_ADMIN_USER_PASSWORD_AUTH: every login"
                " fails (Cognito refuses it with InvalidParameterException; the gateway answers"
                " 503 unavailable and logs an error).",
                "add ALLOW_ADMIN_USER_PASSWORD_AUTH to the client's auth flows.",
                cid,
            )
        )
    if "ALLOW_REFRESH_TOKEN_AUTH" not in flows:
        findings.append(
            Finding(
                "error",
                "refresh_flow_missing",
                "The gateway's client does not allow ALLOW_REFRESH_TOKEN_AUTH: sessions cannot refresh.",
                "add ALLOW_REFRESH_TOKEN_AUTH to the client's auth flows.",
                cid,
            )
        )
    if client.get("PreventUserExistenceErrors") != "ENABLED":
        findings.append(
            Finding(
                "warning",
                "user_existence_errors",
                "PreventUserExistenceErrors is off: Cognito's own answers (sign-up, password"
                " reset) tell whether a user exists.",
                "set PreventUserExistenceErrors to ENABLED on the client.",
                cid,
            )
        )
    if client.get("EnableTokenRevocation") is False:
        findings.append(
            Finding(
                "warning",
                "revocation_off",
                "Token revocation is off: logout cannot revoke refresh tokens.",
                "enable token revocation on the client.",
                cid,
            )
        )
    access = _validity(client, "Access", 3600)
    refresh = refresh_validity(client)
    if access > 3600:
        findings.append(
            Finding(
                "warning",
                "long_access_tokens",
                f"Access tokens live {access / 3600:g} hours: a locked account keeps calling"
                " APIs that long.",
                "set the access token lifetime to 60 minutes or less.",
                cid,
            )
        )
    findings.append(
        Finding(
            "info",
            "token_lifetimes",
            f"Access and id tokens live {access / 60:g} min; refresh tokens"
            f" {refresh / 86400:g} days (an admin lock ends sessions at their next refresh"
            " through the gateway).",
            "shorter refresh tokens bound how long a session refreshing directly at Cognito"
            " outlives a lock.",
            cid,
        )
    )
    return findings


async def inspect_pool(
    idp: CognitoIdp,
) -> tuple[dict[str, Any], dict[str, Any], list[Finding]]:
    """Read the pool, the gateway's client and every other app client: (pool, the gateway's
    client, every finding, errors first). Raises CognitoError when the pool or the gateway's
    own client cannot be read; the other clients unreadable is itself a finding."""
    pool = await idp.describe_pool()
    own = await idp.describe_client()
    findings = check_pool(pool, idp.client_id) + check_client(own, idp.client_id)
    try:
        others = [
            await idp.describe_client(cid)
            for cid in await idp.list_client_ids()
            if cid != idp.client_id
        ]
    except CognitoError as err:
        findings.append(
            Finding(
                "warning",
                "clients_unreadable",
                f"Cannot list the pool's other app clients ({err.error.code}): a client that"
                " checks passwords without the gateway would go unseen.",
                "give the gateway cognito-idp:ListUserPoolClients and DescribeUserPoolClient.",
            )
        )
        others = []
    for client in others:
        findings += check_client(client, idp.client_id)
    order = {"error": 0, "warning": 1, "info": 2}
    return pool, own, sorted(findings, key=lambda f: order.get(f.severity, 3))


async def diagnose(idp: CognitoIdp) -> list[Finding]:
    """Read the pool and all its app clients; return every finding, errors first."""
    try:
        _, _, findings = await inspect_pool(idp)
    except CognitoError as err:
        if err.code == "ResourceNotFoundException":
            try:
                await idp.describe_pool()
            except CognitoError:
                pass
            else:
                return [
                    Finding(
                        "error",
                        "client_missing",
                        f"The gateway's app client {idp.client_id} is not a client of this"
                        " pool: every login fails.",
                        "set COGNITO_GATE_CLIENT_ID to one of the pool's app clients.",
                        idp.client_id,
                    )
                ]
        return [
            Finding(
                "error",
                "unreadable",
                f"Cannot read the pool ({err.error.code}).",
                "give the gateway cognito-idp:DescribeUserPool, ListUserPoolClients and"
                " DescribeUserPoolClient, and check the pool id and region.",
            )
        ]
    return findings
