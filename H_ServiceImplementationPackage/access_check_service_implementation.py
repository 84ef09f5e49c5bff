"""The access-token check: a valid signature and claims, a token not ended (nor its signing
key revoked), and an account that still exists, is active and has not ended its tokens since
(token_version)."""

from __future__ import annotations

from B_EntityPackage.domain import Clock
from C_SchemaPackage.response import UserOut
from D_CustomExceptionPackage.errors import InvalidTokenError
from E_SecurityPackage.access_context import CurrentAccess
from E_SecurityPackage.key_ring import revoked_key_mark
from E_SecurityPackage.login_auth_jwt import TokenService
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.access_check_service_function import AccessCheckServiceInterface


class AccessCheckService(AccessCheckServiceInterface):
    def __init__(self, uow: AbstractUnitOfWork, tokens: TokenService, clock: Clock) -> None:
        self.uow = uow
        self.tokens = tokens
        self.clock = clock

    def authenticate_access_token(self, token: str) -> CurrentAccess:
        claims = self.tokens.verify_access_token(token)
        key_mark = revoked_key_mark(claims.kid) if claims.kid is not None else None
        with self.uow:
            ended = [claims.jti] if key_mark is None else [claims.jti, key_mark]
            if self.uow.denied_tokens.is_any_denied(ended):
                if key_mark is not None and self.uow.denied_tokens.is_denied(key_mark):
                    self.tokens.keys.refresh_soon()  # this worker may still sign with it
                raise InvalidTokenError()
            account = self.uow.users.account_in_live_session(
                claims.user_id, claims.session_id, self.clock.now()
            )
        if (
            account is None
            or not account.is_active
            or account.token_version != claims.token_version
        ):
            raise InvalidTokenError()
        return CurrentAccess(user=UserOut.model_validate(account), claims=claims)
