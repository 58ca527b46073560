"""The gateway for fuzzing: one app in front of one emulator pool, for the whole module.

``FUZZ_EXAMPLES`` sets how many requests Hypothesis makes per route (``make test`` a few per route,
``make fuzz`` many more)."""

from __future__ import annotations

import os

import pytest
from fastapi import FastAPI

from cognito_gate.cognito.local import Emulator, provision_pool
from cognito_gate.server.app import create_app
from tests.conftest import make_gate

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))


@pytest.fixture(scope="module")
def gateway_app(emulator: Emulator) -> FastAPI:
    """A gateway with a memory store and limits high enough that fuzzing never locks itself out of
    the routes it is testing (locking is tested elsewhere)."""
    pool = provision_pool(emulator.endpoint)
    gate = make_gate(pool, ip_max_attempts=1_000_000, max_attempts=1000)
    return create_app(gate=gate)
