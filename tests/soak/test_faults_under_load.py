"""Faults under load (issue #12, "Prove it holds"): a hundred logins at a time on two real
``cognito-gate serve`` replicas sharing a private Redis, while Redis and then Cognito (the
emulator) go away and come back.

- Redis is killed (SIGKILL, a crash) and started again on the same port. It keeps an append-only
  file synced on every write, so that what it acknowledged survives: whatever the gateways then
  find (or miss) is theirs to answer for.
- The emulator is this test's own ``Emulator(port=P)``, stopped and started again on the same
  port; moto's state is process-wide, so the pool and its users survive.

The run: a warm-up under the same load, with a Cognito outage of ``SOAK_OUTAGE_SECONDS`` and a
one-second Redis outage in it, then ``SOAK_SECONDS`` with a Redis outage and a Cognito outage of
``SOAK_OUTAGE_SECONDS`` each. The warm-up holds a rehearsal of both outages because a gateway's
first Cognito outage raises its resident memory once, by up to about 10 MiB, and later ones by a
fraction of that (measured: four 4-second Cognito outages in a row added 10, 0.5, 0.3 and
0.3 MiB). Counted with ``gc.get_objects()`` in a gateway during its first Cognito outage: some
14,000 tracebacks and 12,000 frames alive at the peak, all gone once it was over. Failing fast,
each request leaves its exception's cycle (botocore's error, traceback, frames) to the cyclic
garbage collector, whose full collections are rare; the process keeps the high-water mark. So
memory is measured from the end of the warm-up: what the check sees is growth that repeats.

Asserted: every answer is 200, 401, 429 or 503, and none takes as long as the client's timeout;
no login succeeds while the store is down, and no password is judged (no 200, no 401) while
Cognito is down; failures recorded before the outages (on accounts the load never touches) are all
there afterwards, as the admin API reports them, and the outages counted nothing against a user;
service comes back by itself after each outage; each gateway's resident memory (VmRSS) grows less
than 10 % from the end of the warm-up to the end of the run.

``SOAK_SECONDS`` (default 15) and ``SOAK_OUTAGE_SECONDS`` (default 3) size the run; ``make soak``
runs 60 s with 10 s outages. The load stays on loopback: ``CONCURRENCY`` requests in flight, at
most ``MAX_REQUESTS_PER_SECOND`` per second of the run in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from cognito_gate.cognito.local import Emulator, LocalPool, create_user, emulator_client
from tests.conftest import ADMIN_TOKEN, provisioned
from tests.processes import Served, free_port, pool_env, serve
from tests.services import redis

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "15"))
OUTAGE_SECONDS = float(os.environ.get("SOAK_OUTAGE_SECONDS", "3"))
WARM_UP = 4.5 + OUTAGE_SECONDS
END = WARM_UP + SOAK_SECONDS
#: (seconds from the start, what goes down, for how long): two in the warm-up, two in the run
OUTAGES = [
    (1.0, "Cognito", OUTAGE_SECONDS),
    (2.0 + OUTAGE_SECONDS, "Redis", 1.0),
    (WARM_UP + 0.25 * SOAK_SECONDS, "Redis", OUTAGE_SECONDS),
    (WARM_UP + 0.6 * SOAK_SECONDS, "Cognito", OUTAGE_SECONDS),
]
assert OUTAGES[2][0] + OUTAGE_SECONDS + 1.5 < OUTAGES[3][0], "outages too long for the run"
assert OUTAGES[3][0] + OUTAGE_SECONDS + 1.5 < END, "outages too long for the run"

CONCURRENCY = 100
MAX_REQUESTS_PER_SECOND = 400  # a bound on the load, far above what two replicas serve here
CLIENT_TIMEOUT = 10.0
RSS_GROWTH = 0.10
MAX_ATTEMPTS = 5

#: Accounts the load uses: right and wrong passwords in turn (one in four wrong)...
LOAD = [(f"load{n:02d}", f"Load-{n:02d}-passw0rd!") for n in range(20)]
#: ... and two it attacks (wrong passwords only: they lock and stay locked).
ATTACKED = [(f"attacked{n}", f"Attacked-{n}-passw0rd!") for n in range(2)]
#: Accounts the load never touches, given failures before the outages: (name, failures).
WITNESSES = [("witness0", 2), ("witness1", 4), ("witness2", MAX_ATTEMPTS)]
#: During each outage, wrong passwords for the witness of its kind: none may count.
PROBED = {"Redis": "witness0", "Cognito": "witness1"}
WRONG = "Wrong-passw0rd!"


@dataclass
class Reply:
    sent: float
    received: float
    right: bool  # the right password was sent
    status: int  # 0: no answer (the error says why)
    error: str | None


@dataclass
class Window:
    """An outage: from just after the service stopped to just before it started again."""

    name: str
    down: float
    up: float = 0.0
    probes: list[int] = field(default_factory=list)

    def inside(self, reply: Reply) -> bool:
        return self.down <= reply.sent and reply.received <= self.up


@dataclass
class Run:
    replies: list[Reply] = field(default_factory=list)
    outages: list[Window] = field(default_factory=list)
    #: (seconds from the start, {pid: VmRSS in KiB}), about once a second
    rss: list[tuple[float, dict[int, int]]] = field(default_factory=list)
    rss_warm: dict[int, int] = field(default_factory=dict)
    rss_end: dict[int, int] = field(default_factory=dict)


# -- the pieces --------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB (/proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def status(url: str, username: str) -> dict[str, Any] | None:
    """The admin API's status of an account (None: nothing recorded)."""
    answer = httpx.get(
        f"{url}/admin/accounts/{username}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=CLIENT_TIMEOUT,
    )
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def login(url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{url}/auth/login",
        json={"username": username, "password": password},
        timeout=CLIENT_TIMEOUT,
    )


@pytest.fixture
def emulator_of_our_own() -> Iterator[Emulator]:
    """An emulator on a fixed port, which the test stops and starts again."""
    emulator = Emulator(port=free_port())
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def soak_pool(emulator_of_our_own: Emulator) -> LocalPool:
    pool = provisioned(emulator_of_our_own.endpoint)
    idp = emulator_client(pool.endpoint)
    for name, password in [*LOAD, *ATTACKED, *((w, "Witness-passw0rd!") for w, _ in WITNESSES)]:
        create_user(idp, pool.user_pool_id, name, password)
    return pool


@contextlib.contextmanager
def replicas(pool: LocalPool, store: str) -> Iterator[list[Served]]:
    env = pool_env(
        pool,
        store=store,
        admin_token=ADMIN_TOKEN,
        max_attempts=str(MAX_ATTEMPTS),
        # one client address sends everything here; the address limit is tested in tests/abuse
        ip_max_attempts="100000000",
    )
    with serve(env) as one, serve(env) as two:
        yield [one, two]


# -- the run -------------------------------------------------------------------------------------


async def load(urls: list[str], run: Run, stop: asyncio.Event) -> None:
    """CONCURRENCY workers, each sending one login after another until ``stop``."""
    counter = iter(range(int(MAX_REQUESTS_PER_SECOND * END)))
    lanes = CONCURRENCY // 10  # several small clients: one big pool would be the bottleneck
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=10)
    clients = [httpx.AsyncClient(limits=limits, timeout=CLIENT_TIMEOUT) for _ in range(lanes)]
    accounts = [*LOAD, *ATTACKED]

    async def worker(k: int) -> None:
        client = clients[k % lanes]
        for i in counter:
            if stop.is_set():
                return
            username, password = accounts[i % len(accounts)]
            right = i % 4 != 3 and (username, password) in LOAD
            body = {"username": username, "password": password if right else WRONG}
            sent = time.monotonic()
            try:
                answer = await client.post(f"{urls[i % len(urls)]}/auth/login", json=body)
                code = answer.json().get("error") if answer.status_code >= 400 else None
                reply = Reply(sent, time.monotonic(), right, answer.status_code, code)
            except (httpx.HTTPError, ValueError) as exc:  # kept, and refused by the assertions
                reply = Reply(sent, time.monotonic(), right, 0, type(exc).__name__)
            run.replies.append(reply)

    try:
        await asyncio.gather(*(worker(k) for k in range(CONCURRENCY)))
    finally:
        for client in clients:
            await client.aclose()


async def sample_rss(pids: list[int], run: Run, stop: asyncio.Event) -> None:
    start = time.monotonic()
    while not stop.is_set():
        run.rss.append((time.monotonic() - start, {pid: rss_kib(pid) for pid in pids}))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def faults(
    urls: list[str], pids: list[int], server: redis.PrivateServer, emulator: Emulator, run: Run
) -> None:
    """The timeline: each outage in turn, memory read at the end of the warm-up and at the end."""
    start = time.monotonic()

    async def until(offset: float) -> None:
        await asyncio.sleep(max(0.0, start + offset - time.monotonic()))

    stop = {"Redis": server.kill, "Cognito": emulator.stop}
    restart = {"Redis": server.start, "Cognito": emulator.start}
    for number, (at, name, seconds) in enumerate(OUTAGES):
        if at > WARM_UP and not run.rss_warm:
            await until(WARM_UP)
            run.rss_warm = {pid: rss_kib(pid) for pid in pids}
        await until(at)
        await asyncio.to_thread(stop[name])
        window = Window(name, time.monotonic())
        run.outages.append(window)
        url = urls[number % len(urls)]
        window.probes = [
            (await asyncio.to_thread(login, url, PROBED[name], WRONG)).status_code for _ in range(3)
        ]
        await until(at + seconds)
        window.up = time.monotonic()
        await asyncio.to_thread(restart[name])
    await until(END)
    run.rss_end = {pid: rss_kib(pid) for pid in pids}


async def soak(
    urls: list[str], pids: list[int], server: redis.PrivateServer, emulator: Emulator
) -> Run:
    run = Run()
    stop = asyncio.Event()
    traffic = asyncio.create_task(load(urls, run, stop))
    sampler = asyncio.create_task(sample_rss(pids, run, stop))
    try:
        await faults(urls, pids, server, emulator, run)
    finally:
        stop.set()
        await traffic
        await sampler
    return run


# -- the test ------------------------------------------------------------------------------------


def test_logins_under_load_survive_store_and_cognito_outages(
    soak_pool: LocalPool, emulator_of_our_own: Emulator
) -> None:
    with redis.private_server(persistent=True) as server, replicas(soak_pool, server.url) as gws:
        urls = [g.url for g in gws]
        pids = [g.process.pid for g in gws]
        # Failures recorded before any outage, on accounts the load never touches.
        for (name, failures), url in zip(WITNESSES, [urls[0], urls[1], urls[0]], strict=True):
            for _ in range(failures):
                assert login(url, name, WRONG).status_code == 401
        before = {name: status(urls[1], name) for name, _ in WITNESSES}
        assert (before["witness2"] or {}).get("lockedUntil") is not None

        run = asyncio.run(soak(urls, pids, server, emulator_of_our_own))

        # Both replicas serve again; the witnesses are as they were (read on the other replica).
        for url in urls:
            assert httpx.get(f"{url}/readyz", timeout=CLIENT_TIMEOUT).status_code == 200
        after = {name: status(urls[0], name) for name, _ in WITNESSES}

    report(run)
    check(run, before, after)


def report(run: Run) -> None:
    """The figures (``pytest -s`` shows them)."""
    statuses = Counter(r.status for r in run.replies)
    codes = Counter(r.error for r in run.replies if r.error)
    latencies = sorted(r.received - r.sent for r in run.replies)
    p99 = latencies[int(len(latencies) * 0.99)]
    print(
        f"\nsoak: {len(run.replies)} logins in {END:g} s ({WARM_UP:g} s warm-up with an outage"
        f" of each kind, then {SOAK_SECONDS:g} s), {CONCURRENCY} in flight, two replicas on one"
        f" Redis; " + ", ".join(f"{w.name} down {w.up - w.down:.1f} s" for w in run.outages[2:])
    )
    print(f"  answers {dict(sorted(statuses.items()))}; errors {dict(codes)}")
    print(
        f"  latency median {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms,"
        f" max {latencies[-1] * 1000:.0f} ms (client timeout {CLIENT_TIMEOUT:g} s)"
    )
    for window in run.outages:
        inside = Counter(r.status for r in run.replies if window.inside(r))
        print(
            f"  {window.name} down {window.up - window.down:.1f} s: answers {dict(inside)};"
            f" witness probes {window.probes}"
        )
    for pid, warm in run.rss_warm.items():
        end = run.rss_end[pid]
        trace = " ".join(f"{sample[pid] / 1024:.0f}" for _, sample in run.rss[::5])
        print(
            f"  gateway {pid}: RSS {warm / 1024:.1f} MiB after the warm-up, {end / 1024:.1f} MiB"
            f" at the end ({end / warm - 1:+.1%}); every 5 s: {trace}"
        )


def check(run: Run, before: dict[str, Any], after: dict[str, Any]) -> None:
    replies = run.replies
    assert len(replies) >= CONCURRENCY, "the load did not run"
    assert len(replies) <= MAX_REQUESTS_PER_SECOND * END

    # Only the four answers, never a hang: a timeout would have shown as status 0.
    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= {200, 401, 429, 503}, statuses
    assert max(r.received - r.sent for r in replies) < CLIENT_TIMEOUT
    assert all(statuses[s] > 0 for s in (200, 401, 429, 503)), statuses
    assert all(r.right for r in replies if r.status == 200)  # a wrong password never got in

    for window in run.outages:
        inside = [r for r in replies if window.inside(r)]
        seen = Counter(r.status for r in inside)
        assert len(inside) >= 10, f"no login ran while {window.name} was down"
        if window.name == "Redis":  # nothing but 503: no login let through unchecked
            assert set(seen) == {503}, (window, seen)
        else:  # no password judged (no 200, no 401); locked accounts refused from the store
            assert set(seen) <= {503, 429}, (window, seen)
            assert seen[503] > 0, (window, seen)
        assert window.probes == [503, 503, 503], window
        # service comes back by itself: a login succeeds after the outage, before the next one
        later = [w.down for w in run.outages if w.down > window.up] or [float("inf")]
        assert any(
            r.status == 200 and window.up < r.sent and r.received < min(later) for r in replies
        ), f"no login succeeded after {window.name} came back"

    # Every failure recorded before the outages is still there, and the outages added none.
    assert after == before, (before, after)

    # Memory: each gateway grew less than RSS_GROWTH from the end of the warm-up.
    for pid, warm in run.rss_warm.items():
        assert run.rss_end[pid] < warm * (1 + RSS_GROWTH), (pid, warm, run.rss_end[pid])
