"""RS256 checks by encode-and-compare: every byte of the encoded message must be the expected one."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cognito_gate.verify.signature import SHA256_DIGEST_INFO, Rs256Key
from tests.verify.conftest import Keys


def raw_sign(key: rsa.RSAPrivateKey, encoded_message: bytes) -> bytes:
    """The RSA private operation on an encoded message we built by hand."""
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    value = pow(int.from_bytes(encoded_message, "big"), numbers.d, n)
    return value.to_bytes(256, "big")


def encoded(digest_info: bytes, size: int = 256, filler: bytes = b"") -> bytes:
    ff = b"\xff" * (size - 3 - len(digest_info) - len(filler))
    return b"\x00\x01" + ff + b"\x00" + digest_info + filler


def test_agrees_with_cryptography_verify_on_good_and_bad_signatures(keys: Keys) -> None:
    key = Rs256Key(keys.main.public_key())
    for _ in range(50):
        message = os.urandom(700)
        signature = keys.main.sign(message, padding.PKCS1v15(), hashes.SHA256())
        assert key.verify(signature, message)
        assert not key.verify(signature, message + b"x")
        flipped = bytes([signature[0] ^ 0x01]) + signature[1:]
        assert not key.verify(flipped, message)
        with pytest.raises(InvalidSignature):
            keys.main.public_key().verify(flipped, message, padding.PKCS1v15(), hashes.SHA256())


def test_a_hand_encoded_sha256_digest_info_verifies(keys: Keys) -> None:
    message = b"header.payload"
    digest = hashlib.sha256(message).digest()
    signature = raw_sign(keys.main, encoded(SHA256_DIGEST_INFO + digest))
    assert Rs256Key(keys.main.public_key()).verify(signature, message)


@pytest.mark.parametrize(
    "variant",
    [
        # DigestInfo without the NULL parameters: some verifiers take it, RS256 signers never make it.
        lambda d: encoded(bytes.fromhex("302f300b0609608648016503040201" + "0420") + d),
        # The right DigestInfo, then bytes after the digest in place of some padding.
        lambda d: encoded(SHA256_DIGEST_INFO + d, filler=b"\x00" * 8),
        # SHA-512's DigestInfo with a SHA-256 digest in it.
        lambda d: encoded(bytes.fromhex("3051300d060960864801650304020305000440") + d),
        # Block type 2 (encryption padding) instead of 1.
        lambda d: b"\x00\x02" + encoded(SHA256_DIGEST_INFO + d)[2:],
    ],
    ids=["no NULL", "trailing bytes", "sha512 info", "block type 2"],
)
def test_any_other_encoding_is_refused(keys: Keys, variant: object) -> None:
    message = b"header.payload"
    encoded_message = variant(hashlib.sha256(message).digest())  # type: ignore[operator]
    assert not Rs256Key(keys.main.public_key()).verify(
        raw_sign(keys.main, encoded_message), message
    )


def test_signatures_of_other_schemes_are_refused(keys: Keys) -> None:
    message = b"header.payload"
    key = Rs256Key(keys.main.public_key())
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH)
    assert not key.verify(keys.main.sign(message, pss, hashes.SHA256()), message)
    assert not key.verify(keys.main.sign(message, padding.PKCS1v15(), hashes.SHA512()), message)


def test_a_signature_must_be_exactly_the_modulus_length(keys: Keys) -> None:
    key = Rs256Key(keys.main.public_key())
    message = b"m"
    while True:  # a signature with a leading zero byte, which could be sent one byte shorter
        signature = keys.main.sign(message, padding.PKCS1v15(), hashes.SHA256())
        if signature[0] == 0:
            break
        message += b"m"
    assert key.verify(signature, message)
    assert not key.verify(signature[1:], message)
    assert not key.verify(b"\x00" + signature, message)
    assert not key.verify(b"", message)
    assert not key.verify(b"\xff" * 256, message)  # larger than the modulus
