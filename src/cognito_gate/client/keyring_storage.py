"""KeyringStorage: the session in the system's keyring (``pip install 'cognito-gate[keyring]'``).

The whole storage is one JSON object kept as one secret (service ``cognito-gate``, user ``name``),
so every write replaces it at once. Writers take the same kind of lock file as
:class:`FileStorage`, beside the default session file. Some keyrings (Windows' credential store)
limit a secret's size; a session of long tokens may not fit there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cognito_gate.client._lockfile import LockFile
from cognito_gate.client.errors import StorageError
from cognito_gate.client.storage import Changes, Storage, default_session_path

SERVICE = "cognito-gate"


def _keyring() -> Any:
    try:
        import keyring
    except ImportError:
        raise StorageError(
            "KeyringStorage needs the keyring package: pip install 'cognito-gate[keyring]'"
        ) from None
    return keyring


class KeyringStorage(Storage):
    """The session as one secret in the system keyring."""

    def __init__(
        self,
        name: str = "session",
        *,
        service: str = SERVICE,
        lock_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__()
        self._keyring = _keyring()
        self.name = name
        self.service = service
        default_lock = default_session_path().with_name(f"keyring-{name}.lock")
        self.lock_path = Path(lock_path) if lock_path is not None else default_lock
        self._lockfile = LockFile(self.lock_path)
        self._cached: tuple[str | None, Mapping[str, str]] = (None, MappingProxyType({}))

    def _read(self) -> Mapping[str, str]:
        try:
            raw = self._keyring.get_password(self.service, self.name)
        except Exception as exc:  # the keyring's own errors differ by backend
            raise StorageError(f"cannot read the keyring: {type(exc).__name__}") from None
        cached = self._cached
        if raw == cached[0]:
            return cached[1]
        data: Mapping[str, str] = MappingProxyType({})
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                raise StorageError("the keyring entry is not valid JSON") from None
            if isinstance(parsed, dict):
                data = MappingProxyType({k: v for k, v in parsed.items() if isinstance(v, str)})
        self._cached = (raw, data)
        return data

    def _apply(self, changes: Changes) -> None:
        data = dict(self._read())
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        try:
            if data:
                self._keyring.set_password(self.service, self.name, json.dumps(data))
            elif self._cached[0] is not None:
                self._keyring.delete_password(self.service, self.name)
        except Exception as exc:
            raise StorageError(f"cannot write the keyring: {type(exc).__name__}") from None

    def _lock_os(self, blocking: bool) -> bool:
        self.lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self._lockfile.acquire(blocking)

    def _unlock_os(self) -> None:
        self._lockfile.release()

    def _after_fork(self) -> None:
        self._lockfile = LockFile(self.lock_path)

    def __repr__(self) -> str:
        return f"KeyringStorage(service={self.service!r}, name={self.name!r})"
