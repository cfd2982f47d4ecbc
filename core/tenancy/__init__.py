"""Tenancy: the ownership base of tenant-owned rows (base), the scoped access path (context), the tenant tables
and the guard in front of every tenant route (guards)."""

from core.tenancy.base import Actor, TenantInfo, TenantScopeError, TenantTable, unscoped

__all__ = ["Actor", "TenantInfo", "TenantScopeError", "TenantTable", "unscoped"]
