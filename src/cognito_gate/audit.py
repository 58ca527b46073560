"""Audit events, written off the request path: queued in memory, written to the store in batches.

A request only appends to a bounded queue; a short-lived task writes what is queued in batches
(one store round trip per batch) and ends when the queue is empty. Nothing queued is lost on a clean stop
(:meth:`Audit.close` writes it all); while the store is down the queue waits and retries; when
the queue is full the newest event is dropped and counted (``cognito_gate_events_dropped_total``).

Refusals (a locked account, a throttled address, a full budget) are the flood of an attack, and
each said alike: one still waiting in the queue absorbs the next one of the same kind, account,
address and reason, which only raises its ``count`` and moves its ``lastTime``. Profiled: under
an attack on a locked account, writing one row per refusal was a sixth of the gateway's time on
SQLite (and a disk filler). Failed and successful checks are never merged.

An event's ``time`` (and ``lastTime``) may be queued as epoch seconds: it is written as ISO 8601
UTC, formatted when the batch is written rather than on the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from cognito_gate.answers import iso_utc
from cognito_gate.errors import StoreUnavailable
from cognito_gate.metrics import Metrics
from cognito_gate.stores import Store

logger = logging.getLogger("cognito_gate.audit")

#: Events held in memory at most, and written per store round trip.
MAX_QUEUED = 10_000
BATCH = 500
#: Seconds between tries while the store is down.
RETRY_SECONDS = 1.0
#: Seconds the writer waits for more events before a write that is not a full batch.
LINGER_SECONDS = 0.05
#: The outcomes merged while queued (see the module docstring).
MERGED = frozenset({"locked", "throttled", "busy", "disabled"})


class Audit:
    """The audit log's writer for one store."""

    def __init__(self, store: Store, metrics: Metrics, *, max_queued: int = MAX_QUEUED) -> None:
        self.store = store
        self.metrics = metrics
        self.max_queued = max_queued
        self._queue: deque[dict[str, Any]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._merging: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._wake = asyncio.Event()  # set by flush(): the writer's wait ends

    def add(self, event: dict[str, Any]) -> None:
        """Queue ``event`` (from a coroutine); never waits, never raises."""
        key = None
        if event.get("outcome") in MERGED:
            get = event.get
            key = (get("type"), get("username"), get("ip"), get("outcome"), get("reason"))
            queued = self._merging.get(key)
            if queued is not None:
                queued["count"] = queued.get("count", 1) + 1
                queued["lastTime"] = event.get("time")
                return
        if len(self._queue) >= self.max_queued:
            self.metrics.inc("cognito_gate_events_dropped_total")
            return
        self._queue.append(event)
        if key is not None:
            self._merging[key] = event
        self._kick()

    def _kick(self) -> None:
        # One short-lived task drains the queue and ends: nothing lingers between event loops.
        if self._queue and (self._task is None or self._task.done()):
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        if len(self._queue) < BATCH:
            # A short wait gathers what follows into the same write: under an attack, refusals
            # merge into one queued event meanwhile, and the store sees a few writes a second
            # instead of one per turn of the loop (profiled: each write's driver work competes
            # with the requests, most of all boto3's on DynamoDB). flush() ends the wait.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), LINGER_SECONDS)
        if not await self._write():
            asyncio.get_running_loop().call_later(RETRY_SECONDS, self._kick)

    async def _write(self) -> bool:
        """Write everything queued; False when the store is down (the rest stays queued)."""
        while self._queue:
            batch = [_stamped(self._queue.popleft()) for _ in range(min(BATCH, len(self._queue)))]
            if self._merging:  # what leaves the queue merges no more
                left = {id(e) for e in batch}
                self._merging = {k: v for k, v in self._merging.items() if id(v) not in left}
            try:
                await self.store.add_events(batch)
            except StoreUnavailable:
                self._queue.extendleft(reversed(batch))
                logger.warning("audit: %d event(s) wait for the store", len(self._queue))
                return False
            except BaseException:
                self._queue.extendleft(reversed(batch))
                raise
        return True

    async def flush(self) -> None:
        """Write what is queued now; raises StoreUnavailable if the store is down."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            self._wake.set()
            with contextlib.suppress(Exception):
                await task
        if not await self._write():
            raise StoreUnavailable("The audit log could not be written.")

    async def close(self) -> None:
        """Write what is queued, if the store answers (a clean stop loses nothing written)."""
        try:
            await self.flush()
        except StoreUnavailable:
            logger.error("audit: %d event(s) could not be written at stop", len(self._queue))

    @property
    def queued(self) -> int:
        """Events waiting to be written."""
        return len(self._queue)


def _stamped(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with its times in ISO 8601 UTC (it leaves the queue: nothing merges into it)."""
    for field in ("time", "lastTime"):
        value = event.get(field)
        if isinstance(value, float | int) and not isinstance(value, bool):
            event[field] = iso_utc(value)
    return event
