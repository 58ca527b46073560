"""``GET /dev/codes``: the confirmation and reset codes the embedded emulator has "sent".

Mounted by :func:`cognito_gate.server.app.create_app` only when the gateway runs its own emulator
(the embedded default): on a real pool Cognito sends the codes, and this route does not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from cognito_gate.cognito.local_codes import MAILBOX
from cognito_gate.gate import Gate
from cognito_gate.server.problems import GateRoute


def dev_router(gate: Gate) -> APIRouter:
    """``GET /dev/codes?username=`` lists the codes sent in the gate's pool, newest first."""
    router = APIRouter(prefix="/dev", route_class=GateRoute, tags=["embedded default"])

    @router.get("/codes")
    async def codes(
        username: str | None = None, limit: int = Query(20, ge=1, le=200)
    ) -> dict[str, Any]:
        await gate.start()
        wanted = None
        if username:
            account = await gate.identity.account(username)
            wanted = gate.identity.fold(account.username or account.name)
        sent = [
            d.to_json()
            for d in MAILBOX.delivered(gate.idp.user_pool_id)
            if wanted is None or gate.identity.fold(d.username) == wanted
        ]
        return {"codes": sent[:limit]}

    return router
