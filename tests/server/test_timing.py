"""Enumeration by timing: does how long a failed login takes tell whether the user exists, or
(opaque mode) whether the account is locked? Interleaved attempts against the emulator, medians
and a Mann-Whitney U test; ``MIN_FAILURE_SECONDS`` pads failed logins to a fixed floor."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Awaitable, Callable

import pytest

from cognito_gate.cognito.local import LocalPool, create_user, emulator_client
from tests.conftest import FakeClock
from tests.server.conftest import Api

pytestmark = pytest.mark.anyio
ApiFactory = Callable[..., Api]
ATTEMPTS = 300
FLOOR = 0.02  # seconds: well above a failed check's own duration on the emulator (a few ms)


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, ties averaged)."""
    ranked = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    ranks = [0.0] * len(ranked)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    rank_a = sum(r for r, (_, side) in zip(ranks, ranked, strict=True) if side == 0)
    n1, n2 = len(a), len(b)
    u = rank_a - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    sd = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    z = (u - mean) / sd
    return math.erfc(abs(z) / math.sqrt(2))


async def interleaved(
    first: Callable[[], Awaitable[int]], second: Callable[[], Awaitable[int]]
) -> tuple[list[float], list[float], set[int]]:
    """ATTEMPTS of each, alternating, each timed (ms); and every status seen."""
    times: tuple[list[float], list[float]] = ([], [])
    statuses = set()
    for _ in range(ATTEMPTS):
        for side, attempt in enumerate((first, second)):
            start = time.perf_counter()
            statuses.add(await attempt())
            times[side].append((time.perf_counter() - start) * 1000)
    return times[0], times[1], statuses


def report(label: str, a: list[float], b: list[float]) -> tuple[float, float]:
    """Print the medians and the test's p-value (pytest -s shows them); return them."""
    difference = statistics.median(a) - statistics.median(b)
    p = mann_whitney_p(a, b)
    print(
        f"{label}: medians {statistics.median(a):.2f} / {statistics.median(b):.2f} ms,"
        f" difference {difference:+.2f} ms, Mann-Whitney p = {p:.3g}"
    )
    return difference, p


async def test_an_unknown_user_and_a_wrong_password_take_as_long(
    api_factory: ApiFactory, clock: FakeClock
) -> None:
    limits = {"max_attempts": 1000, "ip_max_attempts": 1_000_000}
    plain = api_factory(clock, **limits)
    padded = api_factory(clock, min_failure_seconds=FLOOR, **limits)

    def attempt(api: Api, name: str) -> Callable[[], Awaitable[int]]:
        async def go() -> int:
            return (await api.login(name, "Wrong-passw0rd!")).status_code

        return go

    real, ghost, statuses = await interleaved(attempt(plain, "demo"), attempt(plain, "nobody"))
    assert statuses == {401}
    report("without a floor: wrong password / unknown user", real, ghost)
    real, ghost, statuses = await interleaved(attempt(padded, "demo"), attempt(padded, "nobody"))
    assert statuses == {401}
    difference, p = report(f"floor {FLOOR * 1000:g} ms: wrong password / unknown user", real, ghost)
    assert abs(difference) < 1.0
    assert p > 1e-4
    assert min(real + ghost) >= FLOOR * 1000


async def test_opaque_mode_hides_a_lock_only_with_a_floor(
    api_factory: ApiFactory, clock: FakeClock, pool: LocalPool
) -> None:
    create_user(emulator_client(pool.endpoint), pool.user_pool_id, "other", "Other-passw0rd!")
    limits = {"max_attempts": 1000, "ip_max_attempts": 1_000_000, "lockout_response": "opaque"}
    plain = api_factory(clock, **limits)
    padded = api_factory(clock, min_failure_seconds=FLOOR, **limits)
    for api in (plain, padded):  # each has its own memory store
        assert (await api.admin("POST", "/admin/accounts/demo/lock")).status_code == 204

    def attempt(api: Api, name: str) -> Callable[[], Awaitable[int]]:
        async def go() -> int:
            return (await api.login(name, "Wrong-passw0rd!")).status_code

        return go

    locked, wrong, statuses = await interleaved(attempt(plain, "demo"), attempt(plain, "other"))
    assert statuses == {401}  # the same answer...
    difference, p = report("opaque, without a floor: locked / wrong password", locked, wrong)
    assert difference < 0  # ...but a locked account is refused without a Cognito round trip
    assert p < 1e-3  # and that is measurable: the floor below is needed
    locked, wrong, statuses = await interleaved(attempt(padded, "demo"), attempt(padded, "other"))
    assert statuses == {401}
    difference, p = report(f"opaque, floor {FLOOR * 1000:g} ms: locked / wrong", locked, wrong)
    assert abs(difference) < 1.0
    assert p > 1e-4
