"""A Lambda cold start of the gateway: a new process imports ``cognito_gate.aws`` and answers its
first request, with and without the emulator installed.

    .venv/bin/python benchmarks/coldstart.py [--runs N]

Each run is a new Python process, as a new Lambda container is, timed in four steps:

- **interpreter**: from spawning the process to its first line (Python's own start);
- **import**: ``import cognito_gate.aws`` (what Lambda's init phase does with the handler);
- **first request**: ``handler(event)`` for an HTTP API ``POST /auth/login``, with everything done
  once per container: settings read, FastAPI app built, the pool read (DescribeUserPool,
  DescribeUserPoolClient, ListUserPoolClients), the store reached, then the login itself
  (AdminInitiateAuth, the store's reservations and records, the audit events written);
- **second request**: the same login again, warm, for comparison.

Cognito is the emulator and the store a DynamoDB table on it (both moto, in this benchmark's own
process, on loopback), created beforehand, with ``create=false`` as the SAM template deploys it.
Network latency to AWS is not in these numbers; the round trips are.

Cases, interleaved run by run so both meet the same machine load:

- **emulator installed**: this virtualenv, moto importable (the Lambda path never imports it);
- **emulator not installed**: simulated, not a fresh virtualenv: the child starts with
  ``sys.modules["moto"] = None``, so ``import moto`` fails there as in an installation without
  the ``embedded`` extra (site-packages still lists moto; Python does not read it unless asked).

Each child also reports whether any ``moto`` module got imported, and a last row times what
importing the emulator would add (``moto.server`` and ``moto.cognitoidp``, in a new process).
Prints a table of medians and writes JSON to ``benchmarks/results/coldstart.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _machine import describe, machine  # noqa: E402

from cognito_gate.cognito.local import (  # noqa: E402
    EMULATOR_CREDENTIALS,
    Emulator,
    LocalPool,
    provision_pool,
)
from cognito_gate.stores import open_store  # noqa: E402

PASSWORD = "Demo-passw0rd!"
CHILD = r"""
import time
started = time.perf_counter()
import json, sys
if {block}:
    sys.modules["moto"] = None  # as if the embedded extra were not installed
t0 = time.perf_counter()
import cognito_gate.aws
t1 = time.perf_counter()
event = json.loads({event!r})
first = cognito_gate.aws.handler(event, None)
t2 = time.perf_counter()
second = cognito_gate.aws.handler(event, None)
t3 = time.perf_counter()
loaded = sorted(m for m, v in sys.modules.items() if m.split(".")[0] == "moto" and v is not None)
print(json.dumps({{
    "wall_start": time.time() - (time.perf_counter() - started),
    "import": t1 - t0, "first": t2 - t1, "second": t3 - t2,
    "status": [first["statusCode"], second["statusCode"]], "moto_modules": loaded,
}}))
"""
MOTO_IMPORT = r"""
import time, json
t0 = time.perf_counter()
import moto.server, moto.cognitoidp.responses
print(json.dumps({"import": time.perf_counter() - t0}))
"""


def login_event() -> dict[str, Any]:
    body = json.dumps({"username": "demo", "password": PASSWORD})
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/auth/login",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "content-length": str(len(body)),
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "x-forwarded-for": "203.0.113.9",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": "POST",
                "path": "/auth/login",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "coldstart",
            },
            "requestId": "coldstart",
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def child_env(pool: LocalPool, store: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COGNITO_GATE_", "AWS_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT / "src"),
            "COGNITO_GATE_USER_POOL_ID": pool.user_pool_id,
            "COGNITO_GATE_CLIENT_ID": pool.client_id,
            "COGNITO_GATE_COGNITO_ENDPOINT": pool.endpoint,
            "COGNITO_GATE_REGION": pool.region,
            "COGNITO_GATE_STORE": store,
            "AWS_ACCESS_KEY_ID": EMULATOR_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": EMULATOR_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": pool.region,
        }
    )
    return env


def run_child(code: str, env: dict[str, str]) -> dict[str, Any]:
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"a cold start failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if "wall_start" in result:
        result["interpreter"] = result.pop("wall_start") - spawned
    result["process"] = ended - spawned
    return result


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="cold starts per case")
    args = parser.parse_args()

    emulator = Emulator()
    endpoint = emulator.start()
    pool = provision_pool(endpoint, demo_password=PASSWORD)
    table = f"cg-coldstart-{uuid.uuid4().hex[:8]}"
    for name, value in EMULATOR_CREDENTIALS.items():
        os.environ[name.upper()] = value
    asyncio.run(open_store(f"dynamodb://{table}?endpoint={endpoint}&region=us-east-1").init())
    store = f"dynamodb://{table}?endpoint={endpoint}&region=us-east-1&create=false"
    env = child_env(pool, store)
    event = json.dumps(login_event())
    cases = {
        "emulator installed": CHILD.format(block=False, event=event),
        "emulator not installed": CHILD.format(block=True, event=event),
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
    moto_imports: list[dict[str, Any]] = []
    try:
        run_child(cases["emulator installed"], env)  # warm the OS's file cache once
        for _ in range(args.runs):
            for name, code in cases.items():
                runs[name].append(run_child(code, env))
            moto_imports.append(run_child(MOTO_IMPORT, env))
    finally:
        emulator.stop()

    info = machine("boto3", "fastapi", "pydantic", "moto")
    print(f"Cold start of cognito_gate.aws.handler, median of {args.runs} new processes each")
    print(f"({describe(info)})\n")
    columns = ("interpreter", "import", "first", "second", "process")
    titles = ("interpreter", "import", "1st request", "2nd request", "whole process")
    print(f"{'case':<26}" + "".join(f"{t:>15}" for t in titles) + "   moto imported")
    summary: dict[str, Any] = {}
    for name, found in runs.items():
        assert all(r["status"] == [200, 200] for r in found), found
        medians = {c: median(found, c) for c in columns}
        loaded = sorted({m for r in found for m in r["moto_modules"]})
        summary[name] = {"median_seconds": medians, "moto_modules": loaded, "runs": found}
        cells = "".join(f"{medians[c] * 1000:>12.0f} ms" for c in columns)
        print(f"{name:<26}{cells}   {'yes: ' + ', '.join(loaded) if loaded else 'no'}")
    moto_ms = median(moto_imports, "import") * 1000
    print(f"{'(importing the emulator)':<26}{'':>15}{moto_ms:>12.0f} ms")
    summary["importing the emulator"] = {"median_seconds": {"import": moto_ms / 1000}}
    results = {"machine": info, "runs": args.runs, "cases": summary}
    out = ROOT / "benchmarks" / "results" / "coldstart.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
