"""The request log names the client as the limits, sessions and audit do (TRUSTED_PROXIES)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from A_DatabasePackage.settings import Settings
from E_SecurityPackage.client_address import TrustedProxies
from I_ControllerPackage.observability_middleware import _client_ip


def _scope(peer: str, forwarded_for: str | None, proxies: str) -> dict[str, object]:
    networks = Settings(_env_file=None, TRUSTED_PROXIES=proxies).trusted_proxy_networks
    headers = [(b"x-forwarded-for", forwarded_for.encode())] if forwarded_for else []
    return {
        "client": (peer, 50000),
        "headers": headers,
        "app": SimpleNamespace(trusted_proxies=TrustedProxies(networks)),
    }


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "proxies", "expected"),
    [
        ("127.0.0.1", "203.0.113.9", "", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.9", "127.0.0.1", "203.0.113.9"),
        ("10.0.0.5", "198.51.100.1, 203.0.113.9", "10.0.0.0/8", "203.0.113.9"),
        ("192.0.2.7", None, "127.0.0.1", "192.0.2.7"),
    ],
)
def test_logged_client_ip_follows_trusted_proxies(
    peer: str, forwarded_for: str | None, proxies: str, expected: str
) -> None:
    assert _client_ip(_scope(peer, forwarded_for, proxies)) == expected


def test_logged_client_ip_without_an_app_is_the_peer() -> None:
    assert _client_ip({"client": ("192.0.2.1", 1), "headers": []}) == "192.0.2.1"
