"""Device SRP: the math of Cognito's remembered devices, with ``hashlib``, ``hmac`` and ``int``.

A remembered device proves it holds its random password with SRP-6a over RFC 5054's 3072-bit
group, as Amplify does it (``DEVICE_SRP_AUTH`` then ``DEVICE_PASSWORD_VERIFIER``). Three parties
need the same math, so it lives here once:

- the gateway makes a new device's password and verifier for ``ConfirmDevice``
  (:func:`new_device_secret`);
- a client answers the two device challenges (:class:`DeviceSrpClient`);
- the embedded emulator checks the answer against the stored verifier, as Cognito does
  (:class:`DeviceSrpServer`).

The formulas (``H`` is SHA-256; ``hex_hash`` hashes the bytes a hex string spells; ``pad_hex``
is even-length hex with ``00`` in front when the first nibble is 8-f, so it never reads as
negative)::

    k        = H(pad_hex(N) | pad_hex(g))
    inner    = H(DeviceGroupKey + DeviceKey + ":" + password)         (as hex)
    x        = hex_hash(pad_hex(salt) + inner)
    v        = g^x mod N                                              (the verifier)
    A        = g^a mod N;   B = (k·v + g^b) mod N
    u        = hex_hash(pad_hex(A) + pad_hex(B))
    S        = (B - k·g^x)^(a + u·x) mod N   =   (A·v^u)^b mod N
    key      = HMAC(HMAC(pad_hex(u), pad_hex(S)), "Caldera Derived Key" | 0x01)[:16]
    claim    = base64(HMAC(key, DeviceGroupKey | DeviceKey | secret_block | TIMESTAMP))

Nothing here logs, and no secret appears in a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

#: RFC 5054's 3072-bit group (RFC 3526 group 15): 2^3072 - 2^3008 - 1 + 2^64·(⌊2^2942·π⌋ + 1690314).
N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N = int(N_HEX, 16)
G = 2
INFO = b"Caldera Derived Key\x01"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class SrpError(ValueError):
    """A value of the exchange is malformed or unsafe (``A`` or ``B`` a multiple of N, ``u`` 0)."""


def pad_hex(value: int) -> str:
    """``value`` as even-length lower-case hex, with ``00`` in front when its first nibble is 8-f
    (what Amplify's ``padHex`` makes of a non-negative number)."""
    if value < 0:
        raise SrpError("negative values are never sent")
    text = format(value, "x")
    if len(text) % 2:
        text = "0" + text
    if text[0] in "89abcdef":
        text = "00" + text
    return text


def hash_hex(data: bytes) -> str:
    """SHA-256 as 64 hex characters."""
    return hashlib.sha256(data).hexdigest()


def hex_hash(hex_text: str) -> str:
    """SHA-256 of the bytes ``hex_text`` spells, as hex."""
    return hash_hex(bytes.fromhex(hex_text))


K = int(hex_hash(pad_hex(N) + pad_hex(G)), 16)


def _x(device_group_key: str, device_key: str, password: str, salt: int) -> int:
    inner = hash_hex(f"{device_group_key}{device_key}:{password}".encode())
    return int(hex_hash(pad_hex(salt) + inner), 16)


def _u(big_a: int, big_b: int) -> int:
    return int(hex_hash(pad_hex(big_a) + pad_hex(big_b)), 16)


def _session_key(u: int, s: int) -> bytes:
    prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(s)), hashlib.sha256).digest()
    return hmac.new(prk, INFO, hashlib.sha256).digest()[:16]


def _signature(
    key: bytes, device_group_key: str, device_key: str, secret_block: bytes, timestamp: str
) -> str:
    message = device_group_key.encode() + device_key.encode() + secret_block + timestamp.encode()
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SrpError(f"{what} is not base64") from None


def _hex_int(text: str, what: str) -> int:
    try:
        return int(text, 16)
    except (TypeError, ValueError):
        raise SrpError(f"{what} is not hexadecimal") from None


def timestamp(now: datetime | None = None) -> str:
    """``TIMESTAMP`` as Cognito wants it: ``Tue Mar 3 09:05:07 UTC 2026`` (English names, the day
    not zero-padded), whatever the locale."""
    t = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{DAYS[t.weekday()]} {MONTHS[t.month - 1]} {t.day} {t:%H:%M:%S} UTC {t.year}"


def parse_timestamp(text: str) -> datetime:
    """The time a ``TIMESTAMP`` names; ValueError unless it has exactly Cognito's format."""
    parts = text.split(" ")
    if len(parts) != 6 or parts[0] not in DAYS or parts[1] not in MONTHS or parts[4] != "UTC":
        raise ValueError("not a Cognito timestamp")
    day, clock, year = parts[2], parts[3], parts[5]
    if not day.isdigit() or day.startswith("0") or not year.isdigit() or len(year) != 4:
        raise ValueError("not a Cognito timestamp")
    when = datetime.strptime(f"{year} {parts[1]} {day} {clock}", "%Y %b %d %H:%M:%S")
    when = when.replace(tzinfo=UTC)
    if DAYS[when.weekday()] != parts[0] or len(clock) != 8:
        raise ValueError("not a Cognito timestamp")
    return when


# -- a new device ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceSecret:
    """A new device's random password and what ``ConfirmDevice`` is sent of it."""

    password: str = field(repr=False)
    salt: str  # base64, for DeviceSecretVerifierConfig.Salt
    verifier: str  # base64, for DeviceSecretVerifierConfig.PasswordVerifier

    def verifier_config(self) -> dict[str, str]:
        """``DeviceSecretVerifierConfig``."""
        return {"Salt": self.salt, "PasswordVerifier": self.verifier}


def device_verifier(
    device_group_key: str, device_key: str, password: str, salt: bytes
) -> DeviceSecret:
    """The verifier of ``password`` with ``salt`` (16 or 17 bytes, in ``pad_hex`` form)."""
    salt_int = int.from_bytes(salt, "big")
    if pad_hex(salt_int) != salt.hex():
        raise SrpError("the salt is not in pad_hex form")
    v = pow(G, _x(device_group_key, device_key, password, salt_int), N)
    return DeviceSecret(
        password=password,
        salt=base64.b64encode(salt).decode(),
        verifier=base64.b64encode(bytes.fromhex(pad_hex(v))).decode(),
    )


def new_device_secret(device_group_key: str, device_key: str) -> DeviceSecret:
    """A fresh random password (40 random bytes, base64) and its verifier with a fresh salt
    (16 random bytes, padded as Amplify pads them)."""
    password = base64.b64encode(secrets.token_bytes(40)).decode()
    salt = bytes.fromhex(pad_hex(int.from_bytes(secrets.token_bytes(16), "big")))
    return device_verifier(device_group_key, device_key, password, salt)


# -- the client's side ----------------------------------------------------------------------------


class DeviceSrpClient:
    """One device sign-in, on the side that holds the device password. A fresh ``a`` each time.

    ``start()`` is ``SRP_A`` for ``DEVICE_SRP_AUTH``; ``claim(...)`` answers the
    ``DEVICE_PASSWORD_VERIFIER`` challenge with Cognito's ``SRP_B``, ``SALT`` and
    ``SECRET_BLOCK``.
    """

    def __init__(
        self, device_key: str, device_group_key: str, password: str, *, a: int | None = None
    ) -> None:
        self.device_key = device_key
        self.device_group_key = device_group_key
        self._password = password
        self._a = a if a is not None else int.from_bytes(secrets.token_bytes(128), "big") % N
        self.big_a = pow(G, self._a, N)
        if self.big_a % N == 0:
            raise SrpError("A is 0 mod N")

    def start(self) -> str:
        """``SRP_A``: A as hex."""
        return format(self.big_a, "x")

    def claim(
        self, srp_b: str, salt: str, secret_block: str, now: datetime | None = None
    ) -> dict[str, str]:
        """``TIMESTAMP``, ``PASSWORD_CLAIM_SECRET_BLOCK`` and ``PASSWORD_CLAIM_SIGNATURE``."""
        big_b = _hex_int(srp_b, "SRP_B")
        if big_b % N == 0:
            raise SrpError("B is 0 mod N")
        u = _u(self.big_a, big_b)
        if u == 0:
            raise SrpError("u is 0")
        x = _x(self.device_group_key, self.device_key, self._password, _hex_int(salt, "SALT"))
        base = (big_b - K * pow(G, x, N)) % N
        s = pow(base, self._a + u * x, N)
        stamp = timestamp(now)
        block = _b64decode(secret_block, "SECRET_BLOCK")
        signature = _signature(
            _session_key(u, s), self.device_group_key, self.device_key, block, stamp
        )
        return {
            "TIMESTAMP": stamp,
            "PASSWORD_CLAIM_SECRET_BLOCK": secret_block,
            "PASSWORD_CLAIM_SIGNATURE": signature,
        }

    def __repr__(self) -> str:
        return f"DeviceSrpClient(device_key={self.device_key!r})"


# -- the server's side ----------------------------------------------------------------------------


class DeviceSrpServer:
    """One device sign-in, on the side that holds the verifier (the emulator, as Cognito)."""

    def __init__(
        self,
        device_group_key: str,
        device_key: str,
        salt: bytes,
        verifier: bytes,
        srp_a: str,
        *,
        b: int | None = None,
    ) -> None:
        self.device_group_key = device_group_key
        self.device_key = device_key
        self.salt = salt
        self._v = int.from_bytes(verifier, "big")
        self.big_a = _hex_int(srp_a, "SRP_A")
        if self.big_a % N == 0:
            raise SrpError("A is 0 mod N")
        self._b = b if b is not None else int.from_bytes(secrets.token_bytes(128), "big") % N
        self.big_b = (K * self._v + pow(G, self._b, N)) % N
        self._u = _u(self.big_a, self.big_b)
        if self._u == 0 or self.big_b == 0:
            raise SrpError("u or B is 0")

    def challenge(self) -> dict[str, str]:
        """``SRP_B`` and ``SALT`` (hex) for the ``DEVICE_PASSWORD_VERIFIER`` challenge."""
        return {"SRP_B": format(self.big_b, "x"), "SALT": self.salt.hex()}

    def verify(self, secret_block: bytes, stamp: str, signature: str) -> bool:
        """True when ``signature`` proves the device password (compared in constant time)."""
        s = pow(self.big_a * pow(self._v, self._u, N), self._b, N)
        expected = _signature(
            _session_key(self._u, s), self.device_group_key, self.device_key, secret_block, stamp
        )
        return hmac.compare_digest(expected.encode(), signature.encode())

    def __repr__(self) -> str:
        return f"DeviceSrpServer(device_key={self.device_key!r})"
