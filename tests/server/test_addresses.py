"""The address is the client's, not what it claims: the rule itself, then a real
``cognito-gate serve`` process behind loopback, where a forged X-Forwarded-For must change nothing."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cognito_gate.cognito.local import LocalPool
from cognito_gate.server.client_ip import UNKNOWN, client_ip
from tests.processes import Served, pool_env, serve
from tests.server.conftest import PASSWORD

PROXY = [ipaddress.ip_network("10.0.0.0/8")]


# -- the rule ------------------------------------------------------------------------------------


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy() -> None:
    assert client_ip("203.0.113.9", ["198.51.100.1"], []) == "203.0.113.9"
    assert client_ip("203.0.113.9", ["198.51.100.1"], PROXY) == "203.0.113.9"
    assert client_ip("10.0.0.2", ["198.51.100.1"], PROXY) == "198.51.100.1"


def test_every_header_line_is_read_and_the_right_most_untrusted_hop_wins() -> None:
    lines = ["192.0.2.77, 198.51.100.1", "10.0.0.9, 203.0.113.5", "10.0.0.3"]
    assert client_ip("10.0.0.2", lines, PROXY) == "203.0.113.5"
    # a client can put anything on the left; it never gets past the proxies' own entries
    assert client_ip("10.0.0.2", ["1.1.1.1, 203.0.113.5"], PROXY) == "203.0.113.5"


def test_when_every_hop_is_a_proxy_the_left_most_is_the_client() -> None:
    assert client_ip("10.0.0.2", ["10.1.1.1, 10.2.2.2"], PROXY) == "10.1.1.1"


def test_ipv6_clients_are_grouped_by_prefix() -> None:
    one = client_ip("2001:db8:1:2::1", [], [])
    two = client_ip("[2001:db8:1:2:ffff::9]:443", [], [])
    other = client_ip("2001:db8:1:3::1", [], [])
    assert one == two == "2001:db8:1:2::/64"
    assert other != one
    assert client_ip("2001:db8:1:2::1", [], [], ipv6_prefix=128) == "2001:db8:1:2::1"
    assert client_ip("2001:db8:1:2::1", [], [], ipv6_prefix=48) == "2001:db8:1::/48"
    assert client_ip("::ffff:203.0.113.9", [], []) == "203.0.113.9"  # IPv4-mapped


def test_a_peer_that_is_no_address_is_one_bucket() -> None:
    assert client_ip("testclient", [], []) == UNKNOWN
    assert client_ip("/run/gate.sock", ["203.0.113.5"], PROXY) == UNKNOWN
    assert client_ip(None, [], []) == UNKNOWN
    assert client_ip("10.0.0.2", ["203.0.113.5, not-an-address"], PROXY) == UNKNOWN


# -- a real serve process behind loopback ----------------------------------------------------------


@pytest.fixture
def untrusted(pool: LocalPool) -> Iterator[Served]:
    """A gateway that trusts no proxy: loopback is an ordinary client."""
    env = pool_env(
        pool, store="memory://", lock_scope="user+ip", max_attempts="3", ip_max_attempts="6"
    )
    with serve(env) as served:
        yield served


def login(url: str, name: str, password: str, forwarded: list[str] | None = None) -> httpx.Response:
    headers = [("x-forwarded-for", line) for line in forwarded or []]
    return httpx.post(
        url + "/auth/login", json={"username": name, "password": password}, headers=headers
    )


def test_a_forged_forwarded_for_from_an_untrusted_peer_changes_nothing(untrusted: Served) -> None:
    url = untrusted.url
    for i in range(3):  # each attempt claims another address
        assert login(url, "demo", "Wrong-passw0rd!", [f"198.51.100.{i + 1}"]).status_code == 401
    refused = login(url, "demo", PASSWORD, ["192.0.2.200"])
    assert refused.status_code == 429  # the user+ip lock holds: the address is the peer's
    assert refused.json()["error"] == "account_locked"
    # the per-address throttle holds too: three more failures on other accounts, each forged
    for i in range(3):
        assert login(url, f"ghost{i}", "Wrong-passw0rd!", [f"203.0.113.{i}"]).status_code == 401
    throttled = login(url, "ghost9", "Wrong-passw0rd!", ["203.0.113.99"])
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "too_many_requests"


@pytest.fixture
def behind_proxy(pool: LocalPool) -> Iterator[Served]:
    """A gateway whose loopback peer is a trusted proxy (as behind nginx on the same host)."""
    env = pool_env(
        pool,
        store="memory://",
        lock_scope="user+ip",
        max_attempts="3",
        trusted_proxies="127.0.0.0/8,10.0.0.0/8",
    )
    with serve(env) as served:
        yield served


def test_two_header_lines_behind_a_trusted_proxy_are_read_together(behind_proxy: Served) -> None:
    url = behind_proxy.url
    # the client forges the first line; the proxies append the real address on their own lines
    for i in range(3):
        lines = [f"192.0.2.{i}", "203.0.113.5, 10.0.0.7"]
        assert login(url, "demo", "Wrong-passw0rd!", lines).status_code == 401
    assert login(url, "demo", PASSWORD, ["192.0.2.99", "203.0.113.5"]).status_code == 429
    # another client, behind the same proxies, is not locked out (user+ip scope)
    assert login(url, "demo", PASSWORD, ["198.51.100.8"]).status_code == 200


def test_two_ipv6_addresses_of_one_network_share_a_bucket(behind_proxy: Served) -> None:
    url = behind_proxy.url
    for host in ("2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:abcd::3"):
        assert login(url, "demo", "Wrong-passw0rd!", [host]).status_code == 401
    assert login(url, "demo", PASSWORD, ["2001:db8:5:6::4"]).status_code == 429
    assert login(url, "demo", PASSWORD, ["2001:db8:5:7::1"]).status_code == 200  # another /64


# -- keys carry the pool: a new embedded pool starts with no lockouts ---------------------------------


def test_restarting_the_embedded_default_starts_demo_unlocked(tmp_path: Path) -> None:
    # `make run` is `cognito-gate serve` with no pool: the emulator, a new pool, ./.cognito-gate
    with serve({}, cwd=tmp_path) as first:
        for _ in range(5):
            assert login(first.url, "demo", "Wrong-passw0rd!").status_code == 401
        assert login(first.url, "demo", PASSWORD).status_code == 429
    assert (tmp_path / ".cognito-gate" / "gate.db").exists()  # the same SQLite file is kept
    with serve({}, cwd=tmp_path) as second:
        assert login(second.url, "demo", PASSWORD).status_code == 200
