"""The gateway's login path under load, beside its baselines, in one run.

    .venv/bin/python benchmarks/login.py [--duration S] [--rounds R] [--stores memory,sqlite,...]
                                         [--src PATH] [--label NAME] [--no-workers]

(a) Refusals: a locked account, and a throttled address, at 32 connections, per store, beside a
    bare FastAPI endpoint on the same server and worker parsing the same body.
(b) Successful logins with Cognito replaced by an instant in-process stand-in, same comparison.
    Every (a) and (b) row also gives the server's CPU time per answer (``cpu ms``, from /proc):
    a single worker is CPU-bound, so this is what a case costs.
(c) Successful logins against the emulator, one at a time, beside direct ``AdminInitiateAuth``
    calls to the same emulator: the latency the gateway adds (the gateway and its bare endpoint
    called over one kept-alive ``http.client`` connection, the lightest client).
(d) ``serve --workers 2`` beside one worker, refusing a locked account (SQLite, Redis).

Load comes from ``wrk`` (Debian's package; ``make bench`` installs it), one thread, in its own
process; the server runs one uvicorn worker with its access log off. Cases run in a new order each
round (interleaved), so every case meets the same machine load; the table gives the median round.
``--src`` runs the servers from another source tree (an older checkout: the "before" of a change).
Prints a table and writes JSON to ``benchmarks/results/login[-LABEL].json``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _machine import describe, machine  # noqa: E402

from cognito_gate.cognito.local import (  # noqa: E402
    EMULATOR_CREDENTIALS,
    LocalPool,
    create_user,
    emulator_client,
    provision_pool,
)

PASSWORD = "Demo-passw0rd!"
LOCKED_IP = "198.51.100.1"
THROTTLED_IP = "203.0.113.1"
STORE_URLS = {
    "memory": "memory://",
    "sqlite": "sqlite:///{tmp}/gate.db",
    "redis": "redis://127.0.0.1:6379/0?prefix=cg-bench-{tag}",
    "postgresql": "postgresql://postgres@127.0.0.1:5432/test?schema=cg_bench_{tag}",
    "dynamodb": "dynamodb://cg-bench-{tag}?endpoint={endpoint}&region=us-east-1",
}
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
{headers}
{request}
done = function(summary, latency, requests)
  io.write(string.format('RESULT {{"requests":%d,"us":%d,"p50":%d,"p99":%d,"status":%d,"io":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited at start ({url}); see its output above")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"{url} did not start")


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, env=env)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def emulator(stack: contextlib.ExitStack) -> str:
    """moto's server in a process of its own, stopped with ``stack``; its endpoint once it
    answers."""
    port = free_port()
    code = (
        "import signal; from cognito_gate.cognito.local import Emulator;"
        f"e = Emulator(port={port}); e.start(); signal.pause()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    stack.enter_context(process([sys.executable, "-c", code], env))
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(endpoint + "/moto-api/", timeout=1)
            break
        time.sleep(0.1)
    return endpoint


def gateway_env(pool: LocalPool, store: str, src: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNITO_GATE_")}
    env.update(
        {
            "PYTHONPATH": str(src),
            "COGNITO_GATE_USER_POOL_ID": pool.user_pool_id,
            "COGNITO_GATE_CLIENT_ID": pool.client_id,
            "COGNITO_GATE_COGNITO_ENDPOINT": pool.endpoint,
            "COGNITO_GATE_REGION": pool.region,
            "COGNITO_GATE_STORE": store,
            "COGNITO_GATE_TRUSTED_PROXIES": "127.0.0.1/32",
            "COGNITO_GATE_IP_MAX_ATTEMPTS": "5",
            "COGNITO_GATE_ADMIN_TOKEN": "bench-admin-token-0123456789",
            "AWS_ACCESS_KEY_ID": EMULATOR_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": EMULATOR_CREDENTIALS["aws_secret_access_key"],
        }
    )
    env.update({f"COGNITO_GATE_{k.upper()}": v for k, v in more.items()})
    return env


def post(url: str, name: str, password: str, ip: str) -> int:
    body = {"username": name, "password": password}
    headers = {"x-forwarded-for": ip}
    return httpx.post(url + "/auth/login", json=body, headers=headers, timeout=30).status_code


def lock_and_throttle(url: str) -> None:
    """demo locked (failures from five other addresses, so that LOCKED_IP itself is not throttled
    and the case measures the account's lock); THROTTLED_IP throttled (failures on unknown names).
    """
    for i in range(5):
        assert post(url, "demo", "wrong", f"198.51.100.{10 + i}") == 401
    answer = httpx.post(
        url + "/auth/login",
        json={"username": "demo", "password": PASSWORD},
        headers={"x-forwarded-for": LOCKED_IP},
        timeout=30,
    )
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"] == "account_locked", answer.text
    for i in range(5):
        assert post(url, f"ghost{i}", "wrong", THROTTLED_IP) == 401
    assert post(url, "ghost", "wrong", THROTTLED_IP) == 429


#: Logins of many users from many addresses (``user0``..``user4095``, ``10.1.0.0/20``), as a real
#: crowd logs in: one account or one address alone would be held at MAX_ATTEMPTS checks in flight.
CROWD = """
n = 0
request = function()
  n = (n + 1) % 4096
  wrk.headers["X-Forwarded-For"] = "10.1." .. math.floor(n / 256) .. "." .. (n % 256)
  return wrk.format(nil, nil, nil, '{{"username":"user' .. n .. '","password":"{password}"}}')
end
"""


def wrk(
    url: str,
    path: str,
    body: dict[str, str],
    ip: str,
    seconds: float,
    conns: int,
    crowd: bool = False,
) -> dict[str, Any]:
    headers = f'wrk.headers["X-Forwarded-For"] = "{ip}"'
    request = CROWD.format(password=body["password"]) if crowd else ""
    script = WRK_SCRIPT.format(body=json.dumps(body), headers=headers, request=request)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{conns}", f"-d{seconds:g}s", "--latency", "-s", f.name, url + path],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(f.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    data = json.loads(line[len("RESULT ") :])
    return {
        "rps": data["requests"] / (data["us"] / 1e6),
        "p50_ms": data["p50"] / 1000,
        "p99_ms": data["p99"] / 1000,
        "non2xx": data["status"],
        "requests": data["requests"],
        "io_errors": data["io"],
    }


def latency(calls: int, call: Any) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    raise SystemExit("wrk is not installed: `make bench` installs it (apt-get install wrk)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--stores", default="memory,sqlite,redis,postgresql,dynamodb")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="source tree to serve")
    parser.add_argument("--label", default="", help="suffix of the JSON file")
    parser.add_argument("--no-workers", action="store_true", help="skip (d)")
    parser.add_argument("--calls", type=int, default=300, help="(c): logins per side")
    args = parser.parse_args()
    ensure_wrk()
    stores = args.stores.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="cg-bench-"))
    info = machine("fastapi", "uvicorn", "starlette", "pydantic", "redis", "psycopg", "boto3")
    results: dict[str, Any] = {"machine": info, "args": vars(args) | {"src": str(args.src)}}
    with contextlib.ExitStack() as stack:
        endpoint = emulator(stack)
        pool = provision_pool(endpoint)
        # (c) logs in as another user: demo is locked for (a)
        create_user(emulator_client(endpoint), pool.user_pool_id, "bench", PASSWORD)
        servers: dict[tuple[str, str], str] = {}
        pids: dict[str, int] = {}  # each server's process, whose CPU time (b) reports
        for store in stores:
            tag = f"{store[:2]}{random.getrandbits(32):x}"
            url_of = STORE_URLS[store].format(tmp=tmp / tag, endpoint=endpoint, tag=tag)
            (tmp / tag).mkdir()
            for mode in ("gateway", "standin"):
                server_port = free_port()
                store_url = url_of if mode == "gateway" else url_of.replace(tag, tag + "s")
                if store == "sqlite" and mode == "standin":
                    store_url = f"sqlite:///{tmp / tag}/standin.db"
                env = gateway_env(pool, store_url, args.src)
                cmd = [sys.executable, str(ROOT / "benchmarks/_login_server.py")]
                cmd += ["--port", str(server_port)] + (["--standin"] if mode == "standin" else [])
                proc = stack.enter_context(process(cmd, env))
                url = f"http://127.0.0.1:{server_port}"
                wait_ready(url, proc)
                servers[(store, mode)] = url
                pids[url] = proc.pid
            lock_and_throttle(servers[(store, "gateway")])
        results["a_b"] = run_load(servers, pids, stores, args)
        results["c"] = run_latency(servers, stores, pool, args)
        if not args.no_workers:
            results["d"] = run_workers(pool, stores, tmp, endpoint, args)
    print_table(results)
    name = f"login-{args.label}.json" if args.label else "login.json"
    out = ROOT / "benchmarks" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten: {out.relative_to(ROOT)}")


def cases_for(servers: dict[tuple[str, str], str], stores: list[str]) -> list[tuple[str, ...]]:
    cases = []
    for store in stores:
        cases += [
            (store, "gateway", "bare", "/bare", "demo", PASSWORD, LOCKED_IP),
            (store, "gateway", "locked account", "/auth/login", "demo", PASSWORD, LOCKED_IP),
            (store, "gateway", "throttled address", "/auth/login", "x", "wrong", THROTTLED_IP),
            (store, "standin", "bare", "/bare", "demo", PASSWORD, LOCKED_IP),
            (store, "standin", "login (stand-in)", "/auth/login", "crowd", PASSWORD, "192.0.2.1"),
        ]
    return cases


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system) process ``pid`` has used, where /proc tells it (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(
    servers: dict[tuple[str, str], str],
    pids: dict[str, int],
    stores: list[str],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    cases = cases_for(servers, stores)
    runs: dict[tuple[str, ...], list[dict[str, Any]]] = {case: [] for case in cases}
    for round_no in range(args.rounds):
        order = cases[:]
        random.Random(round_no).shuffle(order)
        for case in order:
            store, mode, _, path, name, password, ip = case
            body = {"username": name, "password": password}
            crowd = name == "crowd"
            url = servers[(store, mode)]
            before = cpu_seconds(pids[url])
            run = wrk(url, path, body, ip, args.duration, args.connections, crowd)
            after = cpu_seconds(pids[url])
            # The server's CPU per answer: what a case costs, whatever else shares the machine.
            run["cpu_ms"] = (
                None
                if before is None or after is None
                else 1000 * (after - before) / run["requests"]
            )
            runs[case].append(run)
    rows = []
    for case, found in runs.items():
        med = sorted(found, key=lambda r: r["rps"])[len(found) // 2]
        rows.append({"store": case[0], "server": case[1], "case": case[2], **med, "rounds": found})
    return rows


def run_latency(
    servers: dict[tuple[str, str], str],
    stores: list[str],
    pool: LocalPool,
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    idp = emulator_client(pool.endpoint)

    def direct() -> None:
        idp.admin_initiate_auth(
            UserPoolId=pool.user_pool_id,
            ClientId=pool.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "bench", "PASSWORD": PASSWORD},
        )

    rows = []
    body = json.dumps({"username": "bench", "password": PASSWORD})
    for store in stores:
        # One kept-alive connection from the standard library's client: the lightest Python
        # client there is, so that the figure is the gateway's, not the client's (httpx alone
        # costs about 0.4 ms more per round trip here, on both sides of the comparison).
        port = int(servers[(store, "gateway")].rsplit(":", 1)[1])
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def send(path: str, headers: dict[str, str], client: Any = client) -> None:
            client.request("POST", path, body, {"content-type": "application/json", **headers})
            answer = client.getresponse()
            text = answer.read()
            assert answer.status == 200, text

        def through_gateway() -> None:
            send("/auth/login", {"x-forwarded-for": "192.0.2.50"})

        def bare() -> None:
            # The floor of any gateway: this client, this server, one HTTP round trip, no work.
            send("/bare", {})

        latency(20, direct)
        latency(20, through_gateway)
        latency(20, bare)
        gate_ms: list[float] = []
        direct_ms: list[float] = []
        bare_ms: list[float] = []
        for _ in range(args.calls // 25):  # interleaved blocks of 25
            direct_ms += latency(25, direct)
            gate_ms += latency(25, through_gateway)
            bare_ms += latency(25, bare)
        client.close()
        rows.append(
            {
                "store": store,
                "direct_p50_ms": statistics.median(direct_ms),
                "gateway_p50_ms": statistics.median(gate_ms),
                "direct_p99_ms": quantile(direct_ms, 0.99),
                "gateway_p99_ms": quantile(gate_ms, 0.99),
                "bare_http_p50_ms": statistics.median(bare_ms),
            }
        )
    return rows


def run_workers(
    pool: LocalPool, stores: list[str], tmp: Path, endpoint: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows = []
    for store in [s for s in stores if s in ("sqlite", "redis")]:
        tag = f"w{random.getrandbits(32):x}"
        (tmp / tag).mkdir()
        url = STORE_URLS[store].format(tmp=tmp / tag, endpoint=endpoint, tag=tag)
        found: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
        for workers in (1, 2):
            port = free_port()
            env = gateway_env(pool, url, args.src, workers=str(workers), port=str(port))
            cmd = [sys.executable, "-m", "cognito_gate.cli", "serve"]
            with process(cmd, env) as proc:
                base = f"http://127.0.0.1:{port}"
                wait_ready(base, proc)
                if workers == 1:
                    lock_and_throttle(base)
                body = {"username": "demo", "password": PASSWORD}
                for _ in range(args.rounds):
                    found[workers].append(
                        wrk(base, "/auth/login", body, LOCKED_IP, args.duration, args.connections)
                    )
        for workers, runs in found.items():
            med = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
            rows.append({"store": store, "workers": workers, **med})
    return rows


def wrong_answers(row: dict[str, Any]) -> int:
    """Refusal cases want every answer refused (non-2xx); the others want none refused."""
    refusal = row["case"] in ("locked account", "throttled address")
    return int(row["requests"] - row["non2xx"] if refusal else row["non2xx"]) + row["io_errors"]


def print_table(results: dict[str, Any]) -> None:
    print(f"\nmachine: {describe(results['machine'])}")
    print("\n(a)(b) 32 connections, one worker; median round; ratio = case / bare on that server")
    print("(wrong: answers of the wrong kind, a refusal let through or a login refused; want 0;")
    print(" cpu ms: the server's CPU time per answer, user + system, all its threads)")
    print(
        f"{'store':<11}{'case':<20}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'wrong':>7}"
        f"{'cpu ms':>8}"
    )
    bare: dict[tuple[str, str], float] = {}
    for row in results["a_b"]:
        if row["case"] == "bare":
            bare[(row["store"], row["server"])] = row["rps"]
    for row in results["a_b"]:
        ratio = row["rps"] / bare[(row["store"], row["server"])]
        print(
            f"{row['store']:<11}{row['case']:<20}{row['rps']:>9.0f}{row['p50_ms']:>9.2f}"
            f"{row['p99_ms']:>9.2f}{ratio:>8.2f}{wrong_answers(row):>7}"
            f"{row['cpu_ms'] if row.get('cpu_ms') is not None else float('nan'):>8.3f}"
        )
    print("\n(c) one login at a time against the emulator: gateway beside direct AdminInitiateAuth")
    print("(http p50: the bare endpoint's round trip from the same client, the floor of +p50)")
    print(
        f"{'store':<11}{'direct p50':>11}{'gate p50':>10}{'+p50':>7}{'direct p99':>11}"
        f"{'gate p99':>10}{'+p99':>7}{'http p50':>10}"
    )
    for row in results["c"]:
        print(
            f"{row['store']:<11}{row['direct_p50_ms']:>11.2f}{row['gateway_p50_ms']:>10.2f}"
            f"{row['gateway_p50_ms'] - row['direct_p50_ms']:>7.2f}{row['direct_p99_ms']:>11.2f}"
            f"{row['gateway_p99_ms']:>10.2f}{row['gateway_p99_ms'] - row['direct_p99_ms']:>7.2f}"
            f"{row.get('bare_http_p50_ms', float('nan')):>10.2f}"
        )
    if results.get("d"):
        print("\n(d) serve --workers N, refusing a locked account, 32 connections")
        for row in results["d"]:
            print(
                f"{row['store']:<11}workers={row['workers']:<4}{row['rps']:>9.0f} req/s"
                f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            )


if __name__ == "__main__":
    main()
