"""auth_sign_ins_total for the outcomes that came with later features: the second step of a
two-factor sign-in (/login/mfa) and REQUIRE_VERIFIED_EMAIL's refusal. Counters are read as
differences between two scrapes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import assert_error
from tests.metrics_support import scrape
from tests.mfa_support import current_code, enable_totp, mfa_token, second_step, step_clock
from tests.support import STRONG_PASSWORD, FixedClock, register

SIGN_INS = "auth_sign_ins_total"


@pytest.fixture
def clock() -> FixedClock:
    return step_clock()


def test_the_second_step_is_counted(client: TestClient, clock: FixedClock) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    before = scrape(client)
    accepted = {current_code(enrolled.secret, clock, steps) for steps in (-1, 0, 1)}
    wrong_code = next(
        code for code in ("000000", "111111", "222222", "333333") if code not in accepted
    )
    wrong = second_step(client, mfa_token(client), code=wrong_code)
    assert_error(wrong, 401, "INVALID_MFA_CODE")
    right = second_step(client, mfa_token(client), code=current_code(enrolled.secret, clock))
    assert right.status_code == 200, right.text
    after = scrape(client)
    route = "/login/mfa"
    assert after.minus(before, SIGN_INS, route=route, outcome="invalid_credentials") == 1
    assert after.minus(before, SIGN_INS, route=route, outcome="success") == 1
    assert after.minus(before, SIGN_INS, route="/login", outcome="success") == 2


def test_an_unverified_address_is_counted_apart(settings: Settings, clock: FixedClock) -> None:
    strict = settings.model_copy(update={"REQUIRE_VERIFIED_EMAIL": True})
    with TestClient(create_app(strict, clock=clock)) as client:
        register(client)
        before = scrape(client)
        refused = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
        assert_error(refused, 403, "EMAIL_NOT_VERIFIED")
        after = scrape(client)
    assert after.minus(before, SIGN_INS, route="/login", outcome="unverified") == 1
    assert after.minus(before, SIGN_INS, route="/login", outcome="success") == 0
