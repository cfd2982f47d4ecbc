"""The plugin contract of isogov (pluggy project name "isogov").

Every hook is called with keyword arguments; an implementation may accept any subset of them. Hooks named
`register_*`-style (identity, persistence, web, permissions, jobs, evidence targets) run once at start-up and
return values or lists. Hooks whose result is marked *awaitable* may return a coroutine; core awaits it.
Per-tenant collections (reminders, indicators, eligibility, tenant events, demo data) are called one plugin at
a time: a plugin that raises is logged and skipped for that call and never takes the others down.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("isogov")
hookimpl = pluggy.HookimplMarker("isogov")


@hookspec
def isogov_module():
    """Identity: return a `core.contracts.ModuleInfo` (name, vi/en titles, version, modules it depends on).

    Every plugin implements it exactly once. Names are unique; a missing dependency fails start-up.
    """


@hookspec
def isogov_piccolo_app():
    """Persistence: return the dotted path of the plugin's `piccolo_app` module (which defines APP_CONFIG).

    Core builds Piccolo's APP_REGISTRY from these and runs their committed migrations in dependency order.
    """


@hookspec
def isogov_route_handlers():
    """Web: return a list of Litestar controllers / route handlers with paths relative to the module root.

    Core mounts them under `/api/v1/tenants/{tenant_code}/{module}/` behind the tenant guard, which checks
    membership (404 otherwise), that the module is enabled for the tenant (404 naming the module otherwise)
    and the permission named in each handler's `opt={"permission": ...}` (403 otherwise). Handlers receive a
    `ctx: core.tenancy.TenantContext` dependency. Every handler must name a permission.
    """


@hookspec
def isogov_permissions():
    """Permissions: return a list of `core.contracts.Permission` the module defines (names `<module>.<action>`)."""


@hookspec
def isogov_jobs():
    """Jobs: return a list of arq job functions `async def job(ctx, ...)`; each must be idempotent."""


@hookspec
def isogov_cron_jobs():
    """Jobs: return a list of `arq.cron.CronJob` run by the single scheduler process."""


@hookspec
def isogov_reminders(ctx, day):
    """Reminders (awaitable): for one tenant (`ctx`, a system TenantContext) and a `datetime.date`, return a
    list of `core.contracts.Reminder`: what is due or overdue (visits, corrective actions, audits, sessions)."""


@hookspec
def isogov_indicators(ctx, year):
    """Indicators (awaitable): for one tenant (`ctx`) and a year, return a list of `core.contracts.Indicator`:
    aggregate counts for the national view. No personal data."""


@hookspec
def isogov_evidence_targets():
    """Evidence targets: return a list of `core.contracts.EvidenceTarget` (entity types accepting attachments)."""


@hookspec
def isogov_eligibility(ctx, agency_id):
    """Eligibility (awaitable): return a dict of facts about one agency of ctx's tenant that other modules may
    ask for, keys prefixed with the module name, e.g. {"certification.announced": True}."""


@hookspec
def isogov_tenant_event(ctx, event):
    """Tenant events (awaitable): react to a `core.contracts.TenantEvent` (module enabled/disabled for ctx's
    tenant, tenant created or merged). Return value ignored."""


@hookspec
def isogov_seed_demo(ctx, agencies):
    """Demo data (awaitable): seed this module's part of a demo province. `ctx` is a system TenantContext of
    the demo tenant, `agencies` maps agency codes to ids. Called only when the module is enabled there."""
