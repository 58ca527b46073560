"""The audit log's writer: off the request path, batched, bounded, refusals merged while queued."""

from __future__ import annotations

import asyncio

from cognito_gate.audit import Audit
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
