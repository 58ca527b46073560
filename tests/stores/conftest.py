"""Every store test runs on every backend: memory, SQLite, Redis, PostgreSQL, DynamoDB (moto).

Redis and PostgreSQL are the machine's own (127.0.0.1:6379 and 127.0.0.1:5432, database
``test``), overridable with ``COGNITO_GATE_TEST_REDIS_URL`` / ``COGNITO_GATE_TEST_POSTGRES_URL``;
each test gets its own key prefix or schema. DynamoDB is moto's, on the session's emulator.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cognito_gate.cognito.local import Emulator
from cognito_gate.stores import Store, open_store
from tests.services import dynamodb, postgres, redis

T0 = 1_800_000_000.0
BACKENDS = ["memory", "sqlite", "redis", "postgresql", "dynamodb"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.contextmanager
def backend_url(name: str, tmp_path: Path, emulator: Emulator) -> Iterator[str]:
    """A fresh URL of backend ``name``, cleaned up afterwards."""
    if name == "memory":
        yield "memory://"
    elif name == "sqlite":
        yield f"sqlite:///{tmp_path}/gate.db"
    elif name == "redis":
        with redis.store_url() as url:
            yield url
    elif name == "postgresql":
        with postgres.store_url() as url:
            yield url
    elif name == "dynamodb":
        with dynamodb.store_url(emulator.endpoint) as url:
            yield url
    else:  # pragma: no cover
        raise AssertionError(name)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, emulator: Emulator) -> Iterator[str]:
    with backend_url(request.param, tmp_path, emulator) as url:
        yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url, clock=lambda: T0)
    yield opened
    await opened.close()
