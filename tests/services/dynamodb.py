"""A fresh dynamodb store URL per test: its own table on moto, deleted afterwards.

Credentials: the store takes boto3's standard chain, so this helper puts moto's dummy ones
(``EMULATOR_CREDENTIALS``) in ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` while the URL is in
use (a session token or profile in the environment is hidden meanwhile), and puts the environment
back afterwards. A store opened inside the ``with`` block keeps the credentials it was made with.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError

from cognito_gate.cognito.local import EMULATOR_CREDENTIALS, REGION

_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": EMULATOR_CREDENTIALS["aws_access_key_id"],
    "AWS_SECRET_ACCESS_KEY": EMULATOR_CREDENTIALS["aws_secret_access_key"],
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
}


@contextlib.contextmanager
def dummy_credentials() -> Iterator[None]:
    """moto's dummy credentials in the environment, for as long as the block runs."""
    saved = {name: os.environ.get(name) for name in _ENVIRONMENT}
    _apply(_ENVIRONMENT)
    try:
        yield
    finally:
        _apply(saved)


def _apply(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def client(endpoint: str) -> Any:
    """A boto3 DynamoDB client for moto at ``endpoint``."""
    return boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=REGION, **EMULATOR_CREDENTIALS
    )


def drop_table(endpoint: str, table: str) -> None:
    """Delete ``table`` on moto, if it exists."""
    try:
        client(endpoint).delete_table(TableName=table)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise


@contextlib.contextmanager
def store_url(endpoint: str) -> Iterator[str]:
    """A dynamodb URL on moto at ``endpoint`` no other test uses; its table is dropped afterwards."""
    table = f"cognito-gate-test-{uuid.uuid4().hex[:12]}"
    with dummy_credentials():
        try:
            yield f"dynamodb://{table}?endpoint={endpoint}&region={REGION}"
        finally:
            drop_table(endpoint, table)
