"""Property tests of the input rules (CONTRACT.md "Input rules"), on SQLite and PostgreSQL.

- Anything the rules accept registers, reads back unchanged (the email's domain lower-cased)
  and signs in, by username and by email, in another letter case.
- Anything outside them (too short or long, U+0000, bad characters, unknown fields, wrong
  types) answers 422 and stores nothing.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from A_DatabasePackage.database import Database
from A_DatabasePackage.settings import Settings
from B_EntityPackage.login_entity_master import User
from tests.fuzz_support import empty_tables
from tests.support import STRONG_PASSWORD, bearer, make_settings

EXAMPLES = 100
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

USERNAME_TAIL = string.ascii_letters + string.digits + "_.-"
# RFC 5322 atext: what a dot-atom local part may hold besides letters and digits.
ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
NO_NUL = st.characters(codec="utf-8", exclude_characters="\x00")  # no lone surrogates


pytestmark = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture
def live(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def user_count(app: FastAPI) -> int:
    database: Database = app.state.database
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


usernames = st.builds(
    lambda first, tail: first + tail,
    st.sampled_from(string.ascii_letters + string.digits),
    st.one_of(
        st.text(USERNAME_TAIL, min_size=2, max_size=2),  # the shortest, 3
        st.text(USERNAME_TAIL, min_size=31, max_size=31),  # the longest, 32
        st.text(USERNAME_TAIL, min_size=2, max_size=31),
    ),
)
local_parts = st.one_of(
    st.lists(st.text(ATEXT, min_size=1, max_size=12), min_size=1, max_size=4).map(".".join),
    # Internationalised local parts (RFC 6531), in NFC as the validator keeps them.
    st.text(st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=12).filter(
        lambda text: unicodedata.is_normalized("NFC", text)
    ),
)
# Letters, digits and inner hyphens; `ab--` (hyphens in the third and fourth places) is kept for
# Punycode (`xn--`) and refused by the validator, as IDNA says.
domain_labels = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?\Z").filter(
    lambda label: label[2:4] != "--"
)
emails = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    local_parts,
    st.lists(domain_labels, min_size=1, max_size=3),
    st.sampled_from(["com", "ORG", "Net", "io", "de"]),
)
passwords = st.one_of(
    st.text(NO_NUL, min_size=12, max_size=128),
    # Astral characters (emoji, CJK extension B) count as one code point each.
    st.text(st.characters(min_codepoint=0x10000, max_codepoint=0x2FFFF), min_size=12, max_size=40),
)
full_names = st.one_of(st.none(), st.text(NO_NUL, max_size=100))


def other_case(text: str) -> str:
    """Every letter that has a one-to-one upper/lower pair, swapped (`a`/`A`, `é`/`É`);
    letters without one (`ß`, `İ`, the micro sign) are kept as they are."""
    return "".join(
        swapped if len(swapped) == 1 and swapped.swapcase() == char else char
        for char, swapped in ((char, char.swapcase()) for char in text)
    )


@PROPERTY_SETTINGS
@given(username=usernames, email=emails, password=passwords, full_name=full_names)
def test_accepted_input_is_stored_unchanged_and_signs_in(
    app: FastAPI,
    live: TestClient,
    username: str,
    email: str,
    password: str,
    full_name: str | None,
) -> None:
    folded = password.casefold()
    assume(folded not in (username.casefold(), email.casefold()))
    assume(folded not in app.state.security.policy.common_passwords)
    empty_tables(app)
    body: dict[str, Any] = {"username": username, "email": email, "password": password}
    if full_name is not None:
        body["full_name"] = full_name
    created = live.post("/register", json=body)
    assert created.status_code == 201, (body, created.text)
    local, _, domain = email.rpartition("@")
    expected = {"username": username, "email": f"{local}@{domain.lower()}", "full_name": full_name}
    assert {key: created.json()[key] for key in expected} == expected

    for sign_in_name in (username, email, other_case(username), other_case(email)):
        signed_in = live.post("/login", json={"username": sign_in_name, "password": password})
        assert signed_in.status_code == 200, (body, sign_in_name, signed_in.text)
        me = live.get("/users/me", headers=bearer(signed_in.json()["access_token"]))
        assert me.json() == created.json()
    wrong = live.post("/login", json={"username": username, "password": password + "x"})
    assert wrong.status_code == 401


VALID_BODY = {"username": "valid_name", "email": "valid@example.com", "password": STRONG_PASSWORD}
WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers()),
)


def _field_mutations(field: str, ok: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Values for `field` that break one of its rules."""
    with_nul = st.builds(lambda a, b: a + "\x00" + b, ok, st.text(NO_NUL, max_size=5))
    cases: dict[str, list[st.SearchStrategy[Any]]] = {
        "username": [
            st.text(USERNAME_TAIL, max_size=2),
            st.text(USERNAME_TAIL, min_size=33, max_size=60),
            st.builds(lambda head, tail: head + tail, st.sampled_from("_.-"), st.just("abc")),
            st.builds(
                lambda head, bad: head + bad,
                st.just("ab"),
                st.characters(exclude_characters=USERNAME_TAIL),
            ),
        ],
        "email": [
            st.text(NO_NUL, max_size=30).filter(lambda text: "@" not in text),
            st.builds(lambda local: local + "@", st.text(ATEXT, min_size=1, max_size=10)),
            st.just("a@" + "b" * 64 + ".com"),  # a domain label over 63 characters
            st.just("a" * 64 + "@" + ".".join(["b" * 60] * 5) + ".com"),  # over 320
            st.just("spaced name@example.com"),
        ],
        "password": [
            st.text(NO_NUL, max_size=11),
            st.text(NO_NUL, min_size=129, max_size=200),
        ],
        "full_name": [st.text(NO_NUL, min_size=101, max_size=150)],
    }
    # full_name may be null; the other fields may not.
    wrong_types = WRONG_TYPES.filter(lambda value: value is not None or field != "full_name")
    return st.one_of(*cases[field], with_nul, wrong_types)


ok_values = {
    "username": st.just("valid_name"),
    "email": st.just("valid@example.com"),
    "password": st.just(STRONG_PASSWORD),
    "full_name": st.text(NO_NUL, max_size=100),
}
broken_field_bodies = st.sampled_from(sorted(ok_values)).flatmap(
    lambda field: _field_mutations(field, ok_values[field]).map(
        lambda value: {**VALID_BODY, field: value}
    )
)
extra_field_bodies = st.builds(
    lambda name, value: {**VALID_BODY, name: value},
    st.one_of(
        st.sampled_from(["role", "is_active", "id", "token_version", "hashed_password"]),
        st.text(min_size=1, max_size=20).filter(lambda name: name not in ok_values),
    ),
    st.one_of(st.just("admin"), st.booleans(), st.integers(), st.text(max_size=10)),
)
missing_field_bodies = st.sampled_from(["username", "email", "password"]).map(
    lambda field: {key: value for key, value in VALID_BODY.items() if key != field}
)
non_object_bodies = WRONG_TYPES | st.text(max_size=10)


@PROPERTY_SETTINGS
@given(
    body=st.one_of(broken_field_bodies, extra_field_bodies, missing_field_bodies, non_object_bodies)
)
def test_rejected_input_is_422_and_stores_nothing(
    app: FastAPI, live: TestClient, body: Any
) -> None:
    before = user_count(app)
    response = live.post("/register", json=body)
    assert response.status_code == 422, (body, response.text)
    assert response.json()["code"] == "VALIDATION_ERROR", response.text
    assert user_count(app) == before
    signed_in = live.post("/login", json={"username": "valid_name", "password": STRONG_PASSWORD})
    assert signed_in.status_code == 401


@pytest.fixture(name="settings")
def settings_without_rate_limits(database_url: str) -> Settings:
    """Fuzzing registers and signs in far more often than any rate limit allows; the limits
    have their own tests, so they are off here."""
    return make_settings(database_url, RATE_LIMIT_ENABLED=False)
