"""The providers of the key routes: the signing-key service and the introspection service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.introspection_service_function import (
    IntrospectionServiceInterface,
)
from G_ServiceFunctionPackage.signing_key_service_function import SigningKeyServiceInterface
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.introspection_service_implementation import (
    IntrospectionService,
)
from H_ServiceImplementationPackage.signing_key_service_implementation import SigningKeyService
from I_ControllerPackage.app_components import SecurityComponents
from I_ControllerPackage.dependencies import (
    ClientInfoDep,
    CurrentAdmin,
    UnitOfWorkDep,
    access_check_of,
    get_db,
)


def signing_key_service(
    security: SecurityComponents, uow: AbstractUnitOfWork, audit: AuditRecorder | None = None
) -> SigningKeyServiceInterface:
    """A change of keys in this process is seen by its key ring at once; other processes read
    it within SIGNING_KEY_CACHE_SECONDS (a revocation they refuse at once: the access check)."""
    return SigningKeyService(
        uow,
        security.clock,
        security.key_policy,
        on_change=security.tokens.keys.invalidate,
        audit=audit,
    )


def _security(request: Request) -> SecurityComponents:
    components: SecurityComponents = request.app.state.security
    return components


async def get_signing_key_service(
    request: Request, uow: UnitOfWorkDep, actor: CurrentAdmin, client: ClientInfoDep
) -> SigningKeyServiceInterface:
    """Admins only; the admin is recorded as the actor of a rotation or revocation."""
    security = _security(request)
    audit = AuditRecorder(security.clock, client, actor_id=actor.id)
    return signing_key_service(security, uow, audit)


async def get_introspection_service(request: Request) -> IntrospectionServiceInterface:
    security = _security(request)
    new: AbstractUnitOfWork = await get_db(request)
    return IntrospectionService(
        access_check_of(request),
        signing_key_service(security, new),
        request.app.state.introspection_clients,
        issuer=security.tokens.issuer,
        audience=security.tokens.audience,
    )


SigningKeyServiceDep = Annotated[SigningKeyServiceInterface, Depends(get_signing_key_service)]
IntrospectionServiceDep = Annotated[
    IntrospectionServiceInterface, Depends(get_introspection_service)
]
