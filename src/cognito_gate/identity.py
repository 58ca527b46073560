"""Which account a name reaches: the name as written, the account behind it, and the store keys.

The lock belongs to the Cognito account, not to the string typed (SPEC "Policy semantics"):

- a name is cleaned (surrounding whitespace trimmed, Unicode NFC) and sent to Cognito as written;
- where the pool lets one account be reached by several names (``UsernameAttributes``: sign-in
  with an email or phone; ``AliasAttributes``: a verified email or phone, ``preferred_username``),
  and where SECRET_HASH needs the account's own username (a client with a secret), the name is
  resolved with ``AdminGetUser`` before anything is reserved, and everything is keyed on the
  account's username;
- a name that reaches no account is keyed on itself; on a case-insensitive pool every key is
  lower-cased, as Cognito compares names (lower-cased, not case-folded: ``straße`` is not
  ``strasse``), so ``Alice`` and ``alice`` share one counter;
- pools with one name per account and no client secret make no extra call.

Resolutions are cached for :data:`RESOLVE_TTL` seconds (at most :data:`RESOLVE_CACHE` names). A
cached answer can be stale only when a name moves to another account (an alias or email given to
another user, an account deleted and created again) within that time; the password check itself
still goes to Cognito with the name as written, so a stale answer can never let a login through:
it can only count one failure against the account the name reached a moment ago. Admin commands
resolve without the cache.

Store keys carry the user pool id, so two pools never share a counter::

    {pool}\\x1fuser\\x1f{account}            the account: counters in ``user`` scope, admin lock
    {pool}\\x1fcode\\x1f{account}            its wrong confirmation/reset codes (same shapes)
    {pool}\\x1fuser\\x1f{account}\\x1f{ip}     the counters in ``user+ip`` scope
    {pool}\\x1faddr\\x1f{ip}                  the per-address throttle
    {pool}\\x1fadmin-addr\\x1f{ip}            failed admin requests from an address
"""

from __future__ import annotations

import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cognito_gate import errors as e
from cognito_gate.cognito.idp import CognitoError, CognitoIdp

SEP = "\x1f"
MAX_USERNAME = 128
#: How long a resolved name is trusted, in seconds, and how many are kept.
RESOLVE_TTL = 30.0
RESOLVE_CACHE = 10_000


@dataclass(frozen=True)
class Account:
    """One name, as typed and as the account it reaches."""

    name: str  # trimmed, NFC: what Cognito is sent
    key: str  # whom the store counts: the account's username, or the name itself when unknown
    username: str | None  # the account's Cognito username when resolved (None: not asked, unknown)


@dataclass(frozen=True)
class SignInNames:
    """How a pool lets its users sign in, read from DescribeUserPool."""

    case_sensitive: bool = True
    username_attributes: tuple[str, ...] = ()
    alias_attributes: tuple[str, ...] = ()

    @classmethod
    def of(cls, pool: dict[str, Any]) -> SignInNames:
        """The pool's sign-in names (``CaseSensitive`` defaults to true, as in Cognito's API)."""
        return cls(
            case_sensitive=bool(
                (pool.get("UsernameConfiguration") or {}).get("CaseSensitive", True)
            ),
            username_attributes=tuple(pool.get("UsernameAttributes") or ()),
            alias_attributes=tuple(pool.get("AliasAttributes") or ()),
        )

    @property
    def several(self) -> bool:
        """True when one account can be reached by more than one name."""
        return bool(self.username_attributes or self.alias_attributes)

    def describe(self) -> str:
        """``username (case-insensitive), email (alias)``: what users may type."""
        parts = []
        if self.username_attributes:
            parts += [f"{a} (as the username)" for a in self.username_attributes]
            parts.append("the generated username")
        else:
            parts.append("username")
        parts += [f"{a} (alias)" for a in self.alias_attributes]
        case = "case-sensitive" if self.case_sensitive else "case-insensitive"
        return f"{', '.join(parts)}; {case}"


def clean(typed: str) -> str:
    """Trim and NFC-normalise a name; refuse empty, overlong and control-character names."""
    name = unicodedata.normalize("NFC", typed.strip())
    if not name or len(name) > MAX_USERNAME:
        raise e.InvalidRequest(f"username must be 1 to {MAX_USERNAME} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in name):
        raise e.InvalidRequest("username contains control characters")
    return name


class Identity:
    """Names to accounts and accounts to store keys, for one user pool."""

    def __init__(
        self,
        idp: CognitoIdp,
        names: SignInNames | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = RESOLVE_TTL,
        size: int = RESOLVE_CACHE,
    ) -> None:
        self.idp = idp
        self.pool_id = idp.user_pool_id
        self.names = names or SignInNames()
        self._clock = clock
        self._ttl = ttl
        self._size = size
        self._cache: OrderedDict[str, tuple[str | None, float]] = OrderedDict()

    @property
    def resolves(self) -> bool:
        """Whether a name is looked up at Cognito before its attempt is reserved."""
        return self.names.several or self.idp.has_secret

    def fold(self, name: str) -> str:
        """A name as the pool compares it."""
        return name if self.names.case_sensitive else name.lower()

    async def account(self, typed: str, *, fresh: bool = False) -> Account:
        """The account ``typed`` reaches. Raises InvalidRequest for a malformed name and an
        Unavailable error when Cognito cannot say (nothing is counted then)."""
        name = clean(typed)
        if not self.resolves:
            return Account(name, self.fold(name), None)
        username = await self._resolve(name, fresh)
        return Account(name, self.fold(username or name), username)

    def account_of(self, username: str) -> Account:
        """The account of a username Cognito issued (``cognito:username``): no lookup needed."""
        return Account(username, self.fold(username), username)

    async def _resolve(self, name: str, fresh: bool) -> str | None:
        now = self._clock()
        hit = None if fresh else self._cache.get(name)
        if hit is not None and hit[1] > now:
            self._cache.move_to_end(name)
            return hit[0]
        try:
            username = await self.idp.internal_username(name)
        except CognitoError as err:
            if isinstance(err.error, e.Unavailable):
                raise err.error from None
            # Anything else (no permission for AdminGetUser, say) leaves the gateway unable to
            # tell accounts apart: fail closed, loudly, rather than count under the wrong key.
            raise e.CognitoUnavailable(
                "Cannot resolve the account (cognito-idp:AdminGetUser)."
            ) from None
        self._cache[name] = (username, now + self._ttl)
        self._cache.move_to_end(name)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return username

    # -- store keys ---------------------------------------------------------------------------------

    def user_key(self, account: Account, space: str = "user") -> str:
        """The account's own record in ``space``: its counters in ``user`` scope, and always its
        locks. Passwords count in ``user``; another kind of secret (a confirmation or reset
        code) counts in a space of its own, with the same shape."""
        return f"{self.pool_id}{SEP}{space}{SEP}{account.key}"

    def counter_key(self, account: Account, ip: str, scope: str, space: str = "user") -> str:
        """Where the account's failures are counted in ``scope`` (``user`` or ``user+ip``)."""
        if scope == "user+ip":
            return f"{self.user_key(account, space)}{SEP}{ip}"
        return self.user_key(account, space)

    def address_key(self, ip: str) -> str:
        """The per-address throttle's record."""
        return f"{self.pool_id}{SEP}addr{SEP}{ip}"

    def admin_address_key(self, ip: str) -> str:
        """The throttle on an address's failed admin requests (a missing or wrong token)."""
        return f"{self.pool_id}{SEP}admin-addr{SEP}{ip}"
