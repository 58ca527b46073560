"""A few counters, rendered in Prometheus' text format (no dependency needed for that)."""

from __future__ import annotations

import threading
from collections import Counter

_HELP = {
    "cognito_gate_login_attempts_total": "Login and challenge attempts by outcome.",
    "cognito_gate_lockouts_total": "Lockouts started, by kind (account or address).",
    "cognito_gate_refreshes_total": "Token refreshes by outcome.",
    "cognito_gate_cognito_errors_total": "Cognito calls that failed, by gateway error code.",
    "cognito_gate_devices_total": "New devices the gateway confirmed for clients, by outcome.",
}


class Metrics:
    """Thread-safe counters keyed by (name, sorted labels)."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self._lock = threading.Lock()

    def inc(self, name: str, **labels: str) -> None:
        """Add one to ``name`` with ``labels``."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counts[key] += 1

    def value(self, name: str, **labels: str) -> int:
        """The current count (for tests and the status page)."""
        with self._lock:
            return self._counts[(name, tuple(sorted(labels.items())))]

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        with self._lock:
            items = sorted(self._counts.items())
        lines: list[str] = []
        for name, help_text in _HELP.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            for (metric, labels), count in items:
                if metric != name:
                    continue
                rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                lines.append(f"{name}{{{rendered}}} {count}" if rendered else f"{name} {count}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
