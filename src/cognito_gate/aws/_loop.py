"""One event loop per Lambda container, on a thread of its own.

A store's connections (Redis, PostgreSQL) and the audit writer belong to the loop that opened
them, so every invocation of a container must run on the same loop: a new ``asyncio.run`` per
invocation would strand them. The loop runs on its own daemon thread and each invocation waits
for its coroutine there. On Lambda one invocation runs at a time; in-process (the embedded
emulator calling the triggers from its request threads, tests) several may, and they simply
share the loop, as requests share uvicorn's.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """A daemon thread running one asyncio event loop, started on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or not self._loop.is_running():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name=self.name, daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result (or exception)."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError(f"{self.name}: called from its own loop (it would wait forever)")
        return asyncio.run_coroutine_threadsafe(coro, self._running()).result()

    def stop(self) -> None:
        """Stop the loop and its thread (tests; a Lambda container just ends)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        if loop is not None and not loop.is_running():
            loop.close()
