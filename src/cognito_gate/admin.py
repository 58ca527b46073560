"""Administration: an account's status, an admin lock (which also signs it out at Cognito), unlock,
and the audit log; by any name of the account (resolved without the cache)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from cognito_gate import errors as e
from cognito_gate.answers import AccountStatus
from cognito_gate.cognito.idp import CognitoError
from cognito_gate.gate import Gate
from cognito_gate.identity import SEP, Account
from cognito_gate.policy import AccountState
from cognito_gate.stores import update

logger = logging.getLogger("cognito_gate.admin")


class Admin:
    """What an operator does to accounts, on a gate's store and pool."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    async def _account(self, username: str) -> Account:
        await self.gate.start()
        return await self.gate.identity.account(username, fresh=True)

    async def _keys(self, account: Account) -> list[str]:
        base = self.gate.identity.user_key(account)
        return [base, *await self.gate.store.keys(base + SEP)]

    async def status(self, username: str) -> AccountStatus | None:
        """The account's state (summed over addresses in ``user+ip`` scope), None if unknown."""
        account = await self._account(username)
        policy = self.gate.guard.policy
        now = self.gate.clock()
        states = []
        for key in await self._keys(account):
            record = await self.gate.store.load(key)
            if record is not None:
                states.append(policy.current(record.state, now))
        if not states:
            return None
        until = [s.locked_until for s in states if s.locked_until and s.locked_until > now]
        return AccountStatus(
            username=account.key,
            failures=sum(len(s.failures) for s in states),
            locked_until=max(until) if until else None,
            lockouts=max(s.lockouts for s in states),
            permanent=any(s.permanent for s in states),
            admin_locked=any(s.admin_locked for s in states),
        )

    async def unlock(self, username: str) -> None:
        """Clear failures, lockouts and locks (every address too). Sessions ended by the lock's
        sign-out stay ended: the user logs in again."""
        account = await self._account(username)
        expires = self.gate.guard.policy.expires_at
        for key in await self._keys(account):
            await update(self.gate.store, key, lambda s: (None, AccountState()), expires)
        logger.info("account unlocked by an admin: user=%s", account.key)
        self.gate.guard.event("unlock", account, None, "success")

    async def lock(self, username: str) -> None:
        """Refuse login and refresh until an admin unlocks; unless ``LOCK_SIGNS_OUT`` is false,
        also sign the account out at Cognito, so no refresh token of it works anywhere.

        The lock is recorded first: if Cognito cannot be reached for the sign-out, the lock
        holds at the gateway and the error (503) says to run it again.
        """
        account = await self._account(username)
        await update(
            self.gate.store,
            self.gate.identity.user_key(account),
            lambda s: (None, replace(s, admin_locked=True)),
            self.gate.guard.policy.expires_at,
        )
        logger.info("account locked by an admin: user=%s", account.key)
        signed_out = False
        if self.gate.settings.lock_signs_out:
            try:
                signed_out = await self.gate.idp.admin_sign_out(account.username or account.name)
            except CognitoError as err:
                logger.error(
                    "account locked, but the sign-out at Cognito failed (%s): lock it again",
                    err.code or err.error.code,
                )
                self.gate.guard.event("lock", account, None, "success", signedOut=False)
                raise e.CognitoUnavailable(
                    "The account is locked at the gateway, but Cognito could not sign it out;"
                    " lock it again."
                ) from None
        self.gate.guard.event("lock", account, None, "success", signedOut=signed_out)

    async def events(self, username: str | None, limit: int) -> list[dict[str, Any]]:
        """Recent auth events, newest first (the queued ones written first)."""
        await self.gate.audit.flush()
        if not username:
            return await self.gate.store.events(None, limit)
        account = await self._account(username)
        return await self.gate.store.events(account.key, limit)
