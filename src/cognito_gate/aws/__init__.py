"""cognito-gate on AWS Lambda: the gateway, and the same lock inside Cognito.

- ``cognito_gate.aws.handler``: the gateway behind API Gateway (HTTP or REST API) or a function URL.
- ``cognito_gate.aws.pre_authentication`` / ``post_authentication``: Cognito triggers that hold
  clients signing in to Cognito directly to the same policy, in the same store.

Importing this package loads neither FastAPI (the HTTP handler loads it on its first invocation,
so the triggers' functions start small) nor the emulator.
"""

from cognito_gate.aws.handler import handler
from cognito_gate.aws.triggers import post_authentication, pre_authentication

__all__ = ["handler", "post_authentication", "pre_authentication"]
