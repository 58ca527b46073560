"""Turning settings into a running gate: the embedded emulator when no pool is configured.

``serve --workers N`` runs N processes on one port. The parent process reads the settings, makes
the embedded emulator and its pool (once, and keeps it running), checks the pool and the store,
prints the summary, and hands each worker what it needs through one environment variable
(:data:`WORKER_ENV`): the ``--config`` file, the command line's settings and, on the embedded
default, the pool it made. A worker builds its gate from that with :func:`worker_runtime`; it never
starts an emulator of its own, so every worker guards the same pool.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from cognito_gate.cognito.errors import error_code
from cognito_gate.cognito.local import (
    EMULATOR_CREDENTIALS,
    REGION,
    Emulator,
    LocalPool,
    provision_pool,
)
from cognito_gate.config import DEFAULT_DEMO_PASSWORD, Settings, load_settings
from cognito_gate.errors import ConfigError
from cognito_gate.gate import Gate

#: Where ``serve --workers N`` tells its workers how to build their gate (JSON; no secrets: the
#: secrets stay in the environment or the config file, where the parent read them).
WORKER_ENV = "_COGNITO_GATE_WORKER"
#: The import string of the workers' application factory.
WORKER_APP = "cognito_gate.server.app:app_from_environment"
#: How ``serve`` and its workers log.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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

    def renewed(self) -> Runtime:
        """The same settings, pool and emulator behind a new gate, not yet started.

        A store's connections belong to the event loop that opened them: a gate checked at
        start-up in one loop (``asyncio.run``) must not serve in another (uvicorn's). ``serve``
        checks with this runtime's gate, closes it, and serves with a renewed one.
        """
        credentials = EMULATOR_CREDENTIALS if self.pool is not None else None
        gate = Gate.from_settings(self.settings, clock=self.gate.clock, credentials=credentials)
        return Runtime(gate, self.settings, self.emulator, self.pool)

    async def check(self) -> None:
        """Start the gate (read the pool, reach the store) and close it again, in one loop: the
        start-up check of ``serve``. Raises what :meth:`Gate.start` raises."""
        try:
            await self.gate.start()
        finally:
            await self.gate.close()


def build_runtime(settings: Settings, *, clock: Callable[[], float] = time.time) -> Runtime:
    """A gate for ``settings``; with no pool configured, start moto and provision one."""
    if not settings.embedded:
        return Runtime(Gate.from_settings(settings, clock=clock), settings)
    if importlib.util.find_spec("moto") is None:
        raise ConfigError(
            "COGNITO_GATE_USER_POOL_ID is not set and the embedded emulator is not installed:"
            " pip install 'cognito-gate[embedded]' (or configure a user pool)"
        )
    emulator = Emulator()
    endpoint = emulator.start()
    try:
        return _embedded(settings, emulator, endpoint, clock)
    except BaseException:
        emulator.stop()
        raise


def _embedded(
    settings: Settings, emulator: Emulator, endpoint: str, clock: Callable[[], float]
) -> Runtime:
    try:
        pool = provision_pool(
            endpoint, region=REGION, demo_password=settings.demo_password.get_secret_value()
        )
    except ClientError as exc:
        if error_code(exc) != "InvalidPasswordException":
            raise
        raise ConfigError(
            "COGNITO_GATE_DEMO_PASSWORD: the embedded pool's password policy refuses it (at"
            " least 8 characters, with upper and lower case letters, a digit and a symbol)"
        ) from None
    settings = settings.model_copy(
        update={
            "user_pool_id": pool.user_pool_id,
            "client_id": pool.client_id,
            "cognito_endpoint": endpoint,
            "region": REGION,
        }
    )
    if settings.embedded_triggers:  # the pool's Cognito triggers, run in-process
        from cognito_gate.aws.triggers import embed

        embed(settings, pool.user_pool_id, clock=clock, credentials=EMULATOR_CREDENTIALS)
    gate = Gate.from_settings(settings, clock=clock, credentials=EMULATOR_CREDENTIALS)
    return Runtime(gate, settings, emulator, pool)


def configure_logging() -> None:
    """The log format of ``serve`` (and of each of its workers)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


@dataclass(frozen=True)
class WorkerHandoff:
    """What a worker of ``serve --workers N`` needs beyond the environment it inherits."""

    config: str | None  # the --config file, read again by each worker
    overrides: dict[str, Any]  # settings given on the command line, and the embedded pool
    embedded: bool  # the pool is the parent's emulator: talk to it with the emulator's credentials

    def to_env(self) -> str:
        """The value of :data:`WORKER_ENV`."""
        return json.dumps(
            {"config": self.config, "overrides": self.overrides, "embedded": self.embedded}
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkerHandoff | None:
        """The handoff in ``environ`` (default ``os.environ``), or None outside a worker."""
        raw = (os.environ if environ is None else environ).get(WORKER_ENV)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            config = data["config"]
            overrides = dict(data["overrides"])
            embedded = bool(data["embedded"])
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{WORKER_ENV}: not what `cognito-gate serve` writes") from None
        return cls(None if config is None else str(config), overrides, embedded)


def worker_handoff(
    runtime: Runtime, config: str | Path | None, overrides: Mapping[str, Any]
) -> WorkerHandoff:
    """What the parent of ``serve --workers N`` passes on: the same settings it runs on, the pool
    it made on the embedded default included (so no worker makes one of its own)."""
    values = {k: v for k, v in overrides.items() if v is not None}
    pool = runtime.pool
    if pool is not None:
        values.update(
            user_pool_id=pool.user_pool_id,
            client_id=pool.client_id,
            cognito_endpoint=pool.endpoint,
            region=pool.region,
        )
    return WorkerHandoff(None if config is None else str(config), values, pool is not None)


def worker_runtime(handoff: WorkerHandoff, *, clock: Callable[[], float] = time.time) -> Runtime:
    """A worker's gate: the parent's settings and pool; never an emulator of its own."""
    settings = load_settings(handoff.config, **handoff.overrides)
    if handoff.embedded:
        gate = Gate.from_settings(settings, clock=clock, credentials=EMULATOR_CREDENTIALS)
        return Runtime(gate, settings)
    if settings.embedded:  # the parent always passes the pool it made
        raise ConfigError(f"{WORKER_ENV}: a worker needs the pool its parent made")
    return Runtime(Gate.from_settings(settings, clock=clock), settings)


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
            f"  sign-up and reset codes: in this log, and at {url}/dev/codes",
        ]
    else:
        lines += [f"  user pool id : {s.user_pool_id}", f"  client id    : {s.client_id}"]
    lines += [
        f"  store        : {s.store_shown}",
        *([f"  workers      : {s.workers} processes on one port"] if s.workers > 1 else []),
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
