"""The settings of abuse resistance (a part of Settings, kept apart): the failed sign-in
limits, the rate limits of registration and of requests for mail, and the trusted proxies."""

from __future__ import annotations

import ipaddress

from limits import RateLimitItem, parse_many
from pydantic import BaseModel, Field, field_validator

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_rate_limits(value: str) -> tuple[RateLimitItem, ...]:
    """`10/minute`, or several separated by `;` (`10/minute;100/day`), for the limits library."""
    try:
        items = tuple(parse_many(value))
    except ValueError:
        items = ()
    if not items or any(item.amount < 1 for item in items):
        raise ValueError(f"not a rate limit such as 10/minute: {value!r}")
    return items


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """Comma-separated IPs or CIDRs (`10.0.0.0/8, 192.0.2.7`)."""
    networks: list[IPNetwork] = []
    for part in value.split(","):
        item = part.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {item!r}") from None
    return tuple(networks)


class AbuseSettings(BaseModel):
    RATE_LIMIT_ENABLED: bool = True
    ALLOW_PROCESS_LOCAL_LIMITS: bool = False
    LOGIN_FAILURE_WINDOW_SECONDS: int = Field(default=900, ge=1, le=31 * 24 * 3600)
    LOGIN_MAX_FAILURES: int = Field(default=5, ge=1)
    LOGIN_MAX_FAILURES_PER_ACCOUNT: int = Field(default=100, ge=1)
    LOGIN_MAX_FAILURES_PER_ADDRESS: int = Field(default=100, ge=1)
    REGISTER_RATE_LIMIT: str = "10/minute"
    RESET_REQUEST_RATE_LIMIT: str = "5/hour"
    VERIFY_REQUEST_RATE_LIMIT: str = "5/hour"
    TRUSTED_PROXIES: str = ""

    @field_validator("REGISTER_RATE_LIMIT", "RESET_REQUEST_RATE_LIMIT", "VERIFY_REQUEST_RATE_LIMIT")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        parse_rate_limits(value)
        return value

    @field_validator("TRUSTED_PROXIES")
    @classmethod
    def _trusted_proxies_parse(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def register_rate_limits(self) -> tuple[RateLimitItem, ...]:
        return parse_rate_limits(self.REGISTER_RATE_LIMIT)

    @property
    def reset_request_rate_limits(self) -> tuple[RateLimitItem, ...]:
        return parse_rate_limits(self.RESET_REQUEST_RATE_LIMIT)

    @property
    def verify_request_rate_limits(self) -> tuple[RateLimitItem, ...]:
        return parse_rate_limits(self.VERIFY_REQUEST_RATE_LIMIT)

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.TRUSTED_PROXIES)
