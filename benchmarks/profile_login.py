"""Where one case of ``benchmarks/login.py`` spends its time: the server under wrk, sampled by py-spy.

    .venv/bin/python benchmarks/profile_login.py STORE CASE [--seconds S] [--top N]

STORE is one of login.py's stores (memory, sqlite, redis, postgresql, dynamodb); CASE is
``locked`` (refusing a locked account), ``throttled`` (a throttled address), ``standin`` (logins
of a crowd, Cognito an instant stand-in) or ``bare`` (the bare endpoint). It prints the requests
per second under the profiler (slower than without it), then the gateway's and the store's frames
by share of samples, inclusive and self, and keeps py-spy's raw samples in
``benchmarks/results/profile-STORE-CASE.txt`` (flamegraph-ready, ``inferno`` or speedscope).
Needs py-spy (``.venv/bin/pip install py-spy``) and wrk (``make bench`` installs it).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

import login  # noqa: E402

from cognito_gate.cognito.local import provision_pool  # noqa: E402

CASES = {
    "locked": ("/auth/login", "demo", login.PASSWORD, login.LOCKED_IP),
    "throttled": ("/auth/login", "x", "wrong", login.THROTTLED_IP),
    "standin": ("/auth/login", "crowd", login.PASSWORD, "192.0.2.1"),
    "bare": ("/bare", "demo", login.PASSWORD, login.LOCKED_IP),
}
#: Frames worth listing: the gateway's own, and the drivers of its stores.
OURS = ("cognito_gate/", "sqlite3", "redis/", "psycopg", "botocore/")


def frame_name(frame: str) -> str:
    """``function (file.py)`` of py-spy's ``function (path/file.py:line)``."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':')[0]})" if where else name


def summarise(raw: Path, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for name in {frame_name(f) for f in frames if any(o in f for o in OURS)}:
            inclusive[name] += n
        own[frame_name(frames[-1])] += n
    print(f"\n{total} samples; the gateway's and the stores' frames, inclusive:")
    for name, n in inclusive.most_common(top):
        print(f"{100 * n / total:6.1f}%  {name}")
    print("\nself (any frame):")
    for name, n in own.most_common(top):
        print(f"{100 * n / total:6.1f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", choices=sorted(login.STORE_URLS))
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    login.ensure_wrk()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    tmp = Path(tempfile.mkdtemp(prefix="cg-profile-"))
    out = ROOT / "benchmarks" / "results" / f"profile-{args.store}-{args.case}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        endpoint = login.emulator(stack)
        pool = provision_pool(endpoint)
        tag = f"pf{random.getrandbits(32):x}"
        store_url = login.STORE_URLS[args.store].format(tmp=tmp, endpoint=endpoint, tag=tag)
        server_port = login.free_port()
        cmd = [
            sys.executable,
            str(ROOT / "benchmarks/_login_server.py"),
            "--port",
            str(server_port),
        ]
        cmd += ["--standin"] if args.case == "standin" else []
        server = stack.enter_context(
            login.process(cmd, login.gateway_env(pool, store_url, ROOT / "src"))
        )
        url = f"http://127.0.0.1:{server_port}"
        login.wait_ready(url, server)
        if args.case in ("locked", "throttled"):
            login.lock_and_throttle(url)
        path, name, password, ip = CASES[args.case]
        body = {"username": name, "password": password}
        crowd = name == "crowd"
        login.wrk(url, path, body, ip, 2, 32, crowd)  # warm up
        record = ["record", "-r", "400", "-d", f"{args.seconds:g}", "--format", "raw"]
        sampler = subprocess.Popen(
            [spy, *record, "-o", str(out), "-p", str(server.pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        found = login.wrk(url, path, body, ip, args.seconds + 1, 32, crowd)
        sampler.wait()
    print(
        f"{args.store} {args.case}: {found['rps']:.0f} req/s under the profiler,"
        f" p50 {found['p50_ms']:.2f} ms; {found['non2xx']} of {found['requests']} answers"
        " not 2xx"
    )
    summarise(out, args.top)
    print(f"\nraw samples: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
