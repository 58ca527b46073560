"""Who is the client: the peer, or, behind trusted proxies, the right-most untrusted
``X-Forwarded-For`` address; IPv6 clients grouped by network (SPEC "The address is the client's").

Nothing else may rewrite the address first: ``cognito-gate serve`` runs uvicorn with its own
forwarded-header handling off, so that a forged header from an untrusted peer changes nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from cognito_gate.config import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: The one bucket of every peer that is not an IP address (a Unix socket, a test client's name).
UNKNOWN = "unknown"


def parse_address(text: str) -> Address | None:
    """An address from ``1.2.3.4``, ``1.2.3.4:80``, ``::1``, ``[::1]:80``; None if not one.
    An IPv4-mapped IPv6 address is its IPv4 address."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(
    peer: str | None,
    forwarded_for: Sequence[str] | str | None,
    trusted: Sequence[Network],
    ipv6_prefix: int = 64,
) -> str:
    """The address to count attempts against.

    ``forwarded_for`` is every ``X-Forwarded-For`` header line, in order; they are read as one
    list. It is believed only when the peer is a trusted proxy; then the client is the right-most
    address that is not itself a trusted proxy (the left-most, if all are). An entry that is not
    an address there ends the walk as the one unknown bucket. IPv6 clients are counted per
    network of ``ipv6_prefix`` bits.
    """
    address = parse_address(peer or "")
    if address is None:
        return UNKNOWN
    lines = [forwarded_for] if isinstance(forwarded_for, str) else list(forwarded_for or ())
    hops = [hop for line in lines for hop in line.split(",") if hop.strip()]
    if hops and _trusted(address, trusted):
        for hop in reversed(hops):
            found = parse_address(hop)
            if found is None:
                return UNKNOWN
            address = found
            if not _trusted(found, trusted):
                break
    return bucket(address, ipv6_prefix)


def bucket(address: Address, ipv6_prefix: int = 64) -> str:
    """``203.0.113.7``, or ``2001:db8:1:2::/64`` for an IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address) and ipv6_prefix < 128:
        return str(ipaddress.IPv6Network((address, ipv6_prefix), strict=False))
    return str(address)


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted if address.version == network.version)
