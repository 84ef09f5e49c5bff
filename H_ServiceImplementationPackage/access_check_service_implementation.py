"""The access-token check: a valid signature and claims, a token not ended, and an account
that still exists, is active and has not ended its tokens since (token_version)."""

from __future__ import annotations

from D_CustomExceptionPackage.errors import InvalidTokenError
from E_SecurityPackage.access_context import CurrentAccess
from E_SecurityPackage.login_auth_jwt import TokenService
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.access_check_service_function import AccessCheckServiceInterface
from H_ServiceImplementationPackage.account_rules import to_user_out


class AccessCheckService(AccessCheckServiceInterface):
    def __init__(self, uow: AbstractUnitOfWork, tokens: TokenService) -> None:
        self.uow = uow
        self.tokens = tokens

    def authenticate_access_token(self, token: str) -> CurrentAccess:
        claims = self.tokens.verify_access_token(token)
        with self.uow:
            if self.uow.denied_tokens.is_denied(claims.jti):
                raise InvalidTokenError()
            user = self.uow.users.get(claims.user_id)
            if user is None or not user.is_active or user.token_version != claims.token_version:
                raise InvalidTokenError()
            return CurrentAccess(user=to_user_out(user), claims=claims)
