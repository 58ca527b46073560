"""The server ``benchmarks/login.py`` measures: the gateway and, on the same app and worker, a bare
FastAPI endpoint that parses the same body. Benchmark only; not part of the package.

    python benchmarks/_login_server.py --port P --standin   (settings from COGNITO_GATE_*)

``--standin`` replaces Cognito with an instant in-process answer (the right password gets tokens,
any other a NotAuthorizedException), so that only the gateway's own cost is measured.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# After PYTHONPATH, never before it: login.py's --src (an older checkout, the "before" of a
# change) is served only if this checkout's own tree does not shadow it.
sys.path.append(str(ROOT / "src"))

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from cognito_gate.cognito.local import EMULATOR_CREDENTIALS  # noqa: E402
from cognito_gate.config import load_settings  # noqa: E402
from cognito_gate.gate import Gate  # noqa: E402
from cognito_gate.server.app import create_app  # noqa: E402

PASSWORD = "Demo-passw0rd!"


class Body(BaseModel):
    """The login body, parsed as the gateway's own route parses it."""

    username: str
    password: str


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'kid': 'standin'})}.{part(claims)}.c2ln"


def standin(gate: Gate) -> None:
    """Cognito answers at once, in-process."""
    from cognito_gate.cognito.errors import translate
    from cognito_gate.cognito.idp import CognitoError, Tokens

    class Refused(Exception):
        response = {"Error": {"Code": "NotAuthorizedException", "Message": "Incorrect."}}

    async def password_auth(username: str, password: str, *args: Any, **kw: Any) -> Tokens:
        if password != PASSWORD:
            error, outcome = translate(Refused(), "password")
            raise CognitoError(error, outcome)
        claims = {"cognito:username": username, "token_use": "id"}
        refresh = f"standin-rt-{uuid.uuid4().hex}"  # each login its own, as Cognito's are
        return Tokens(_jwt(claims), _jwt({**claims, "token_use": "access"}), refresh, 3600)

    gate.idp.password_auth = password_auth  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--standin", action="store_true")
    args = parser.parse_args()
    gate = Gate.from_settings(load_settings(), credentials=EMULATOR_CREDENTIALS)
    if args.standin:
        standin(gate)
    app: FastAPI = create_app(gate=gate)

    @app.post("/bare")
    async def bare(body: Body) -> dict[str, str]:
        return {"username": body.username}

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
