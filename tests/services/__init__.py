"""The real services the tests use (Redis, PostgreSQL, DynamoDB on moto): each module gives a
fresh, isolated store URL per test and cleans up after it. A service that is not running is
started where that can be done, else the test fails saying what is missing: nothing skips."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

#: Every store backend, as the conformance suite names them.
BACKENDS = ["memory", "sqlite", "redis", "postgresql", "dynamodb"]


@contextlib.contextmanager
def store_url_for(name: str, tmp_path: Path, endpoint: str) -> Iterator[str]:
    """A fresh URL of backend ``name`` that no other test uses, cleaned up afterwards
    (``endpoint``: the emulator, where DynamoDB is moto's)."""
    from tests.services import dynamodb, postgres, redis

    if name == "memory":
        yield "memory://"
    elif name == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'gate.db'}"
    elif name == "redis":
        with redis.store_url() as url:
            yield url
    elif name == "postgresql":
        with postgres.store_url() as url:
            yield url
    elif name == "dynamodb":
        with dynamodb.store_url(endpoint) as url:
            yield url
    else:  # pragma: no cover
        raise AssertionError(name)
