"""CognitoAuth: an ``httpx.Auth`` that sends the user's token and keeps it fresh.

As httpx's own auth classes, the flow is one generator, :meth:`CognitoAuth.flow`, that does no I/O:
it yields the request to send, or a :class:`NeedSession` when it needs tokens. The sync and the
async drivers answer a :class:`NeedSession` with ``get_session`` / ``aget_session`` (where the
locking and sharing of refreshes lives) and send the requests.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from typing import Literal

import httpx

from cognito_gate.client.session import CognitoUserSession
from cognito_gate.client.user import CognitoUser


@dataclass(frozen=True)
class NeedSession:
    """The flow wants a valid session; ``rejected`` is the token a server just refused."""

    min_ttl: float
    rejected: str | None = None


Step = httpx.Request | NeedSession
Flow = Generator[Step, httpx.Response | CognitoUserSession, None]


class CognitoAuth(httpx.Auth):
    """Bearer auth from a :class:`CognitoUser`, for ``httpx.Client`` and ``httpx.AsyncClient``.

    Each request gets ``Authorization: Bearer <access token>`` (``token="id"`` sends the ID token).
    Tokens with less than ``refresh_margin`` seconds left are refreshed first; a 401 answer is
    retried once after a refresh (shared with every other caller that met the same token).
    """

    requires_request_body = True  # a retried request must be sent with its body again

    def __init__(
        self,
        user: CognitoUser,
        *,
        token: Literal["access", "id"] = "access",
        refresh_margin: float = 60.0,
        retry_on_401: bool = True,
    ) -> None:
        self.user = user
        self.token = token
        self.refresh_margin = refresh_margin
        self.retry_on_401 = retry_on_401

    def _token(self, session: CognitoUserSession) -> str:
        return (session.id_token if self.token == "id" else session.access_token).jwt_token

    def flow(self, request: httpx.Request) -> Flow:
        """The auth flow without I/O: yields requests and :class:`NeedSession` steps."""
        session = yield NeedSession(self.refresh_margin)
        assert isinstance(session, CognitoUserSession)
        request.headers["Authorization"] = f"Bearer {self._token(session)}"
        response = yield request
        assert isinstance(response, httpx.Response)
        if response.status_code != 401 or not self.retry_on_401:
            return
        session = yield NeedSession(self.refresh_margin, rejected=session.access_token.jwt_token)
        assert isinstance(session, CognitoUserSession)
        request.headers["Authorization"] = f"Bearer {self._token(session)}"
        yield request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # httpx calls sync_auth_flow or async_auth_flow; this one cannot fetch tokens by itself.
        raise RuntimeError("CognitoAuth works through httpx.Client or httpx.AsyncClient")

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        flow = self.flow(request)
        step = next(flow)
        try:
            while True:
                if isinstance(step, NeedSession):
                    if step.rejected is None:
                        session = self.user.get_session(min_ttl=step.min_ttl)
                    else:
                        session = self.user.refresh_rejected(step.rejected, min_ttl=step.min_ttl)
                    step = flow.send(session)
                else:
                    response = yield step
                    step = flow.send(response)
        except StopIteration:
            return

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        flow = self.flow(request)
        step = next(flow)
        try:
            while True:
                if isinstance(step, NeedSession):
                    if step.rejected is None:
                        session = await self.user.aget_session(min_ttl=step.min_ttl)
                    else:
                        session = await self.user.arefresh_rejected(
                            step.rejected, min_ttl=step.min_ttl
                        )
                    step = flow.send(session)
                else:
                    response = yield step
                    step = flow.send(response)
        except StopIteration:
            return

    def __repr__(self) -> str:
        return f"CognitoAuth(user={self.user!r}, token={self.token!r})"
