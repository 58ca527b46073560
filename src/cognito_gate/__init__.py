"""cognito-gate: a login gateway for AWS Cognito with a lockout policy you configure.

The gateway (``cognito_gate.server``), its engine (:class:`Gate`), the client half
(``cognito_gate.client``) and a Cognito JWT verifier (``cognito_gate.verify``).
"""

from cognito_gate.config import Settings, load_settings
from cognito_gate.errors import GateError

__version__ = "0.1.0"

__all__ = ["GateError", "Settings", "__version__", "load_settings"]
