"""Bearer tokens on the way in: the header, the signature and every claim.

Forged tokens start from the claims of a real token (so whatever else the service puts in a
token is kept) and change one thing; re-signing the untouched claims is the control that shows
each rejection is due to that one change.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.admin_support import (
    assert_error,
    b64url,
    sign,
    unsigned_token,
    unverified_claims,
)
from tests.support import STRONG_PASSWORD, FakeClock, bearer, login, register

PROTECTED_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/users/me", None),
    ("PUT", "/update", {"full_name": "Alice"}),
    ("DELETE", "/delete", {"password": STRONG_PASSWORD}),
    ("GET", "/users", None),
    ("GET", "/users/1", None),
    ("PATCH", "/users/1", {"full_name": "Alice"}),
    ("DELETE", "/users/1", None),
]
CONTRACT_CLAIMS = ("sub", "iat", "nbf", "exp", "jti", "iss", "aud", "type", "role")


@pytest.fixture
def alice_token(client: TestClient) -> str:
    register(client, "alice")
    return login(client, "alice")


@pytest.fixture
def alice_claims(alice_token: str) -> dict[str, Any]:
    return unverified_claims(alice_token)


def me(client: TestClient, authorization: str | None) -> Any:
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.get("/users/me", headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED_ROUTES)
def test_every_protected_route_distinguishes_missing_and_invalid_tokens(
    client: TestClient, alice_token: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    missing = client.request(method, path, json=body)
    assert_error(missing, 401, "NOT_AUTHENTICATED")
    garbage = client.request(method, path, json=body, headers=bearer("not-a-token"))
    assert_error(garbage, 401, "INVALID_TOKEN")
    # The account is untouched by the refused calls.
    assert client.get("/users/me", headers=bearer(alice_token)).status_code == 200


def test_valid_token_reads_me(client: TestClient) -> None:
    created = register(client, "alice", full_name="Alice Liddell")
    response = me(client, f"Bearer {login(client, 'alice')}")
    assert response.status_code == 200
    assert response.json() == created
    assert set(created) == {
        "id",
        "username",
        "email",
        "full_name",
        "role",
        "is_active",
        "created_at",
        "updated_at",
        "email_verified",
    }
    assert created["role"] == "user"
    assert created["is_active"] is True


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
def test_scheme_is_matched_case_insensitively(
    client: TestClient, alice_token: str, scheme: str
) -> None:
    response = me(client, f"{scheme} {alice_token}")
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "alice"


@pytest.mark.parametrize(
    "template",
    [
        "Basic {token}",
        "Token {token}",
        "Bearer",
        "Bearer ",
        "{token}",
        "Bearer {token} extra",
        "Bearer {token}x",
        "Bearer x{token}",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer ...",
        "Bearer eyJhbGciOiJIUzI1NiJ9",
        "Bearer " + "A" * 2000,
    ],
)
def test_unusable_authorization_headers_are_invalid_token(
    client: TestClient, alice_token: str, template: str
) -> None:
    assert_error(me(client, template.format(token=alice_token)), 401, "INVALID_TOKEN")


def test_basic_credentials_of_a_real_account_are_refused(client: TestClient) -> None:
    register(client, "alice")
    basic = base64.b64encode(f"alice:{STRONG_PASSWORD}".encode()).decode()
    assert_error(me(client, f"Basic {basic}"), 401, "INVALID_TOKEN")


def test_resigned_untouched_claims_are_accepted(
    client: TestClient, alice_claims: dict[str, Any]
) -> None:
    response = client.get("/users/me", headers=bearer(sign(alice_claims)))
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "alice"


def test_bad_signature(client: TestClient, alice_token: str, alice_claims: dict[str, Any]) -> None:
    forged = sign(alice_claims, key="another-secret-key-that-is-long-enough-987654")
    assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")
    header, payload, signature = alice_token.split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    tampered = f"{header}.{payload}.{flipped}"
    assert_error(client.get("/users/me", headers=bearer(tampered)), 401, "INVALID_TOKEN")
    no_signature = f"{header}.{payload}."
    assert_error(client.get("/users/me", headers=bearer(no_signature)), 401, "INVALID_TOKEN")


def test_payload_swapped_under_a_valid_signature(
    client: TestClient, alice_token: str, alice_claims: dict[str, Any]
) -> None:
    header, _, signature = alice_token.split(".")
    escalated = b64url({**alice_claims, "role": "admin", "sub": "2"})
    forged = f"{header}.{escalated}.{signature}"
    assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")


@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_another_algorithm_with_the_same_key(
    client: TestClient, alice_claims: dict[str, Any], algorithm: str
) -> None:
    forged = sign(alice_claims, algorithm=algorithm)
    assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none(client: TestClient, alice_claims: dict[str, Any], alg: str) -> None:
    forged = unsigned_token(alice_claims).replace(
        b64url({"alg": "none", "typ": "JWT"}), b64url({"alg": alg, "typ": "JWT"})
    )
    assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")


def test_expired_by_the_clock(client: TestClient, clock: FakeClock, alice_token: str) -> None:
    clock.advance(minutes=14)
    assert client.get("/users/me", headers=bearer(alice_token)).status_code == 200
    clock.advance(minutes=2)
    assert_error(client.get("/users/me", headers=bearer(alice_token)), 401, "INVALID_TOKEN")


def test_exactly_at_expiry_is_expired(
    client: TestClient, clock: FakeClock, alice_token: str, alice_claims: dict[str, Any]
) -> None:
    clock.advance(seconds=alice_claims["exp"] - time.time())
    assert_error(client.get("/users/me", headers=bearer(alice_token)), 401, "INVALID_TOKEN")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"iat": -3600, "nbf": -3600, "exp": -60}, id="expired"),
        pytest.param({"nbf": 120}, id="not-yet-valid"),
        pytest.param({"iat": 120, "nbf": 120, "exp": 1020}, id="issued-in-the-future"),
    ],
)
def test_time_claims(
    client: TestClient, alice_claims: dict[str, Any], changes: dict[str, int]
) -> None:
    now = int(time.time())
    forged = sign({**alice_claims, **{name: now + delta for name, delta in changes.items()}})
    assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"iss": "someone-else"}, id="issuer"),
        pytest.param({"aud": "another-service"}, id="audience"),
        pytest.param({"aud": ["another-service"]}, id="audience-list"),
        pytest.param({"type": "refresh"}, id="type-refresh"),
        pytest.param({"type": "ACCESS"}, id="type-case"),
        pytest.param({"sub": "999999"}, id="unknown-user"),
        pytest.param({"sub": "abc"}, id="sub-not-a-number"),
        pytest.param({"sub": "-1"}, id="sub-negative"),
        pytest.param({"sub": "0"}, id="sub-zero"),
        pytest.param({"sub": str(2**63)}, id="sub-past-64-bits"),
        pytest.param({"sub": "9" * 40}, id="sub-huge"),
        pytest.param({"sub": 1}, id="sub-integer"),
        pytest.param({"exp": "never"}, id="exp-string"),
        pytest.param({"nbf": "now"}, id="nbf-string"),
    ],
)
def test_forged_claims(
    client: TestClient, alice_claims: dict[str, Any], changes: dict[str, Any]
) -> None:
    forged = sign({**alice_claims, **changes})
    assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")


@pytest.mark.parametrize("claim", CONTRACT_CLAIMS)
def test_every_required_claim_is_required(
    client: TestClient, alice_claims: dict[str, Any], claim: str
) -> None:
    assert claim in alice_claims
    forged = sign({name: value for name, value in alice_claims.items() if name != claim})
    assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")


def test_role_claim_grants_nothing(client: TestClient, alice_claims: dict[str, Any]) -> None:
    """Even a correctly signed token claiming `admin` only carries the stored role."""
    forged = sign({**alice_claims, "role": "admin"})
    response = client.get("/users", headers=bearer(forged))
    assert response.status_code in (401, 403), response.text
    assert response.json()["code"] in ("INVALID_TOKEN", "FORBIDDEN")
