"""An exclusive lock on a file beside the session file, shared by every process of the machine.

POSIX ``flock`` where there is ``fcntl``; ``msvcrt.locking`` on Windows. The lock belongs to the
open file, so each :class:`LockFile` opens its own; the caller serialises its own threads.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from cognito_gate.client.errors import StorageError


class LockFile:
    """``acquire`` / ``release`` an exclusive lock on ``path`` (created 0600 when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            try:
                self._fd = os.open(self.path, flags, 0o600)
            except OSError as exc:
                raise StorageError(
                    f"cannot open the lock file {self.path}: {exc.strerror}"
                ) from None
        return self._fd

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock; with ``blocking`` off, return False at once when another holds it."""
        fd = self._open()
        try:
            _lock(fd, blocking)
        except BlockingIOError:
            return False
        except OSError as exc:
            if not blocking and exc.errno in _BUSY:
                return False
            raise StorageError(f"cannot lock {self.path}: {exc.strerror}") from None
        return True

    def release(self) -> None:
        """Release the lock (the file stays open for the next ``acquire``)."""
        if self._fd is not None:
            _unlock(self._fd)

    def close(self) -> None:
        """Close the file, which also releases the lock."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import errno
    import msvcrt

    _BUSY = {errno.EACCES, errno.EDEADLK}

    def _lock(fd: int, blocking: bool) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError as exc:
                if not blocking or exc.errno not in _BUSY:
                    raise
                # LK_LOCK gives up after 10 s; poll instead to wait as long as flock does.
                import time

                time.sleep(0.01)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import errno
    import fcntl

    _BUSY = {errno.EAGAIN, errno.EACCES}

    def _lock(fd: int, blocking: bool) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
