"""The gateway on AWS Lambda: ``cognito_gate.aws.handler(event, context)``.

Behind API Gateway (an HTTP API, payload 2.0, or a REST API, payload 1.0) or a function URL, with
settings from the environment as for ``serve`` (``COGNITO_GATE_USER_POOL_ID`` is required: the
embedded emulator has no place on Lambda).

Why a small adapter of our own rather than Mangum: the container is the unit of start-up, and
Mangum runs the application's lifespan (our start-up: reading the pool, checking the store, and
at shutdown closing it) around *every* invocation, with a loop it may create anew; switching its
lifespan off leaves the start-up to whoever calls first. What Lambda needs from an ASGI server
here is small (``events`` turns the three event shapes into one request and back), and owning it
lets us do the three things this gateway depends on:

- **once per container**: settings read, the Gate built, its lifespan started (the pool read,
  doctor's findings logged, the store reached) on the first invocation, on one event loop that
  lives as long as the container (``_loop``), so store connections and caches carry over;
- **the client address** from the event's ``sourceIp``, API Gateway being the proxy (see
  ``events``), never from a header the client wrote;
- **nothing left behind** when Lambda freezes the container after an answer: the audit events of
  the request are written before the handler returns.

No dependency is added; the ``aws`` extra stays empty (it names the use, and would carry one).
A start-up that fails (Cognito unreachable, a wrong pool id) answers 503 and is tried again on
the next invocation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from cognito_gate import errors as e
from cognito_gate.aws import events
from cognito_gate.aws._loop import LoopThread

logger = logging.getLogger("cognito_gate.aws")

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


@dataclass
class Served:
    """An application and what runs after each of its requests."""

    app: ASGIApp
    after: Callable[[], Awaitable[None]] | None = None


@dataclass
class _Container:
    served: Served
    started: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    lifespan: asyncio.Task[None] | None = None
    stopping: asyncio.Event | None = None
    lock: asyncio.Lock | None = None


class StartupFailed(Exception):
    """The application's lifespan startup failed."""


def _problem(status: int, code: str, message: str) -> tuple[int, events.Headers, bytes]:
    body = json.dumps({"error": code, "message": message}).encode()
    return status, [(b"content-type", b"application/json")], body


class LambdaAsgi:
    """An ASGI application as a Lambda handler: ``LambdaAsgi(factory)(event, context)``.

    ``factory`` builds the application once per container, on the first invocation.
    """

    def __init__(self, factory: Callable[[], Served], loop: LoopThread | None = None) -> None:
        self._factory = factory
        self._loop = loop or LoopThread("cognito-gate-lambda")
        self._container: _Container | None = None
        self._lock = threading.Lock()

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        request = events.parse(event)
        try:
            container = self._built()
        except e.GateError as exc:
            logger.error("cognito-gate cannot start: %s", exc.message)
            return events.response(request.version, *_problem(503, "unavailable", exc.message))
        status, headers, body = self._loop.run(self._invoke(container, request))
        return events.response(request.version, status, headers, body)

    def _built(self) -> _Container:
        with self._lock:
            if self._container is None:
                self._container = _Container(self._factory())
            return self._container

    async def _invoke(
        self, container: _Container, request: events.HttpRequest
    ) -> tuple[int, events.Headers, bytes]:
        try:
            await self._start(container)
        except StartupFailed as exc:
            logger.error("cognito-gate start-up failed: %s", exc)
            return _problem(503, "unavailable", "The service is unavailable; try again shortly.")
        try:
            return await self._request(container, request)
        finally:
            if container.served.after is not None:
                await container.served.after()

    # -- lifespan: once per container ------------------------------------------------------------

    async def _start(self, container: _Container) -> None:
        if container.started:
            return
        if container.lock is None:
            container.lock = asyncio.Lock()
        async with container.lock:
            if container.started:
                return
            await self._run_lifespan(container)
            container.started = True

    async def _run_lifespan(self, container: _Container) -> None:
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()
        stopping = asyncio.Event()
        asked = False

        async def receive() -> Message:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "lifespan.startup"}
            await stopping.wait()
            return {"type": "lifespan.shutdown"}

        async def send(message: Message) -> None:
            if started.done():
                return
            if message["type"] == "lifespan.startup.complete":
                started.set_result(None)
            elif message["type"] == "lifespan.startup.failed":
                started.set_exception(StartupFailed(str(message.get("message") or "")))

        async def run() -> None:
            scope = {
                "type": "lifespan",
                "asgi": {"version": "3.0", "spec_version": "2.3"},
                "state": container.state,
            }
            try:
                await container.served.app(scope, receive, send)
            except BaseException as exc:
                if not started.done():
                    started.set_exception(StartupFailed(str(exc) or type(exc).__name__))
                if not isinstance(exc, Exception):
                    raise
            else:
                if not started.done():  # an application without lifespan support
                    started.set_result(None)

        task = loop.create_task(run())
        await started
        container.lifespan, container.stopping = task, stopping

    # -- one request -------------------------------------------------------------------------------

    async def _request(
        self, container: _Container, request: events.HttpRequest
    ) -> tuple[int, events.Headers, bytes]:
        scope = request.scope()
        scope["state"] = dict(container.state)
        answered = asyncio.Event()
        given = False
        status: int | None = None
        headers: events.Headers = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body"):
                    answered.set()

        try:
            await container.served.app(scope, receive, send)
        except Exception:
            logger.exception("cognito-gate: unhandled error")
            if status is None or not answered.is_set():
                return _problem(500, "error", "Something went wrong.")
        finally:
            answered.set()
        if status is None:
            return _problem(500, "error", "Something went wrong.")
        return status, headers, b"".join(chunks)

    def close(self) -> None:
        """End the lifespan (the app's shutdown: store closed) and stop the loop (tests)."""
        with self._lock:
            container, self._container = self._container, None
        if container is not None and container.stopping is not None:
            task, stopping = container.lifespan, container.stopping

            async def stop() -> None:
                stopping.set()
                if task is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, timeout=10)

            self._loop.run(stop())
        self._loop.stop()


def gateway() -> Served:
    """The gateway of the environment's settings (a configured pool), for Lambda."""
    from cognito_gate.config import load_settings
    from cognito_gate.gate import Gate
    from cognito_gate.server.app import create_app

    settings = load_settings()
    if settings.embedded:
        raise e.ConfigError(
            "COGNITO_GATE_USER_POOL_ID: required on AWS Lambda (the embedded emulator runs only"
            " with `cognito-gate serve`)"
        )
    gate = Gate.from_settings(settings)

    async def flush() -> None:
        # Lambda freezes the container once the answer is returned: write the audit events now.
        with contextlib.suppress(e.StoreUnavailable):
            await gate.audit.flush()

    return Served(create_app(gate=gate), flush)


_DEFAULT = LambdaAsgi(gateway)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The AWS Lambda handler ``cognito_gate.aws.handler``."""
    return _DEFAULT(event, context)
