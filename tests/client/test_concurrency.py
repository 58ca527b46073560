"""Concurrent callers share one refresh: threads, asyncio tasks and processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cognito_gate.client import CognitoUser, FileStorage, MemoryStorage, Storage, current_user
from cognito_gate.cognito.local import LocalPool
from tests.client.conftest import RefreshCounter, Tokens, user_for
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[2]
PAST_EXPIRY = 3600 + 5


@pytest.fixture(params=["memory", "file"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    return MemoryStorage() if request.param == "memory" else FileStorage(tmp_path / "s.json")


@pytest.mark.parametrize("users", ["one user object", "a user object each"])
def test_a_hundred_threads_meeting_one_expired_token_make_one_refresh(
    pool: LocalPool,
    tokens: Tokens,
    real_clock: FakeClock,
    refresh_counter: RefreshCounter,
    storage: Storage,
    users: str,
) -> None:
    shared = user_for(pool, tokens, real_clock, storage)
    real_clock.advance(PAST_EXPIRY)
    barrier = threading.Barrier(100)
    seen: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        user: CognitoUser = (
            shared
            if users == "one user object"
            else current_user(storage, clock=real_clock, endpoint=pool.endpoint)
        )
        barrier.wait()
        try:
            seen.append(user.get_session().access_token.jwt_token)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert refresh_counter.count == 1
    assert len(seen) == 100
    assert len(set(seen)) == 1
    assert seen[0] != tokens.access_token


def test_a_hundred_asyncio_tasks_meeting_one_expired_token_make_one_refresh(
    pool: LocalPool,
    tokens: Tokens,
    real_clock: FakeClock,
    refresh_counter: RefreshCounter,
    storage: Storage,
) -> None:
    shared = user_for(pool, tokens, real_clock, storage)
    real_clock.advance(PAST_EXPIRY)

    async def one(i: int) -> str:
        user = shared if i % 2 else current_user(storage, clock=real_clock)
        return (await user.aget_session()).access_token.jwt_token

    async def main() -> list[str]:
        return await asyncio.gather(*(one(i) for i in range(100)))

    seen = asyncio.run(main())
    assert refresh_counter.count == 1
    assert len(set(seen)) == 1
    assert seen[0] != tokens.access_token


def test_threads_and_tasks_together_still_make_one_refresh(
    pool: LocalPool, tokens: Tokens, real_clock: FakeClock, refresh_counter: RefreshCounter
) -> None:
    storage = MemoryStorage()
    user = user_for(pool, tokens, real_clock, storage)
    real_clock.advance(PAST_EXPIRY)
    seen: list[str] = []

    def in_thread() -> None:
        seen.append(user.get_session().access_token.jwt_token)

    async def main() -> None:
        threads = [threading.Thread(target=in_thread) for _ in range(20)]
        for t in threads:
            t.start()
        sessions = await asyncio.gather(*(user.aget_session() for _ in range(20)))
        seen.extend(s.access_token.jwt_token for s in sessions)
        for t in threads:
            t.join()

    asyncio.run(main())
    assert refresh_counter.count == 1
    assert len(seen) == 40
    assert len(set(seen)) == 1


def _run_processes(path: Path, mode: str, offset: float, n: int = 4) -> list[str]:
    gate = path.parent / "gate"
    gate.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.client.proc_worker",
                str(path),
                mode,
                str(offset),
                str(gate),
                f"p{i}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    deadline = time.monotonic() + 120
    while len(list(gate.glob("ready.*"))) < n:
        assert time.monotonic() < deadline, "the workers did not start"
        assert all(p.poll() is None for p in procs), "a worker died before it was ready"
        time.sleep(0.01)
    (gate / "go").touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(out.strip())
    return outputs


def test_four_processes_meeting_one_expired_token_make_one_refresh(
    pool: LocalPool,
    tokens: Tokens,
    real_clock: FakeClock,
    refresh_counter: RefreshCounter,
    tmp_path: Path,
) -> None:
    path = tmp_path / "session.json"
    user_for(pool, tokens, real_clock, FileStorage(path))
    seen = _run_processes(path, "get", offset=PAST_EXPIRY)
    assert refresh_counter.count == 1
    assert len(set(seen)) == 1
    assert seen[0] != tokens.access_token


def test_four_processes_refreshing_and_writing_leave_valid_json_and_a_valid_session(
    pool: LocalPool,
    tokens: Tokens,
    real_clock: FakeClock,
    refresh_counter: RefreshCounter,
    tmp_path: Path,
) -> None:
    path = tmp_path / "session.json"
    user_for(pool, tokens, real_clock, FileStorage(path))
    _run_processes(path, "stress", offset=0)

    assert refresh_counter.count == 40
    data = json.loads(path.read_text())  # whole, valid JSON
    # No write was lost: every process's last write is there.
    assert {data[f"cognito-gate.test.p{i}"] for i in range(4)} == {"10"}
    session = current_user(FileStorage(path)).get_session()
    assert session.is_valid()
    assert refresh_counter.count == 40  # the stored session was valid: no further refresh
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["gate", "session.json", "session.json.lock"]  # no temporary file left
