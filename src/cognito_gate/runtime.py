"""Turning settings into a running gate: the embedded emulator when no pool is configured."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from cognito_gate.cognito.local import (
    EMULATOR_CREDENTIALS,
    REGION,
    Emulator,
    LocalPool,
    provision_pool,
)
from cognito_gate.config import DEFAULT_DEMO_PASSWORD, Settings
from cognito_gate.gate import Gate


@dataclass
class Runtime:
    """A gate and, on the embedded default, the emulator and pool behind it."""

    gate: Gate
    settings: Settings
    emulator: Emulator | None = None
    pool: LocalPool | None = None

    async def close(self) -> None:
        """Close the store and stop the emulator."""
        await self.gate.close()
        if self.emulator is not None:
            self.emulator.stop()


def build_runtime(settings: Settings, *, clock: Callable[[], float] = time.time) -> Runtime:
    """A gate for ``settings``; with no pool configured, start moto and provision one."""
    if not settings.embedded:
        return Runtime(Gate.from_settings(settings, clock=clock), settings)
    emulator = Emulator()
    endpoint = emulator.start()
    pool = provision_pool(
        endpoint, region=REGION, demo_password=settings.demo_password.get_secret_value()
    )
    settings = settings.model_copy(
        update={
            "user_pool_id": pool.user_pool_id,
            "client_id": pool.client_id,
            "cognito_endpoint": endpoint,
            "region": REGION,
        }
    )
    gate = Gate.from_settings(settings, clock=clock, credentials=EMULATOR_CREDENTIALS)
    return Runtime(gate, settings, emulator, pool)


def summary(runtime: Runtime) -> list[str]:
    """What ``serve`` prints at start-up: where everything is and how to try it."""
    s = runtime.settings
    url = f"http://{s.host}:{s.port}"
    lines = [f"cognito-gate starting on {url}"]
    default = s.demo_password.get_secret_value() == DEFAULT_DEMO_PASSWORD
    shown = DEFAULT_DEMO_PASSWORD if default else "(the password in COGNITO_GATE_DEMO_PASSWORD)"
    example = DEFAULT_DEMO_PASSWORD if default else "YOUR-DEMO-PASSWORD"
    if runtime.pool is not None:
        p = runtime.pool
        lines += [
            "embedded default: moto's Cognito emulator (state lives in this process)",
            f"  emulator URL : {p.endpoint}",
            f"  user pool id : {p.user_pool_id}",
            f"  client id    : {p.client_id}",
            f"  demo user    : {p.demo_username} / {shown}",
        ]
    else:
        lines += [f"  user pool id : {s.user_pool_id}", f"  client id    : {s.client_id}"]
    lines += [
        f"  store        : {s.store_shown}",
        f"  policy       : {s.max_attempts} failures lock for {s.lockout_seconds:g}s"
        f" (x{s.backoff_multiplier:g}, cap {s.max_lockout_seconds:g}s), scope {s.lock_scope}",
        f"  demo page    : {url}/",
        "try it:",
        f"  curl -s {url}/auth/login -H 'content-type: application/json' \\",
        "       -d '" + json.dumps({"username": "demo", "password": example}) + "'",
    ]
    if s.admin_token is None:
        lines.append("  admin API off (set COGNITO_GATE_ADMIN_TOKEN to enable /admin/*)")
    return lines
