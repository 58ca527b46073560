"""No secret in any log of the whole run: every record our side logs, and the output of every
``cognito-gate serve`` process the tests start, scanned for the secrets the tests use.

What is scanned:

- every log record of the loggers named in :data:`SCANNED` (``cognito_gate.*``, ``uvicorn.*``,
  ``botocore.*``), as it is emitted (a handler on the root logger at DEBUG, installed when the
  session starts; ``cognito_gate`` and ``botocore`` are set to DEBUG for the whole run, so that
  every record they can write is written; uvicorn's own logging configuration stops its records
  from propagating, so the handler is attached to its loggers too, each time uvicorn configures
  them). These are the loggers of the gateway's process: its own code, the server it runs in, and
  the library every Cognito call goes through (which logs request and response bodies at DEBUG
  unless the gateway's filter drops them). moto's and werkzeug's loggers are not scanned: they
  are the emulator's, standing in for Cognito, which receives passwords by design (werkzeug logs
  request paths and moto may log what it was sent);
- the output (stdout and stderr) of the ``serve`` processes started through ``tests/processes.py``
  and ``tests/replicas``, except the two start-up summary lines in which the embedded default
  shows its demo user's default password (SPEC: ``serve`` "prints ... a demo user to log in
  with").

What counts as a leak:

- any of the tests' passwords: every string containing ``passw0rd`` (the suite's convention for
  passwords), and whatever :func:`register_secret` was given (the admin token, client secrets of
  the pools the fixtures make, other secrets; register a value before it can be logged);
- any JWT (``eyJ...``.``eyJ...``.``...``), whoever issued it;
- any refresh token or client secret the session's emulator issued (moto makes both UUIDs; the
  UUIDs seen in the logs are compared with moto's records once the run ends).

The run fails at the end (``pytest_sessionfinish`` in ``tests/conftest.py``) with one line per
leak: what leaked (redacted), and where.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The loggers that must be clean: the gateway's own, its server's, and botocore's.
SCANNED = ("cognito_gate", "uvicorn", "botocore")
#: The loggers set to DEBUG for the whole run (uvicorn keeps the level each server asks for).
DEBUG_LOGGERS = ("cognito_gate", "botocore")
JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
#: The suite's convention: every password a test types contains ``passw0rd``.
PASSWORD = re.compile(r"[\w!@#$%^&*+=.-]*passw0rd[\w!@#$%^&*+=.-]*")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: The embedded default's start-up summary shows its default demo password, by design.
SUMMARY_LINES = re.compile(
    r"^ {2}demo user {4}: \S+ / Demo-passw0rd!$"
    r"|^ {7}-d '\{\"username\": \"demo\", \"password\": \"Demo-passw0rd!\"\}'$",
    re.MULTILINE,
)
#: Values registered shorter than this are not scanned for (they would match ordinary text).
MIN_LENGTH = 6


def redact(value: str) -> str:
    """Enough of a secret to recognise it in the test code, not enough to use it."""
    return f"{value[:4]}... ({len(value)} characters)"


@dataclass(frozen=True)
class Leak:
    """One secret found: what it was (redacted), where, and the line it was in (redacted)."""

    what: str
    where: str
    line: str

    def __str__(self) -> str:
        return f"{self.what} in {self.where}: {self.line}"


class LeakWatch(logging.Handler):
    """Scans the records of :data:`SCANNED` as they are emitted, and any text it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self._secrets: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        #: Registered secrets shaped as UUIDs (client secrets): checked with the UUIDs seen.
        self._uuid_secrets: dict[str, str] = {}
        self._guard = threading.Lock()
        self.leaks: list[Leak] = []
        self._reported: set[tuple[str, str]] = set()
        self.records = 0
        self.outputs = 0
        #: UUIDs seen (the first place each was seen), compared with the emulator's at the end.
        self.uuids: dict[str, tuple[str, str]] = {}

    # -- what to look for ------------------------------------------------------------------------

    def register(self, value: str | None, what: str) -> None:
        if not value or len(value) < MIN_LENGTH:
            return
        with self._guard:
            if UUID.fullmatch(value):  # many of these: compared at the end, not searched for
                self._uuid_secrets[value] = what
                return
            if value in self._secrets:
                return
            self._secrets[value] = what
            alternatives = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in alternatives))

    # -- where to look -----------------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        name = record.name
        if not any(name == s or name.startswith(s + ".") for s in SCANNED):
            return
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted has printed nothing either
            return
        self.records += 1
        self.scan(text, f"a log record of {name} ({record.levelname})")

    def scan_output(self, text: str, where: str) -> None:
        """A ``serve`` process's output (less the start-up summary's demo password)."""
        self.outputs += 1
        self.scan(SUMMARY_LINES.sub("", text), where)

    def scan(self, text: str, where: str) -> None:
        if not text:
            return
        found: list[tuple[str, str]] = [(m.group(), "a JWT") for m in JWT.finditer(text)]
        found += [(m.group(), "a password") for m in PASSWORD.finditer(text)]
        pattern = self._pattern
        if pattern is not None:
            found += [(m.group(), self._secrets[m.group()]) for m in pattern.finditer(text)]
        uuids = [(m.group(), m.start()) for m in UUID.finditer(text)]
        with self._guard:
            for value, start in uuids:
                if value not in self.uuids:
                    self.uuids[value] = (where, _line_of(text, start))
            for value, what in found:
                self._add(value, what, where, _line_of(text, text.find(value)))

    def _add(self, value: str, what: str, where: str, line: str) -> None:
        if (value, where) in self._reported or len(self.leaks) >= 1000:
            return  # once per secret and place is enough
        self._reported.add((value, where))
        self.leaks.append(Leak(f"{what} {redact(value)}", where, _redacted(line, value)))

    # -- the end of the run --------------------------------------------------------------------------

    def finish(self, issued: dict[str, str]) -> list[Leak]:
        """Every leak found, with the UUIDs seen that were registered or that the emulator
        issued as secrets."""
        with self._guard:
            secrets = {**issued, **self._uuid_secrets}
            for value, (where, line) in self.uuids.items():
                if value in secrets:
                    self._add(value, secrets[value], where, line)
            return list(self.leaks)


def _line_of(text: str, index: int) -> str:
    start = text.rfind("\n", 0, max(index, 0)) + 1
    end = text.find("\n", index)
    return text[start : end if end >= 0 else len(text)][:300]


def _redacted(line: str, value: str) -> str:
    line = line.replace(value, "[REDACTED]")
    line = JWT.sub("[JWT]", line)
    return PASSWORD.sub("[PASSWORD]", line)


#: The session's one watch (tests/conftest.py installs it).
WATCH = LeakWatch()


def register_secret(value: str | None, what: str = "a registered secret") -> None:
    """Make the end-of-run check look for ``value`` in every log (before it can be logged)."""
    WATCH.register(value, what)


def scan_output(path: Path, what: str) -> None:
    """Scan a ``serve`` process's output file (if it is still there)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return
    WATCH.scan_output(text, f"the output of {what}")


def emulator_secrets() -> dict[str, str]:
    """The client secrets and refresh tokens this process's emulator (moto) has issued."""
    try:
        from moto.cognitoidp.models import cognitoidp_backends
    except ImportError:  # pragma: no cover - the emulator is a dev dependency
        return {}
    issued: dict[str, str] = {}
    for account in cognitoidp_backends.values():
        for region, backend in account.items():
            if region == "global":
                continue
            for pool in backend.user_pools.values():
                for client in pool.clients.values():
                    if client.generate_secret:
                        issued[client.secret] = "an app client's secret"
                for token in pool.refresh_tokens:
                    issued[token] = "a refresh token"
    return issued


# -- installing it for a run ---------------------------------------------------------------------


_uvicorn_configure: Callable[..., Any] | None = None


def install() -> None:
    """The root handler, DEBUG on the gateway's loggers, and uvicorn's loggers followed."""
    logging.getLogger().addHandler(WATCH)
    for name in DEBUG_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    _attach_to_uvicorn()
    global _uvicorn_configure
    try:
        from uvicorn.config import Config
    except ImportError:  # pragma: no cover
        return
    if _uvicorn_configure is None:
        original: Callable[..., Any] = Config.configure_logging
        _uvicorn_configure = original

        def configure_logging(self: Any) -> None:
            original(self)
            _attach_to_uvicorn()

        Config.configure_logging = configure_logging  # type: ignore[method-assign]


def _attach_to_uvicorn() -> None:
    """uvicorn's logging configuration sets ``propagate: False`` on its loggers: follow them."""
    for name in ("uvicorn", "uvicorn.access"):
        log = logging.getLogger(name)
        if not log.propagate and WATCH not in log.handlers:
            log.addHandler(WATCH)


def uninstall() -> None:
    logging.getLogger().removeHandler(WATCH)
    for name in ("uvicorn", "uvicorn.access"):
        logging.getLogger(name).removeHandler(WATCH)
    global _uvicorn_configure
    if _uvicorn_configure is not None:
        from uvicorn.config import Config

        Config.configure_logging = _uvicorn_configure  # type: ignore[method-assign]
        _uvicorn_configure = None


def report(leaks: list[Leak]) -> Iterator[str]:
    """The lines the run ends with when something leaked."""
    yield f"{len(leaks)} secret(s) found in the logs of this run (see tests/leaks.py):"
    for leak in leaks[:50]:
        yield f"  {leak}"
    if len(leaks) > 50:
        yield f"  ... and {len(leaks) - 50} more"
