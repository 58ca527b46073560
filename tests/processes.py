"""Real ``cognito-gate serve`` processes for tests: started on a free loopback port, ready when
``/healthz`` answers, always stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from cognito_gate.cognito.local import EMULATOR_CREDENTIALS, LocalPool
from tests import leaks

READY_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pool_env(pool: LocalPool, **settings: str) -> dict[str, str]:
    """Settings pointing a gateway at ``pool`` on the emulator (COGNITO_GATE_ prefix added)."""
    env = {
        "COGNITO_GATE_USER_POOL_ID": pool.user_pool_id,
        "COGNITO_GATE_CLIENT_ID": pool.client_id,
        "COGNITO_GATE_COGNITO_ENDPOINT": pool.endpoint,
        "COGNITO_GATE_REGION": pool.region,
        "AWS_ACCESS_KEY_ID": EMULATOR_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": EMULATOR_CREDENTIALS["aws_secret_access_key"],
    }
    env.update({f"COGNITO_GATE_{k.upper()}": v for k, v in settings.items()})
    return env


@dataclass
class Served:
    """A running gateway process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(
    env: Mapping[str, str], *, cwd: str | Path | None = None, args: tuple[str, ...] = ()
) -> Iterator[Served]:
    """``cognito-gate serve`` with ``env`` (on top of a clean environment), until the block ends."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COGNITO_GATE_")}
    full = {**clean, **env, "COGNITO_GATE_HOST": "127.0.0.1", "COGNITO_GATE_PORT": str(port)}
    log = Path(tempfile.mkstemp(prefix="cognito-gate-serve-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cognito_gate.cli", "serve", *args],
            env=full,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(served)
        yield served
    finally:
        stop(served)
        leaks.scan_output(log, f"serve at {served.url}")
        log.unlink(missing_ok=True)


def _wait_ready(served: Served) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"serve exited {served.process.returncode}:\n{served.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(served.url + "/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"serve did not answer /healthz in {READY_SECONDS:g}s:\n{served.output()}")


def stop(served: Served) -> None:
    """Stop the process (SIGTERM, then SIGKILL)."""
    if served.process.poll() is None:
        served.process.terminate()
        try:
            served.process.wait(15)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait(5)
