"""Where a session lives: the JS library's keys mapped to string values, like ``localStorage``.

:class:`Storage` is the base: ``get_item`` / ``set_item`` / ``remove_item`` / ``clear`` as the
JS ``Storage`` interface, plus what several threads and processes need to share one session:
``update`` (several keys at once, atomically) and ``locked()`` / ``alocked()``, an exclusive
read-modify-write transaction. Subclasses implement ``_read``, ``_apply`` and, when several
processes may share the storage, ``_lock_os`` / ``_unlock_os``.

:class:`MemoryStorage` is one process's dict. :class:`FileStorage` is one JSON object in a file,
loadable into a browser's ``localStorage`` as it is; it is safe for several processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cognito_gate.client._lockfile import LockFile
from cognito_gate.client.errors import StorageError

Changes = Mapping[str, str | None]
"""Keys to set, and keys to remove (value None)."""

_EMPTY: Mapping[str, str] = MappingProxyType({})


class Transaction:
    """What :meth:`Storage.locked` yields: read the current state, write changes, exclusively."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def read(self) -> Mapping[str, str]:
        """Everything stored now (never a stale cache: the lock is held)."""
        return self._storage._read()

    def write(self, changes: Changes) -> None:
        """Set and remove keys in one atomic step."""
        if changes:
            self._storage._apply(changes)


class Storage(ABC):
    """A string-to-string store shared by every user of one app client, like ``localStorage``."""

    def __init__(self) -> None:
        self._init_locks()

    def _init_locks(self) -> None:
        self._pid = os.getpid()
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    # -- what a subclass provides ---------------------------------------------------------------

    @abstractmethod
    def _read(self) -> Mapping[str, str]:
        """Everything stored; a new mapping object whenever the content changed, never mutated."""

    @abstractmethod
    def _apply(self, changes: Changes) -> None:
        """Write ``changes`` (called with the lock held)."""

    def _lock_os(self, blocking: bool) -> bool:
        """Take the cross-process part of the lock; False if not ``blocking`` and it is busy."""
        return True

    def _unlock_os(self) -> None:  # noqa: B027 - optional hook
        """Release the cross-process part of the lock."""

    def _after_fork(self) -> None:  # noqa: B027 - optional hook
        """Reopen whatever a forked child must not share with its parent."""

    # -- the JS Storage interface ---------------------------------------------------------------

    def get_item(self, key: str) -> str | None:
        """The value under ``key``, or None."""
        return self._read().get(key)

    def set_item(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        self.update({key: str(value)})

    def remove_item(self, key: str) -> None:
        """Remove ``key`` (no error when it is absent)."""
        self.update({key: None})

    def clear(self) -> None:
        """Remove every key."""
        with self.locked() as txn:
            txn.write(dict.fromkeys(txn.read()))

    # -- what sharing needs ---------------------------------------------------------------------

    def items(self) -> dict[str, str]:
        """A copy of everything stored."""
        return dict(self._read())

    def snapshot(self) -> Mapping[str, str]:
        """Everything stored, read-only; the same object until the content changes."""
        return self._read()

    def update(self, changes: Changes) -> None:
        """Set and remove several keys in one atomic step."""
        with self.locked() as txn:
            txn.write(changes)

    def _acquire(self, blocking: bool) -> bool:
        if self._pid != os.getpid():
            self._init_locks()
            self._after_fork()
        if not self._thread_lock.acquire(blocking):
            return False
        try:
            if self._depth == 0 and not self._lock_os(blocking):
                self._thread_lock.release()
                return False
        except BaseException:
            self._thread_lock.release()
            raise
        self._depth += 1
        return True

    def _release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0:
                self._unlock_os()
        finally:
            self._thread_lock.release()

    @contextlib.contextmanager
    def locked(self) -> Iterator[Transaction]:
        """Exclusive access across threads (and processes, for shared storages)."""
        self._acquire(blocking=True)
        try:
            yield Transaction(self)
        finally:
            self._release()

    @contextlib.asynccontextmanager
    async def alocked(self) -> AsyncIterator[Transaction]:
        """:meth:`locked` for asyncio: waits without blocking the event loop."""
        loop = asyncio.get_running_loop()
        task_lock = self._async_locks.get(loop)
        if task_lock is None:
            task_lock = self._async_locks.setdefault(loop, asyncio.Lock())
        async with task_lock:
            delay = 0.001
            # Polling, not a worker thread: a thread blocked on the lock could starve the
            # executor that the lock holder itself needs (httpx resolves names there).
            while not self._acquire(blocking=False):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
            try:
                yield Transaction(self)
            finally:
                self._release()


class MemoryStorage(Storage):
    """One process's storage (the JS library's fallback when there is no ``localStorage``)."""

    def __init__(self, initial: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._data: Mapping[str, str] = MappingProxyType(dict(initial or {}))

    def _read(self) -> Mapping[str, str]:
        return self._data

    def _apply(self, changes: Changes) -> None:
        # Copy on write: a reader's snapshot never changes under it.
        data = dict(self._data)
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        self._data = MappingProxyType(data)

    def __repr__(self) -> str:
        return f"MemoryStorage({len(self._data)} keys)"


def default_session_path() -> Path:
    """``$XDG_CONFIG_HOME/cognito-gate/session.json``; ``~/.config/...`` when unset or relative."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return root / "cognito-gate" / "session.json"


class FileStorage(Storage):
    """One JSON object in a file, mode 0600, replaced atomically, safe for several processes.

    Writes take an exclusive lock on ``<path>.lock`` (``fcntl.flock``), read the file afresh,
    apply the change, write a temporary file beside it and ``os.replace`` it into place. Readers
    take no lock: they see the old file or the new one, never half of one.

    Reading is cheap: the parsed content is kept and the file is read again only when ``stat``
    shows a different file (inode, size or mtime). The last file read stays open, so its inode
    cannot be reused by a later file while it is cached.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self.path = Path(path) if path is not None else default_session_path()
        self._path = os.fspath(self.path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._lockfile = LockFile(self.lock_path)
        self._cache_lock = threading.Lock()
        self._pin_fd: int | None = None
        # (file identity, content), swapped as one object so readers need no lock.
        self._cached: tuple[tuple[int, int, int, int] | None, Mapping[str, str]] = (None, _EMPTY)

    def _lock_os(self, blocking: bool) -> bool:
        self._ensure_dir()
        return self._lockfile.acquire(blocking)

    def _unlock_os(self) -> None:
        self._lockfile.release()

    def _after_fork(self) -> None:
        self._lockfile = LockFile(self.lock_path)
        self._cache_lock = threading.Lock()

    def _ensure_dir(self) -> None:
        parent = self.path.parent
        if not parent.is_dir():
            try:
                parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create {parent}: {exc.strerror}") from None

    def _read(self) -> Mapping[str, str]:
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return self._remember(None, None, _EMPTY)
        except OSError as exc:
            raise StorageError(f"cannot read {self.path}: {exc.strerror}") from None
        cached = self._cached
        if (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns) == cached[0]:
            return cached[1]
        return self._load()

    def _load(self) -> Mapping[str, str]:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return self._remember(None, None, _EMPTY)
        except OSError as exc:
            raise StorageError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            st = os.fstat(fd)
            raw = _read_all(fd, st.st_size)
            data = _parse(raw, self.path)
        except BaseException:
            os.close(fd)
            raise
        key = (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns)
        return self._remember(fd, key, data)

    def _remember(
        self, fd: int | None, key: tuple[int, int, int, int] | None, data: Mapping[str, str]
    ) -> Mapping[str, str]:
        with self._cache_lock:
            old, self._pin_fd = self._pin_fd, fd
            self._cached = (key, data)
        if old is not None:
            os.close(old)
        return data

    def _apply(self, changes: Changes) -> None:
        data = dict(self._read())
        before = dict(data)
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        if data == before and self.path.exists():
            return
        self._write(data)

    def _write(self, data: dict[str, str]) -> None:
        self._ensure_dir()
        raw = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        except OSError as exc:
            raise StorageError(f"cannot write {self.path}: {exc.strerror}") from None
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            st = os.fstat(fd)
            os.replace(tmp, self.path)
        except BaseException as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise StorageError(f"cannot write {self.path}: {exc.strerror}") from None
            raise
        frozen = MappingProxyType(data)
        self._remember(fd, (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns), frozen)

    def invalidate(self) -> None:
        """Forget what was read, so that the next read goes to the file."""
        self._remember(None, None, _EMPTY)

    def __repr__(self) -> str:
        return f"FileStorage({str(self.path)!r})"

    def __del__(self) -> None:
        fd, self._pin_fd = getattr(self, "_pin_fd", None), None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _read_all(fd: int, size_hint: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, max(size_hint, 4096) + 1)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _parse(raw: bytes, path: Path) -> Mapping[str, str]:
    if not raw.strip():
        return _EMPTY
    try:
        data: Any = json.loads(raw)
    except ValueError:
        raise StorageError(
            f"{path} is not valid JSON; fix it or delete it and log in again"
        ) from None
    if not isinstance(data, dict):
        raise StorageError(f"{path} must hold one JSON object")
    # localStorage holds strings only; anything else was not written by a Cognito library.
    return MappingProxyType({k: v for k, v in data.items() if isinstance(v, str)})
