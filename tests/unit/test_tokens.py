"""TokenService on its own: issue, verify, every claim, the pinned algorithm, clock-based expiry."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jose import jwt

from D_CustomExceptionPackage.errors import InvalidTokenError
from E_SecurityPackage.login_auth_jwt import REQUIRED_CLAIMS, TokenService
from tests.support import TEST_SECRET_KEY, FakeClock

ISSUER = "auth-service"
AUDIENCE = "auth-service"
ALL_CLAIMS = {
    *("sub", "iat", "nbf", "exp", "jti", "iss", "aud", "type", "role", "ver", "sid"),
    *("amr", "acr"),
}


@pytest.fixture
def service(clock: FakeClock) -> TokenService:
    return TokenService(TEST_SECRET_KEY, "HS256", ISSUER, AUDIENCE, timedelta(minutes=15), clock)


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.get_unverified_claims(token)
    return claims


def signed(claims: dict[str, Any], algorithm: str = "HS256", key: str = TEST_SECRET_KEY) -> str:
    token: str = jwt.encode(claims, key, algorithm=algorithm)
    return token


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_round_trip(service: TokenService) -> None:
    issued = service.issue_access_token(42, "admin", 3, 17)
    assert issued.expires_in == 900
    claims = service.verify_access_token(issued.token)
    assert (claims.user_id, claims.role, claims.token_version) == (42, "admin", 3)
    assert claims.session_id == 17
    assert claims.jti == issued.jti
    expires_at = datetime.fromtimestamp(claims_of(issued.token)["exp"], UTC)
    assert claims.expires_at == issued.expires_at == expires_at


def test_every_claim_is_present(service: TokenService, clock: FakeClock) -> None:
    issued = service.issue_access_token(7, "user", 0, 9)
    claims = claims_of(issued.token)
    assert set(claims) == ALL_CLAIMS
    now = int(clock.now().timestamp())
    assert claims["sub"] == "7"
    assert abs(claims["iat"] - now) <= 1
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] == claims["iat"] + 900
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["type"] == "access"
    assert claims["role"] == "user"
    assert claims["ver"] == 0
    assert claims["sid"] == 9
    assert (claims["amr"], claims["acr"]) == (["pwd"], "aal1")
    assert claims["jti"] == issued.jti
    assert len(issued.jti) >= 16
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"


def test_jti_is_random(service: TokenService) -> None:
    jtis = {service.issue_access_token(1, "user", 0, 9).jti for _ in range(20)}
    assert len(jtis) == 20


def test_expiry_follows_the_clock(service: TokenService, clock: FakeClock) -> None:
    token = service.issue_access_token(1, "user", 0, 9).token
    clock.advance(minutes=14, seconds=58)
    assert service.verify_access_token(token).user_id == 1
    clock.advance(seconds=3)
    with pytest.raises(InvalidTokenError):
        service.verify_access_token(token)
    # a token issued at the clock's (advanced) time is valid at that time
    fresh = service.issue_access_token(1, "user", 0, 9).token
    assert service.verify_access_token(fresh).user_id == 1


def test_not_yet_valid(service: TokenService, clock: FakeClock) -> None:
    future = TokenService(
        TEST_SECRET_KEY, "HS256", ISSUER, AUDIENCE, timedelta(minutes=15), FakeClock()
    )
    future.clock.advance(minutes=5)  # type: ignore[attr-defined]
    token = future.issue_access_token(1, "user", 0, 9).token
    with pytest.raises(InvalidTokenError):
        service.verify_access_token(token)
    clock.advance(minutes=5, seconds=1)
    assert service.verify_access_token(token).user_id == 1


@pytest.mark.parametrize(
    "other",
    [
        {"issuer": "someone-else"},
        {"audience": "another-api"},
        {"secret_key": "another-secret-key-that-is-long-enough-00"},
    ],
)
def test_other_issuer_audience_or_key_is_rejected(
    service: TokenService, clock: FakeClock, other: dict[str, str]
) -> None:
    values: dict[str, Any] = {
        "secret_key": TEST_SECRET_KEY,
        "algorithm": "HS256",
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "lifetime": timedelta(minutes=15),
        "clock": clock,
        **other,
    }
    token = TokenService(**values).issue_access_token(1, "user", 0, 9).token
    with pytest.raises(InvalidTokenError):
        service.verify_access_token(token)


def test_algorithm_is_pinned(service: TokenService) -> None:
    claims = claims_of(service.issue_access_token(1, "user", 0, 9).token)
    for algorithm in ("HS384", "HS512"):
        with pytest.raises(InvalidTokenError):
            service.verify_access_token(signed(claims, algorithm))
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    with pytest.raises(InvalidTokenError):
        service.verify_access_token(unsigned)
    # the same claims with the right algorithm pass, so the rejections above are about `alg`
    assert service.verify_access_token(signed(claims)).user_id == 1


def test_a_service_on_hs512_accepts_only_hs512(clock: FakeClock) -> None:
    hs512 = TokenService(TEST_SECRET_KEY, "HS512", ISSUER, AUDIENCE, timedelta(minutes=1), clock)
    token = hs512.issue_access_token(5, "user", 0, 9).token
    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    assert hs512.verify_access_token(token).user_id == 5
    with pytest.raises(InvalidTokenError):
        hs512.verify_access_token(signed(claims_of(token), "HS256"))


def test_sid_is_among_the_required_claims() -> None:
    """All but amr and acr, which tokens issued before them lack (they count as `pwd`)."""
    assert set(REQUIRED_CLAIMS) == ALL_CLAIMS - {"amr", "acr"}


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_every_claim_is_required(service: TokenService, claim: str) -> None:
    claims = claims_of(service.issue_access_token(1, "user", 0, 9).token)
    del claims[claim]
    with pytest.raises(InvalidTokenError):
        service.verify_access_token(signed(claims))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("type", "refresh"),
        ("sub", "abc"),
        ("sub", 1),
        ("sub", "-1"),
        ("sub", "99999999999999999999"),
        ("ver", "0"),
        ("sid", "9"),
        ("sid", None),
        ("sid", 9.5),
        ("role", 5),
    ],
)
def test_claims_of_the_wrong_shape_are_rejected(
    service: TokenService, claim: str, value: object
) -> None:
    claims = claims_of(service.issue_access_token(1, "user", 0, 9).token)
    claims[claim] = value
    with pytest.raises(InvalidTokenError):
        service.verify_access_token(signed(claims))


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", "....", "ey.ey.ey"])
def test_malformed_tokens_are_rejected(service: TokenService, token: str) -> None:
    with pytest.raises(InvalidTokenError):
        service.verify_access_token(token)


def test_tampered_signature_is_rejected(service: TokenService) -> None:
    token = service.issue_access_token(1, "user", 0, 9).token
    header, payload, signature = token.split(".")
    tampered_payload = b64({**claims_of(token), "role": "admin"})
    with pytest.raises(InvalidTokenError):
        service.verify_access_token(f"{header}.{tampered_payload}.{signature}")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidTokenError):
        service.verify_access_token(f"{header}.{payload}.{flipped}")


def test_a_second_factor_shows_in_amr_and_acr(service: TokenService) -> None:
    issued = service.issue_access_token(7, "user", 0, 9, ("pwd", "otp"))
    assert (claims_of(issued.token)["amr"], claims_of(issued.token)["acr"]) == (
        ["pwd", "otp"],
        "aal2",
    )
    verified = service.verify_access_token(issued.token)
    assert (verified.amr, verified.acr) == (("pwd", "otp"), "aal2")


@pytest.mark.parametrize("amr", [[], "pwd", ["pwd", "sms"], [1], None])
def test_an_unknown_or_malformed_amr_is_refused(service: TokenService, amr: Any) -> None:
    claims = claims_of(service.issue_access_token(7, "user", 0, 9).token)
    with pytest.raises(InvalidTokenError):
        service.verify_access_token(signed({**claims, "amr": amr}))


def test_a_token_from_before_amr_counts_as_password_only(service: TokenService) -> None:
    claims = claims_of(service.issue_access_token(7, "user", 0, 9).token)
    del claims["amr"], claims["acr"]
    assert service.verify_access_token(signed(claims)).amr == ("pwd",)
