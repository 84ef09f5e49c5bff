"""The client address: X-Forwarded-For believed only from TRUSTED_PROXIES, right to left."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.abuse_settings import parse_networks
from A_DatabasePackage.settings import Settings
from E_SecurityPackage.client_address import TrustedProxies, parse_address
from I_ControllerPackage.app_factory import create_app
from tests.support import bearer, login, make_settings, register

PROXIES = TrustedProxies(parse_networks("127.0.0.1, 10.0.0.0/8, fd00::/8"))


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # an untrusted peer keeps its own address, whatever it claims
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("203.0.113.9", [], "203.0.113.9"),
        # a trusted proxy: the right-most address that is not a trusted proxy
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1, 10.1.2.3"], "198.51.100.1"),
        ("10.9.9.9", ["6.6.6.6", "198.51.100.1, 10.1.2.3"], "198.51.100.1"),
        # no header, or only trusted hops: the left-most trusted hop
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),
        # garbage stops the walk at the last hop we trust
        ("127.0.0.1", ["198.51.100.1, not-an-ip"], "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.1, not-an-ip, 10.1.2.3"], "10.1.2.3"),
        ("127.0.0.1", ["unknown"], "127.0.0.1"),
        # ports, brackets and IPv6
        ("127.0.0.1", ["198.51.100.1:4711"], "198.51.100.1"),
        ("127.0.0.1", ["[2001:db8::7]:443"], "2001:db8::7"),
        ("127.0.0.1", ["2001:db8::7"], "2001:db8::7"),
        ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
        ("::ffff:127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["::ffff:198.51.100.1"], "198.51.100.1"),
        # not an address at all (the TestClient's "testclient"): kept as is, never trusted
        ("testclient", ["198.51.100.1"], "testclient"),
        (None, ["198.51.100.1"], None),
    ],
)
def test_client_address(peer: str | None, headers: list[str], expected: str | None) -> None:
    assert PROXIES.client_address(peer, headers) == expected


def test_nothing_is_trusted_by_default() -> None:
    assert TrustedProxies().client_address("127.0.0.1", ["198.51.100.1"]) == "127.0.0.1"


@pytest.mark.parametrize(
    ("peer", "proto", "expected"),
    [
        ("127.0.0.1", "https", "https"),
        ("127.0.0.1", "http, https", "https"),
        ("127.0.0.1", "https, http", "http"),
        ("203.0.113.9", "https", "http"),
        ("127.0.0.1", None, "http"),
    ],
)
def test_forwarded_proto_only_from_trusted_proxies(
    peer: str, proto: str | None, expected: str
) -> None:
    assert PROXIES.forwarded_proto(peer, "http", proto) == expected


def test_parse_address() -> None:
    assert str(parse_address(" 192.0.2.1 ")) == "192.0.2.1"
    assert str(parse_address('"[2001:db8::1]:80"')) == "2001:db8::1"
    assert parse_address("") is None
    assert parse_address("example.com") is None


def test_trusted_proxies_setting_is_checked() -> None:
    with pytest.raises(ValueError, match=r"not an IP address or network: 'proxy\.internal'"):
        make_settings("sqlite://", TRUSTED_PROXIES="10.0.0.1, proxy.internal")
    parsed = make_settings(
        "sqlite://", TRUSTED_PROXIES=" 10.0.0.1 ,192.168.0.0/16,"
    ).trusted_proxy_networks
    assert [str(network) for network in parsed] == ["10.0.0.1/32", "192.168.0.0/16"]


def _session_ip(settings: Settings, peer: str, forwarded_for: str) -> str:
    """Sign in from `peer` with this X-Forwarded-For; the address the session recorded."""
    with TestClient(create_app(settings), client=(peer, 40000)) as client:
        register(client, "alice")
        client.headers["X-Forwarded-For"] = forwarded_for
        token = login(client, "alice")
        sessions = client.get("/sessions", headers=bearer(token)).json()
    ip: str = sessions[0]["ip"]
    return ip


def test_spoofed_forwarded_for_is_ignored_from_an_untrusted_peer(settings: Settings) -> None:
    trusting_others = settings.model_copy(update={"TRUSTED_PROXIES": "10.0.0.0/8"})
    assert _session_ip(trusting_others, "203.0.113.50", "198.51.100.1") == "203.0.113.50"


def test_forwarded_for_is_believed_from_a_trusted_proxy(settings: Settings) -> None:
    trusting = settings.model_copy(update={"TRUSTED_PROXIES": "10.0.0.0/8"})
    assert _session_ip(trusting, "10.0.0.2", "6.6.6.6, 198.51.100.1") == "198.51.100.1"
