"""Every store test runs on every backend: memory, SQLite, Redis, PostgreSQL, DynamoDB (moto).

Redis and PostgreSQL are the machine's own (127.0.0.1:6379 and 127.0.0.1:5432, database
``test``), overridable with ``COGNITO_GATE_TEST_REDIS_URL`` / ``COGNITO_GATE_TEST_POSTGRES_URL``;
each test gets its own key prefix or schema. DynamoDB is moto's, on the session's emulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cognito_gate.cognito.local import Emulator
from cognito_gate.stores import Store, open_store
from tests.services import BACKENDS, store_url_for

T0 = 1_800_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, emulator: Emulator) -> Iterator[str]:
    with store_url_for(request.param, tmp_path, emulator.endpoint) as url:
        yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url, clock=lambda: T0)
    yield opened
    await opened.close()
