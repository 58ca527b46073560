"""Tokens already verified, so a token presented again costs a dict lookup instead of RSA.

Keyed by the exact token string: the same bytes always get the same answer. What is stored is
the claims and the window ``[valid_from, valid_until)`` the checks allowed, and that window is
checked against the clock on every hit, so an expired token is refused however recently it was
verified. The bound evicts the least recently used token.

A token is first stored as its payload's JSON bytes (one object), and parsed into a dict on its
first hit, which the hits after it copy. Most of the cost of caching a token is memory traffic:
with parsed dicts (some thirty objects a token) a full cache made every miss about 15 % slower
in benchmarks/verify.py, as each eviction touched memory long gone from the CPU's caches; with
one bytes object for a token seen once, about half of that remains (some 2 µs of dict work).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from contextlib import suppress
from typing import Any

DEFAULT_CACHE_SIZE = 10_000

_Entry = tuple[dict[str, Any] | bytes, float, float]


class VerifiedTokenCache:
    """A bounded LRU of verified tokens; every operation is one GIL-atomic step or tolerant."""

    def __init__(
        self, max_size: int = DEFAULT_CACHE_SIZE, *, parse: Callable[[bytes], dict[str, Any]]
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size = max_size
        self._parse = parse
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._get = self._entries.get
        self._touch = self._entries.move_to_end

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, clock: Callable[[], float]) -> dict[str, Any] | None:
        """The claims of ``token`` (the cache's own dict: copy it before handing it out) if it
        was verified and the clock (read only for a known token) is inside its window."""
        entry = self._get(token)
        if entry is None:
            return None
        claims, valid_from, valid_until = entry
        if valid_from <= clock() < valid_until:
            if isinstance(claims, bytes):  # its first hit: parse once for the hits to come
                claims = self._parse(claims)
                self._entries[token] = (claims, valid_from, valid_until)
            with suppress(KeyError):  # evicted by another thread just now; the answer stands
                self._touch(token)
            return claims
        self._entries.pop(token, None)  # out of its window: verify afresh, to say why
        return None

    def put(self, token: str, payload: bytes, valid_from: float, valid_until: float) -> None:
        """Remember a verified token by its payload JSON; evict the least recently used."""
        entries = self._entries
        entries[token] = (payload, valid_from, valid_until)
        while len(entries) > self.max_size:
            try:
                entries.popitem(last=False)
            except KeyError:  # emptied by other threads meanwhile
                break

    def clear(self) -> None:
        """Forget every token."""
        self._entries.clear()
