"""Lockout stores, chosen by URL scheme from a registry: ``memory://``, ``sqlite:///PATH``,
``redis://`` / ``rediss://``, ``postgresql://`` and ``dynamodb://TABLE``. A backend's driver is
imported only when its URL is used; a missing driver raises ConfigError naming the extra."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable

from cognito_gate.errors import ConfigError
from cognito_gate.stores.base import (
    Store,
    Versioned,
    read,
    update,
    update_many,
    watch_writes,
)
from cognito_gate.stores.memory import MemoryStore
from cognito_gate.stores.sqlite import SqliteStore

__all__ = [
    "MemoryStore",
    "SqliteStore",
    "Store",
    "Versioned",
    "open_store",
    "read",
    "update",
    "update_many",
    "watch_writes",
]

#: scheme -> (module, class, extra that installs its driver, driver module)
_BACKENDS: dict[str, tuple[str, str, str, str]] = {
    "redis": ("cognito_gate.stores.redis", "RedisStore", "redis", "redis"),
    "rediss": ("cognito_gate.stores.redis", "RedisStore", "redis", "redis"),
    "postgresql": ("cognito_gate.stores.postgres", "PostgresStore", "postgres", "psycopg"),
    "postgres": ("cognito_gate.stores.postgres", "PostgresStore", "postgres", "psycopg"),
    "dynamodb": ("cognito_gate.stores.dynamodb", "DynamoStore", "dynamodb", "boto3"),
}


def open_store(
    url: str, clock: Callable[[], float] = time.time, *, region: str | None = None
) -> Store:
    """The store for ``url``; its clock decides when records expire. ``region`` is the default
    AWS region of a ``dynamodb://`` store (the pool's)."""
    if url == "memory://" or url.startswith("memory://"):
        return MemoryStore(clock)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise ConfigError("COGNITO_GATE_STORE: sqlite:/// needs a path, e.g. sqlite:///gate.db")
        return SqliteStore(path, clock)
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in _BACKENDS:
        module_name, class_name, extra, driver = _BACKENDS[scheme]
        try:
            importlib.import_module(driver)
        except ImportError:
            raise ConfigError(
                f"COGNITO_GATE_STORE: the {scheme}:// store needs its driver:"
                f" pip install 'cognito-gate[{extra}]'"
            ) from None
        module = importlib.import_module(module_name)
        backend = getattr(module, class_name)
        store: Store = backend.from_url(url, clock=clock, region=region)
        return store
    raise ConfigError(
        "COGNITO_GATE_STORE: expected memory://, sqlite:///PATH, redis://HOST:PORT/DB,"
        " postgresql://USER@HOST:PORT/DB or dynamodb://TABLE"
    )
