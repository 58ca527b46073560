"""Taking a compact JWS apart, fast and strictly: the hot path of every fresh verification.

Measured choices (see benchmarks/verify.py): one ``bytes.translate`` turns the whole token from
base64url into standard base64 and at the same time maps every byte that is not base64url (``+``,
``/``, ``=``, whitespace...) to ``!``, so a single ``b"!" in ...`` validates all three parts and
``binascii.a2b_base64`` can then run in its faster lenient mode on input it cannot misread
(``str.translate`` is six times slower; strict mode costs 20 % more per character). The payload
goes to the C JSON scanner directly: ``json.loads`` spends a third of its time on whitespace
regexes around the value. The header is parsed once per distinct header segment: the verifier
remembers the ``kid`` of headers it has seen on verified tokens.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from typing import Any

from cognito_gate.verify.errors import MalformedJwt, UnsupportedAlgorithm, shown

MAX_TOKEN_LENGTH = 32 * 1024
ALGORITHM = "RS256"

_ALPHANUMERIC = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# base64url -> base64; "." stays; every other byte becomes "!", which no decoder accepts.
_SPECIAL = {ord("-"): ord("+"), ord("_"): ord("/"), ord("."): ord(".")}
_TO_STANDARD = bytes(
    byte if byte in _ALPHANUMERIC else _SPECIAL.get(byte, ord("!")) for byte in range(256)
)
_PADDING = (b"", b"", b"==", b"=")  # by length % 4; a length of 1 mod 4 stays invalid
# The last character of a base64 text of 2 (or 3) characters mod 4 carries 4 (or 2) unused bits.
# Only the characters with those bits zero are canonical: anything else would let one signature
# be written as several tokens.
_CANONICAL_LAST = (None, None, frozenset(b"AQgw"), frozenset(b"AEIMQUYcgkosw048"))
_a2b = binascii.a2b_base64


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# JSON proper: NaN and Infinity, which Python's json takes by default, are refused.
_decoder = json.JSONDecoder(parse_constant=_refuse_constant)
# The C scanner behind it; typeshed does not declare the attribute.
_scan: Callable[[str, int], tuple[Any, int]] = _decoder.scan_once  # type: ignore[attr-defined]


def _b64(segment: bytes, part: str) -> bytes:
    try:
        return _a2b(segment + _PADDING[len(segment) & 3], strict_mode=True)
    except binascii.Error:
        raise MalformedJwt(f"the {part} is not base64url") from None


def json_object(text: bytes, part: str = "payload") -> dict[str, Any]:
    """The JSON object in ``text`` (UTF-8); MalformedJwt for anything else."""
    try:
        source = text.decode()
        value, end = _scan(source, 0)
        if end != len(source):  # trailing whitespace or junk: let the whole decoder judge
            value = _decoder.decode(source)
    except StopIteration:  # not a JSON value at index 0 (maybe leading whitespace)
        try:
            value = _decoder.decode(source)
        except (ValueError, RecursionError):
            raise MalformedJwt(f"the {part} is not JSON") from None
    except (ValueError, RecursionError):  # UnicodeDecodeError, JSONDecodeError; deep nesting
        raise MalformedJwt(f"the {part} is not JSON") from None
    if type(value) is not dict:
        raise MalformedJwt(f"the {part} is JSON but not an object")
    return value


def header_kid(header_segment: bytes) -> str:
    """The ``kid`` of a header segment, once the header has passed the algorithm checks."""
    header = json_object(_b64(header_segment.translate(_TO_STANDARD), "header"), "header")
    alg = header.get("alg")
    if alg != ALGORITHM:
        got = "no alg" if alg is None else f"alg {shown(alg)}"
        raise UnsupportedAlgorithm(f"expected alg 'RS256', got {got}")
    if "crit" in header:
        raise MalformedJwt("the header has 'crit' extensions, which are not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise MalformedJwt("the header has no 'kid'")
    return kid


def decompose(
    token: object, kids: dict[bytes, str]
) -> tuple[bytes | None, str, bytes, dict[str, Any], bytes, bytes]:
    """``(new_header, kid, signing_input, claims, signature, payload)`` of a compact JWS.

    Nothing is verified; ``payload`` is the JSON that ``claims`` was parsed from.

    ``kids`` maps header segments already seen on verified tokens to their ``kid``. A header not
    in it is decoded and checked here and returned as ``new_header``, for the caller to add once
    the token has verified (so forged tokens cannot fill ``kids``); otherwise that is None.
    """
    if type(token) is not str or not 0 < len(token) <= MAX_TOKEN_LENGTH:
        raise _shape_error(token)
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedJwt("the token has characters outside base64url and '.'") from None
    i = raw.find(b".")
    j = raw.find(b".", i + 1)
    if i < 0 or j < 0 or raw.find(b".", j + 1) >= 0:
        raise MalformedJwt(f"expected 3 parts separated by '.', got {token.count('.') + 1}")
    header_segment = raw[:i]
    new_header = None
    kid = kids.get(header_segment)
    if kid is None:
        kid = header_kid(header_segment)
        new_header = header_segment
    # From here on, the common case runs inline; any doubt goes to the careful helpers above,
    # which either accept the same input or raise the precise error.
    standard = raw.translate(_TO_STANDARD)
    payload_segment, signature_segment = standard[i + 1 : j], standard[j + 1 :]
    canonical = _CANONICAL_LAST[len(signature_segment) & 3]
    if canonical is not None and signature_segment[-1] not in canonical:
        raise MalformedJwt("the signature is not canonical base64url")
    try:
        if b"!" in standard:
            raise binascii.Error  # the strict decoder below names the part
        payload = _a2b(payload_segment + _PADDING[len(payload_segment) & 3])
        signature = _a2b(signature_segment + _PADDING[len(signature_segment) & 3])
    except binascii.Error:  # also a length of 1 mod 4
        payload = _b64(payload_segment, "payload")
        signature = _b64(signature_segment, "signature")
    try:
        text = payload.decode()
        claims, end = _scan(text, 0)
        if end != len(text) or type(claims) is not dict:
            claims = json_object(payload, "payload")
    except (StopIteration, ValueError, RecursionError):
        claims = json_object(payload, "payload")
    return new_header, kid, raw[:j], claims, signature, payload


def _shape_error(token: object) -> MalformedJwt:
    if type(token) is not str:
        return MalformedJwt(f"expected the token as a str, got {type(token).__name__}")
    if not token:
        return MalformedJwt("the token is empty")
    return MalformedJwt(f"the token is over {MAX_TOKEN_LENGTH} characters")
