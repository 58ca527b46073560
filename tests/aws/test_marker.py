"""The gateway's mark: an HMAC of its reservation, for one account of one pool, fresh."""

from __future__ import annotations

import asyncio

import pytest

from cognito_gate.cognito import marker

SECRET = "a-trigger-secret-0123456789"
POOL = "us-east-1_AbC"
NOW = 1_800_000_000.0


def token(**changes: object) -> str:
    values: dict[str, object] = {
        "secret": SECRET,
        "pool_id": POOL,
        "account": "alice",
        "reservation": "ab" * 16,
        "now": NOW,
    }
    values.update(changes)
    return marker.sign(**values)  # type: ignore[arg-type]


def test_a_token_names_its_reservation() -> None:
    assert marker.verify(token(), SECRET, POOL, "alice", NOW + 1) == "ab" * 16


@pytest.mark.parametrize(
    "forged",
    [
        token(secret="another-secret-0123456789"),
        token(pool_id="eu-west-1_Other"),
        token(account="bob"),
        token(now=NOW - marker.MAX_AGE - 1),
        token(now=NOW + marker.SKEW + 1),
        token().replace("ab" * 16, "cd" * 16),
        token()[:-1] + ("A" if token()[-1] != "A" else "B"),
        "1.1800000000.abc",
        "",
        None,
        42,
    ],
)
def test_anything_else_is_no_token(forged: object) -> None:
    assert marker.verify(forged, SECRET, POOL, "alice", NOW) is None


def test_the_mark_reaches_cognito_calls_made_under_it_only() -> None:
    async def inside() -> dict[str, dict[str, str]]:
        return marker.client_metadata()

    assert marker.client_metadata() == {}
    assert asyncio.run(marker.marked("T", inside)) == {"ClientMetadata": {marker.KEY: "T"}}
    assert asyncio.run(marker.marked(None, inside)) == {}
    assert marker.client_metadata() == {}
