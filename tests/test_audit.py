"""The audit log's writer: off the request path, batched, bounded, refusals merged while queued."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from cognito_gate import audit as audit_module
from cognito_gate.audit import LINGER_SECONDS, Audit
from cognito_gate.metrics import Metrics
from cognito_gate.stores import MemoryStore


def event(outcome: str, n: int, ip: str = "203.0.113.9") -> dict[str, object]:
    return {"time": f"t{n}", "type": "login", "username": "demo", "ip": ip, "outcome": outcome}


def test_refusals_waiting_in_the_queue_merge_and_checks_never_do() -> None:
    async def run() -> list[dict[str, object]]:
        store = MemoryStore()
        audit = Audit(store, Metrics())
        for n in range(1000):  # an attack on a locked account, from two addresses
            audit.add(event("locked", n))
            audit.add(event("locked", n, ip="198.51.100.4"))
        audit.add(event("failure", 1000))
        audit.add(event("failure", 1001))
        await audit.flush()
        audit.add(event("locked", 2000))  # after the write: a new row
        await audit.close()
        return await store.events(None, 100)

    events = asyncio.run(run())
    assert [(e["outcome"], e.get("count", 1)) for e in events] == [
        ("locked", 1),
        ("failure", 1),
        ("failure", 1),
        ("locked", 1000),
        ("locked", 1000),
    ]
    merged = events[-1]
    assert (merged["time"], merged["lastTime"]) == ("t0", "t999")  # the first and the last


def test_a_full_queue_drops_and_counts_instead_of_growing() -> None:
    async def run() -> tuple[int, int]:
        metrics = Metrics()
        audit = Audit(MemoryStore(), metrics, max_queued=10)
        for n in range(25):
            audit.add(event("failure", n))  # checks are never merged
        queued = audit.queued
        await audit.close()
        return queued, metrics.value("cognito_gate_events_dropped_total")

    assert asyncio.run(run()) == (10, 15)


def test_the_writer_waits_a_moment_so_a_stream_of_refusals_is_few_writes() -> None:
    # Refusals arriving one by one, the loop turning between them (as requests do): each write
    # of the store holds every refusal of the wait before it in one merged event.
    class Counting(MemoryStore):
        writes = 0

        async def add_events(self, events: Sequence[dict[str, Any]]) -> None:
            Counting.writes += 1
            await super().add_events(events)

    async def run() -> list[dict[str, object]]:
        store = Counting()
        audit = Audit(store, Metrics())
        for n in range(200):
            audit.add(event("locked", n))
            await asyncio.sleep(0)
        await asyncio.sleep(LINGER_SECONDS * 4)  # written without a flush
        assert audit.queued == 0
        return await store.events(None, 100)

    events = asyncio.run(run())
    assert sum(int(e.get("count", 1)) for e in events) == 200  # nothing lost
    assert Counting.writes == len(events) <= 2  # not one write per turn of the loop


def test_a_flush_does_not_wait_for_the_writers_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_module, "LINGER_SECONDS", 30.0)  # a wait no test would sit out

    async def run() -> tuple[int, float]:
        store = MemoryStore()
        audit = Audit(store, Metrics())
        audit.add(event("failure", 1))
        await asyncio.sleep(0)  # the writer has started its wait
        loop = asyncio.get_running_loop()
        started = loop.time()
        await audit.flush()
        return len(await store.events(None, 10)), loop.time() - started

    written, waited = asyncio.run(run())
    assert written == 1
    assert waited < 10  # woken, not timed out
