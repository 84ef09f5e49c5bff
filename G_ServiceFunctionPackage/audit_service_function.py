"""Reading the audit trail (admins only; the route checks the role)."""

from __future__ import annotations

import abc

from C_SchemaPackage.audit_schemas import AuditPage, AuditQuery


class AuditServiceInterface(abc.ABC):
    @abc.abstractmethod
    def list_events(self, where: AuditQuery, offset: int, limit: int) -> AuditPage:
        """The events matching `where`, ordered by id."""
