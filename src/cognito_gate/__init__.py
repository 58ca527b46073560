"""cognito-gate: a login gateway for AWS Cognito with a lockout policy you configure.

The gateway (``cognito_gate.server``), its engine (:class:`Gate`), the client half
(``cognito_gate.client``) and a Cognito JWT verifier (``cognito_gate.verify``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cognito_gate.config import Settings, load_settings
from cognito_gate.errors import GateError

if TYPE_CHECKING:
    from cognito_gate.gate import Gate

__version__ = "0.1.0"

__all__ = ["Gate", "GateError", "Settings", "__version__", "load_settings"]


def __getattr__(name: str) -> Any:
    # The gate pulls in boto3; the client half and the verifier should not pay for it.
    if name == "Gate":
        from cognito_gate.gate import Gate

        return Gate
    raise AttributeError(f"module 'cognito_gate' has no attribute {name!r}")
