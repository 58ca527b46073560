"""A live gateway whose every request body is kept, to assert on what the gateway receives."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from cognito_gate.cognito.local import LocalPool
from cognito_gate.gate import Gate
from tests.conftest import _free_port, make_gate

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


@dataclass
class Received:
    """One request as the gateway's app received it."""

    method: str
    path: str
    body: bytes


@dataclass
class Capture:
    """ASGI middleware: keeps each HTTP request's method, path and body, then passes it on."""

    app: Any
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Kept before the app can answer, the body filled in as it arrives: a client never sees
        # an answer before its request is here.
        received = Received(scope["method"], scope["path"], b"")
        with self.lock:
            self.requests.append(received)

        async def reading() -> Message:
            message: Message = await receive()
            if message["type"] == "http.request":
                with self.lock:
                    received.body += message.get("body", b"")
            return message

        await self.app(scope, reading, send)

    def bodies(self, path: str | None = None) -> list[bytes]:
        """The bodies received (at ``path`` only, when given), in order."""
        with self.lock:
            return [r.body for r in self.requests if path is None or r.path == path]

    def saw(self, text: str) -> bool:
        """True when ``text`` was in any request the gateway received (path or body)."""
        needle = text.encode()
        with self.lock:
            return any(needle in r.body or needle in r.path.encode() for r in self.requests)


@dataclass
class CapturedGateway:
    """A gateway served by uvicorn on a free loopback port, everything it receives kept."""

    url: str
    gate: Gate
    pool: LocalPool
    capture: Capture


@contextmanager
def captured_gateway(pool: LocalPool, **overrides: Any) -> Iterator[CapturedGateway]:
    """Serve a gateway in front of ``pool`` (stopped on exit)."""
    from cognito_gate.server.app import create_app

    gate = make_gate(pool, None, **overrides)
    capture = Capture(create_app(gate=gate))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(capture, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    try:
        yield CapturedGateway(f"http://127.0.0.1:{port}", gate, pool, capture)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
