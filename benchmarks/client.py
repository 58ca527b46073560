"""get_session() on valid stored tokens: the Python client beside amazon-cognito-identity-js.

    .venv/bin/python benchmarks/client.py [--iterations N] [--rounds R]

Both sides get the same real tokens (from the embedded emulator) and answer ``getSession`` from
storage without refreshing. Cases:

- *same user*: one user object asked again and again (the session held in memory);
- *get_current_user()*: a new user object from the pool each call, as Amplify's
  ``Auth.currentSession()`` does, so the storage is read every time (Python's FileStorage: one
  ``stat`` per read; it parses the file again only when it changed);
- *file, re-read*: Python's FileStorage made to parse the file on every call (the cost paid once
  after another process wrote it); no JS counterpart.

The JS side runs ``benchmarks/client_js.js`` under Node with the library's own MemoryStorage and
with a Map-backed Storage (what a browser's localStorage is to it). The two sides take turns,
round after round (Python's cases in a new order each round), so that both meet the same machine
load. The table gives the median round of each case and, in brackets, the best round; the
verdict compares the medians (on a shared machine the best rounds of sub-microsecond cases are a
coin toss, while the medians of interleaved rounds meet the same load). Prints the table, writes
JSON to ``benchmarks/results/client.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cognito_gate.client import (  # noqa: E402
    CognitoUserPool,
    FileStorage,
    MemoryStorage,
    Storage,
    setup_session,
)
from cognito_gate.cognito.local import Emulator, emulator_client, provision_pool  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "client.json"
NODE_MODULES = ROOT / "web" / "node_modules"

# (Python case, the JS case it is compared with)
PAIRS = [
    ("memory, same user", "memory, same user"),
    ("memory, get_current_user()", "memory, getCurrentUser()"),
    ("file, same user", "memory, same user"),
    ("file, get_current_user()", "Map storage, getCurrentUser()"),
    ("file, re-read every call", None),
]


def machine() -> dict[str, Any]:
    """Where the figures come from (benchmarks/_machine.py when present)."""
    try:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from _machine import machine as shared  # type: ignore[import-not-found]

        info: dict[str, Any] = dict(shared("httpx"))
    except ImportError:
        info = {}
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info.setdefault("cpu", cpu)
    info.setdefault("cores", os.cpu_count())
    info.setdefault("os", f"{platform.system()} {platform.release()}")
    info.setdefault("python", platform.python_version())
    info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


def real_tokens() -> tuple[dict[str, str], Emulator]:
    emulator = Emulator()
    emulator.start()
    pool = provision_pool(emulator.endpoint)
    result = emulator_client(pool.endpoint).admin_initiate_auth(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "demo", "PASSWORD": "Demo-passw0rd!"},
    )["AuthenticationResult"]
    return {
        "username": "demo",
        "idToken": result["IdToken"],
        "accessToken": result["AccessToken"],
        "refreshToken": result["RefreshToken"],
        "userPoolId": pool.user_pool_id,
        "clientId": pool.client_id,
    }, emulator


def measure(fn: Callable[[], object], iterations: int) -> float:
    """Nanoseconds per call over ``iterations`` calls (after a warm-up)."""
    for _ in range(min(iterations, 20_000)):
        fn()
    start = time.perf_counter_ns()
    for _ in range(iterations):
        fn()
    return (time.perf_counter_ns() - start) / iterations


def python_cases(tokens: dict[str, str], directory: Path) -> dict[str, Callable[[], object]]:
    def build(storage: Storage) -> tuple[Any, CognitoUserPool]:
        user = setup_session(
            tokens["username"],
            tokens["accessToken"],
            tokens["idToken"],
            tokens["refreshToken"],
            tokens["userPoolId"],
            tokens["clientId"],
            storage=storage,
        )
        return user, CognitoUserPool(tokens["userPoolId"], tokens["clientId"], storage=storage)

    def checked(fn: Callable[[], Any]) -> Callable[[], Any]:
        # Checked once, outside the timing: the call answers a valid session from storage.
        if not fn().is_valid():
            raise RuntimeError("no valid session")
        return fn

    mem_user, mem_pool = build(MemoryStorage())
    file_storage = FileStorage(directory / "session.json")
    file_user, file_pool = build(file_storage)
    cold_storage = FileStorage(directory / "cold.json")
    _, cold_pool = build(cold_storage)

    def current(pool: CognitoUserPool) -> Callable[[], Any]:
        return lambda: pool.get_current_user().get_session()  # type: ignore[union-attr]

    def cold() -> Any:
        cold_storage.invalidate()
        cold_pool.loaded_sessions.clear()
        return cold_pool.get_current_user().get_session()  # type: ignore[union-attr]

    return {
        "memory, same user": checked(mem_user.get_session),
        "memory, get_current_user()": checked(current(mem_pool)),
        "file, same user": checked(file_user.get_session),
        "file, get_current_user()": checked(current(file_pool)),
        "file, re-read every call": checked(cold),
    }


def js_cases(tokens: dict[str, str], iterations: int, repeats: int) -> dict[str, Any]:
    node = "node"
    request = {**tokens, "iterations": iterations, "repeats": repeats}
    proc = subprocess.run(
        [node, str(ROOT / "benchmarks" / "client_js.js")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    tokens, emulator = real_tokens()
    emulator.stop()
    info = machine()
    python: dict[str, list[float]] = {}
    js_runs: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cases = python_cases(tokens, Path(tmp))
        order = list(cases)
        for _ in range(args.rounds):
            random.shuffle(order)
            for name in order:
                # Re-reading the file is slow: fewer calls give the same precision.
                n = args.iterations // 20 if name == "file, re-read every call" else args.iterations
                python.setdefault(name, []).append(measure(cases[name], n))
            js = js_cases(tokens, args.iterations, 1)
            for name, runs in js["cases"].items():
                js_runs.setdefault(name, []).extend(runs)
    info["node"] = js["node"]
    info["amazon-cognito-identity-js"] = js["library"]

    rows = []
    for py_case, js_case in PAIRS:
        py_ns = statistics.median(python[py_case])
        js_ns = statistics.median(js_runs[js_case]) if js_case else None
        rows.append(
            {
                "python_case": py_case,
                "python_us": round(py_ns / 1000, 3),
                "python_best_us": round(min(python[py_case]) / 1000, 3),
                "js_case": js_case,
                "js_us": round(js_ns / 1000, 3) if js_ns else None,
                "js_best_us": round(min(js_runs[js_case]) / 1000, 3) if js_case else None,
                "js_over_python": round(js_ns / py_ns, 2) if js_ns else None,
                "python_rounds_ns": [round(x, 1) for x in python[py_case]],
                "js_rounds_ns": [round(x, 1) for x in js_runs[js_case]] if js_case else None,
            }
        )

    print(f"machine: {info}")
    print(
        f"{args.iterations} calls x {args.rounds} rounds; "
        "microseconds per call, median round (best round)\n"
    )
    header = (
        f"{'Python case':<28} {'Python':>15}   {'amazon-cognito-identity-js':<30} "
        f"{'JS':>15}  {'JS/Python':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        py = f"{row['python_us']:.2f} ({row['python_best_us']:.2f})"
        js_text = (
            f"{row['js_us']:.2f} ({row['js_best_us']:.2f})" if row["js_us"] is not None else "-"
        )
        ratio = f"{row['js_over_python']:.2f}x" if row["js_over_python"] else "-"
        print(
            f"{row['python_case']:<28} {py:>15}   {row['js_case'] or '-':<30} "
            f"{js_text:>15}  {ratio:>9}"
        )
    paired = [r for r in rows if r["js_over_python"] is not None]
    slower = [r["python_case"] for r in paired if r["js_over_python"] < 1]
    if slower:
        print(f"\nslower than amazon-cognito-identity-js: {', '.join(slower)}")
    else:
        print(
            f"\nno slower than amazon-cognito-identity-js on all {len(paired)} paired cases "
            "(medians)"
        )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "client get_session() on valid stored tokens",
                "command": "python benchmarks/client.py",
                "iterations": args.iterations,
                "rounds": args.rounds,
                "machine": info,
                "rows": rows,
                "no_slower_than_js": not slower,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
