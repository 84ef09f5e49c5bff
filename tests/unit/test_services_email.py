"""AuthService's email rules on the in-memory unit of work: REQUIRE_VERIFIED_EMAIL refuses
only the right password of an unverified account (and gives its attempt back), and without
mail tools an email change is immediate and unproven."""

from __future__ import annotations

import pytest

from C_SchemaPackage.request import RegisterRequest, UpdateSelfRequest
from D_CustomExceptionPackage.errors import EmailNotVerifiedError, InvalidCredentialsError
from H_ServiceImplementationPackage.login_service_implementation import AuthService
from tests.fakes import CLIENT, ServiceKit, service_kit
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD


def strict(kit: ServiceKit) -> AuthService:
    return AuthService(
        kit.uow, kit.hasher, kit.policy, kit.sessions, kit.clock, require_verified_email=True
    )


def register(kit: ServiceKit) -> int:
    request = RegisterRequest(username="alice", email="alice@example.com", password=STRONG_PASSWORD)
    return kit.auth.register(request).id


def mark_verified(kit: ServiceKit, user_id: int) -> None:
    with kit.uow:
        user = kit.users.get(user_id)
        assert user is not None
        user.email_verified_at = kit.clock.now()
        kit.uow.commit()


def test_an_unverified_account_is_refused_only_after_the_right_password() -> None:
    kit = service_kit()
    user_id = register(kit)
    service = strict(kit)
    with pytest.raises(InvalidCredentialsError):
        service.login("alice", OTHER_STRONG_PASSWORD, CLIENT)
    with pytest.raises(EmailNotVerifiedError):
        service.login("alice", STRONG_PASSWORD, CLIENT)
    assert kit.uow.audit.kinds()[-1] == ("login", "failure", user_id, "EMAIL_NOT_VERIFIED")
    assert kit.uow.sessions.session_rows == {}  # no session was opened

    mark_verified(kit, user_id)
    assert service.login("alice", STRONG_PASSWORD, CLIENT).access_token


def test_without_mail_tools_an_email_change_is_immediate_and_unproven() -> None:
    kit = service_kit()
    user_id = register(kit)
    mark_verified(kit, user_id)
    changed = kit.auth.update_self(
        user_id,
        UpdateSelfRequest(email="alice@new.example", current_password=STRONG_PASSWORD),
    )
    assert (changed.email, changed.email_verified) == ("alice@new.example", False)


def test_a_change_of_letter_case_keeps_the_address_verified() -> None:
    kit = service_kit()
    user_id = register(kit)
    mark_verified(kit, user_id)
    changed = kit.auth.update_self(
        user_id,
        UpdateSelfRequest(email="Alice@example.com", current_password=STRONG_PASSWORD),
    )
    assert (changed.email, changed.email_verified) == ("Alice@example.com", True)
