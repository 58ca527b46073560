"""Lockout stores, chosen by URL scheme: ``memory://``, ``sqlite:///PATH``, and (with their extras)
``redis://`` and ``postgresql://``. A missing driver raises ConfigError naming the extra."""

from __future__ import annotations

import time
from collections.abc import Callable

from cognito_gate.errors import ConfigError
from cognito_gate.stores.base import Store, Versioned, update
from cognito_gate.stores.memory import MemoryStore
from cognito_gate.stores.sqlite import SqliteStore

__all__ = ["MemoryStore", "SqliteStore", "Store", "Versioned", "open_store", "update"]


def open_store(url: str, clock: Callable[[], float] = time.time) -> Store:
    """The store for ``url``; its clock decides when records expire."""
    if url == "memory://" or url.startswith("memory://"):
        return MemoryStore(clock)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise ConfigError("COGNITO_GATE_STORE: sqlite:/// needs a path, e.g. sqlite:///gate.db")
        return SqliteStore(path, clock)
    if url.startswith(("redis://", "rediss://", "postgresql://", "postgres://")):
        scheme = url.split(":", 1)[0]
        extra = "redis" if scheme.startswith("redis") else "postgres"
        raise ConfigError(
            f"COGNITO_GATE_STORE: the {scheme} store is not available in this version"
            f" (it will need `pip install cognito-gate[{extra}]`); use memory:// or sqlite:///PATH"
        )
    raise ConfigError(
        "COGNITO_GATE_STORE: expected memory://, sqlite:///PATH, redis://... or postgresql://..."
    )
