"""Reads the audit trail."""

from __future__ import annotations

from C_SchemaPackage.audit_schemas import AuditEventOut, AuditPage, AuditQuery
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.audit_service_function import AuditServiceInterface


class AuditService(AuditServiceInterface):
    def __init__(self, uow: AbstractUnitOfWork) -> None:
        self.uow = uow

    def list_events(self, where: AuditQuery, offset: int, limit: int) -> AuditPage:
        with self.uow:
            items = [
                AuditEventOut.model_validate(event)
                for event in self.uow.audit.page(where, offset, limit)
            ]
            return AuditPage(
                items=items, total=self.uow.audit.count(where), offset=offset, limit=limit
            )
