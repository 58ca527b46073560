"""Interop with the real amazon-cognito-identity-js under Node, both ways.

(a) A session the Python FileStorage wrote is read by the JS library (and refreshed by it).
(b) A session the JS library wrote (setSignInUserSession) is read and refreshed by Python.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from cognito_gate.client import FileStorage, current_user
from cognito_gate.cognito.local import LocalPool
from tests.client.conftest import RefreshCounter, Tokens, user_for
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "web" / "node_modules"
JS = Path(__file__).parent / "js"

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed (make test installs it)")
    if not (NODE_MODULES / "amazon-cognito-identity-js").is_dir():
        pytest.skip("web/node_modules lacks amazon-cognito-identity-js (make test installs it)")
    return path


def run_js(node: str, script: str, *args: str, stdin: str | None = None) -> dict[str, Any]:
    proc = subprocess.run(
        [node, str(JS / script), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_js_reads_a_session_python_wrote(
    node: str, pool: LocalPool, tokens: Tokens, tmp_path: Path
) -> None:
    path = tmp_path / "session.json"
    user_for(pool, tokens, FakeClock(time.time()), FileStorage(path))

    seen = run_js(node, "read_session.js", str(path), pool.user_pool_id, pool.client_id)

    assert seen["username"] == "demo"
    assert seen["session"]["valid"] is True
    assert seen["session"]["idToken"] == tokens.id_token
    assert seen["session"]["accessToken"] == tokens.access_token
    assert seen["session"]["refreshToken"] == tokens.refresh_token
    assert seen["session"]["clockDrift"] == 0


def test_js_refreshes_a_session_python_wrote_and_python_reads_the_result(
    node: str,
    pool: LocalPool,
    tokens: Tokens,
    real_clock: FakeClock,
    refresh_counter: RefreshCounter,
    tmp_path: Path,
) -> None:
    path = tmp_path / "session.json"
    user_for(pool, tokens, real_clock, FileStorage(path))

    seen = run_js(
        node, "read_session.js", str(path), pool.user_pool_id, pool.client_id, pool.endpoint
    )

    assert refresh_counter.count == 1
    refreshed = seen["refreshed"]
    assert refreshed["valid"] is True
    assert refreshed["accessToken"] != tokens.access_token
    assert refreshed["refreshToken"] == tokens.refresh_token
    # The JS library's storage after its refresh, written back as the file: Python reads it.
    path.write_text(json.dumps(seen["storage"]))
    session = current_user(FileStorage(path), clock=real_clock).get_session()
    assert session.access_token.jwt_token == refreshed["accessToken"]
    assert refresh_counter.count == 1


def test_python_reads_and_refreshes_a_session_js_wrote(
    node: str,
    pool: LocalPool,
    tokens: Tokens,
    real_clock: FakeClock,
    refresh_counter: RefreshCounter,
    tmp_path: Path,
) -> None:
    written = run_js(
        node,
        "write_session.js",
        stdin=json.dumps(
            {
                "username": tokens.username,
                "idToken": tokens.id_token,
                "accessToken": tokens.access_token,
                "refreshToken": tokens.refresh_token,
                "userPoolId": pool.user_pool_id,
                "clientId": pool.client_id,
            }
        ),
    )
    prefix = f"CognitoIdentityServiceProvider.{pool.client_id}"
    assert written[f"{prefix}.LastAuthUser"] == "demo"
    path = tmp_path / "session.json"
    path.write_text(json.dumps(written))  # the browser's localStorage, dumped as it is

    from cognito_gate.client import CognitoUserPool

    storage = FileStorage(path)
    js_pool = CognitoUserPool(
        pool.user_pool_id, pool.client_id, storage=storage, endpoint=pool.endpoint, clock=real_clock
    )
    user = js_pool.get_current_user()
    assert user is not None
    session = user.get_session()
    assert session.is_valid()
    assert session.access_token.jwt_token == tokens.access_token
    assert session.clock_drift == int(written[f"{prefix}.demo.clockDrift"])
    assert refresh_counter.count == 0

    real_clock.advance(3605)
    refreshed = user.get_session()

    assert refresh_counter.count == 1
    assert refreshed.is_valid()
    assert refreshed.access_token.jwt_token != tokens.access_token
    stored = json.loads(path.read_text())
    assert stored[f"{prefix}.demo.accessToken"] == refreshed.access_token.jwt_token
    assert stored[f"{prefix}.demo.refreshToken"] == tokens.refresh_token

    # And the JS library reads what Python stored after its refresh.
    seen = run_js(node, "read_session.js", str(path), pool.user_pool_id, pool.client_id)
    assert seen["session"]["accessToken"] == refreshed.access_token.jwt_token
    assert seen["session"]["clockDrift"] == refreshed.clock_drift
