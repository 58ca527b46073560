"""A fresh postgres store URL per test (to be built)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def store_url() -> Iterator[str]:
    """A postgres URL no other test uses; everything under it is removed afterwards."""
    pytest.fail("the postgres store is not built yet")
    yield ""
