"""Shared fixtures: the Cognito emulator over HTTP, fresh pools, and a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cognito_gate.cognito.local import Emulator, LocalPool, provision_pool


class FakeClock:
    """A clock the test moves by hand: call it for 'now' (epoch seconds), ``advance`` to move."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One moto server for the whole run; each test gets its own pool on it."""
    emu = Emulator()
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def pool(emulator: Emulator) -> LocalPool:
    """A fresh case-insensitive pool, a safe client without secret, and user demo."""
    return provision_pool(emulator.endpoint)


@pytest.fixture
def secret_pool(emulator: Emulator) -> LocalPool:
    """Like ``pool``, but the app client has a secret."""
    return provision_pool(emulator.endpoint, with_secret=True)
