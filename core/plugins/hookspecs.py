"""The plugin contract of isogov (pluggy project name "isogov"), version 2.

Every hook is called with keyword arguments; an implementation may accept any subset of them, so adding an
argument to a spec never breaks a plugin. Two kinds of hooks:

- **Start-up hooks** (identity, persistence, routes, permissions, CLI commands, jobs, schedules, notification
  kinds, evidence targets) run once when the plugin system is built; their answers are kept in registries on the
  `PluginSystem` (`system.jobs()`, `system.schedules()`, ...). Nothing outside core calls `pm.hook`.
- **Collections** (reminders, indicators, facts, tenant events, merge, demo data) are awaited one module at a time
  through `PluginSystem.collect()` and its typed helpers (`system.facts(...)`, `system.indicators(...)`). A
  module that raises is logged with its name and skipped for that call; it never takes the others down (the
  merge is the exception: a failing module aborts the merge's transaction). Collections that only read get a
  read-only context: a write through it raises.

Built-in parts of core (agencies, users, audit, notifications, people, the national view) and the top-level
packages `tenants/` and `workers/` implement these same hooks; core's app factory and CLI only call the plugin
system.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("isogov")
hookimpl = pluggy.HookimplMarker("isogov")


@hookspec
def isogov_module():
    """Identity: return a `core.contracts.ModuleInfo` (name, vi/en titles, version, modules it depends on,
    `builtin` for parts of the platform that are always on).

    Every plugin implements it exactly once. Names are unique; a missing dependency fails start-up.
    """


@hookspec
def isogov_piccolo_app():
    """Persistence: return the dotted path of the plugin's `piccolo_app` module (which defines APP_CONFIG).

    Core builds Piccolo's APP_REGISTRY from these and runs their committed migrations in dependency order.
    """


@hookspec
def isogov_route_handlers():
    """Web: return a list of Litestar controllers / route handlers, or a list of `core.contracts.Routes`.

    A plain list is mounted under `/api/v1/tenants/{tenant_code}/{module}/` behind the tenant guard, which checks
    membership (404 otherwise), that the module is enabled for the tenant (404 naming the module otherwise)
    and the permission named in each handler's `opt={"permission": ...}` (403 otherwise). Handlers receive a
    `ctx: core.tenancy.context.TenantContext` dependency. Every tenant handler must name a permission.
    Built-in parts may mount `Routes(..., under="tenant")` or `Routes(..., under="root")`.
    """


@hookspec
def isogov_permissions():
    """Permissions: return a list of `core.contracts.Permission` the module defines (names `<module>.<action>`)."""


@hookspec
def isogov_cli_commands():
    """CLI: return a list of `click.Command` objects the `isogov` command line mounts (names must be unique)."""


@hookspec
def isogov_jobs():
    """Jobs: return a list of job functions `async def job(ctx, **kwargs)` the workers can run (queued through
    `core.notifications.outbox.enqueue`). `ctx` is the worker's context mapping. Each job must be idempotent."""


@hookspec
def isogov_schedules():
    """Schedules: return a list of `core.contracts.Schedule` (cron times, per-tenant or platform-wide) run by the
    single scheduler process. Plugins never import the queue library."""


@hookspec
def isogov_notification_kinds():
    """Notification kinds: return a list of `core.contracts.NotificationKind` (vi/en title templates, default
    audience and channels). `core.notifications.notify.notify` refuses a kind nobody declared."""


@hookspec
def isogov_evidence_targets():
    """Evidence targets: return a list of `core.contracts.EvidenceTarget` (entity types accepting attachments)."""


@hookspec
def isogov_reminders(ctx, day):
    """Reminders (awaitable): for one tenant (`ctx`, a read-only system TenantContext) and a `datetime.date`,
    return a list of `core.contracts.Reminder`: what is due or overdue (visits, corrective actions, audits)."""


@hookspec
def isogov_indicators(reader, tenants, year):
    """Indicators (awaitable): for a set of tenants (`tenants`, a list of `core.tenancy.TenantInfo` that have the
    module enabled) and a year, return a list of `core.contracts.Indicator` with `tenant_id` set, labels (vi/en),
    unit and breakdown by agency level. Read through `reader.scope(Table)` (a read-only scope over exactly those
    tenants): one query per module for all the tenants, not one per tenant. Counts only, no personal data.
    A figure for a year counts agencies as they were in that year (valid_from / valid_to)."""


@hookspec
def isogov_facts(ctx, agencies, people, on, names):
    """Facts (awaitable): for subjects of ctx's tenant (`agencies` and `people`: lists of ids, either may be
    empty) on a date `on`, return a list of `core.contracts.Fact`, each with a Vietnamese explanation.
    One call for 3,000 agencies is one query (or a few) per module, never one per subject. `ctx` is read-only.
    `names`: the fact names the caller wants (a frozenset of "<module>.<fact>"), or None for all. A module may take
    it to build only those (an implementation may leave the argument out); the sheet keeps only the names asked
    whatever a module returns, and a module none of whose facts is asked is not called.
    Callers use `PluginSystem.facts(ctx, agencies=..., people=..., on=..., names=...)`, which returns a
    `FactSheet`."""


@hookspec
def isogov_tenant_event(ctx, event):
    """Tenant events (awaitable): react to a `core.contracts.TenantEvent` (module enabled/disabled for ctx's
    tenant, tenant created). Delivered by the workers through the outbox after the change committed, at least
    once: be idempotent. Return value ignored."""


@hookspec
def isogov_tenant_merge(merge):
    """Tenant merge (awaitable): take part in merging `merge.sources` into `merge.target`
    (a `core.contracts.TenantMerge`) inside the merge's transaction. Modules are called FIRST; then core moves
    every remaining row of every tenant-owned table from the sources to the target (tenant_id rewritten, ids kept).
    So a module resolves here what would clash or embeds the tenant: rows unique per tenant (settings: keep the
    target's, move the source's only when the target has none), numbering sequences, unique keys like
    "<tenant_id>:<x>", references by code. It may move its own rows itself. With `merge.dry_run` change nothing.
    Return a `core.contracts.MergeReport` with the conflicts found and the rule applied to each. Raising aborts
    the whole merge."""


@hookspec(firstresult=True)
def isogov_demo_agencies(province):
    """Demo data ("who has it"): the agency tree of the demo province `province` (a tenant code such as
    "lang-son") as a list of `core.contracts.DemoAgency`, or None when this plugin does not know it. Tests of any
    module seed the demo provinces' agencies through it (`core.testing.seed_demo_agencies`) without importing the
    package that owns the demo."""


@hookspec
def isogov_seed_demo(ctx, agencies):
    """Demo data (awaitable): seed this module's part of a demo province. `ctx` is a system TenantContext of
    the demo tenant, `agencies` maps agency codes to ids. Called only when the module is enabled there."""
