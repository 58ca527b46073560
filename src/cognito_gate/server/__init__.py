"""The HTTP side: ``create_app`` for a whole gateway, ``gate_router`` to mount in your own app."""

from cognito_gate.server.app import create_app
from cognito_gate.server.cognito_proxy import cognito_proxy_router
from cognito_gate.server.routes import admin_router, auth_router, gate_router, ops_router

__all__ = [
    "admin_router",
    "auth_router",
    "cognito_proxy_router",
    "create_app",
    "gate_router",
    "ops_router",
]
