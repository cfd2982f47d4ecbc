"""The plugin manager: loads plugins from the `isogov.plugins` entry points and checks the contract.

Start-up fails with a `PluginError` naming the culprit on: a plugin that cannot be imported, a misspelt hook
(check_pending), a missing or duplicate module name, a missing module dependency, a duplicate permission.
Duplicate routes are checked when the app is built (core.app).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, Iterable

import pluggy
import structlog

from core.plugins import hookspecs
from core.plugins.hookspecs import hookimpl, hookspec
from core.contracts import (EvidenceTarget, Fact, FactSheet, Indicator, ModuleInfo, NotificationKind, Permission,
                            Routes, Schedule)

log = structlog.get_logger("isogov.plugins")

ENTRY_POINT_GROUP = "isogov.plugins"

# Core's own parts, registered exactly like plugins (datasette's DEFAULT_PLUGINS). `tenants` and `workers` come
# through entry points like any business plugin: core imports neither.
DEFAULT_PLUGINS = (
    "core.tenancy.plugin",
    "core.health",
    "core.auth.plugin",
    "core.agencies.plugin",
    "core.users.plugin",
    "core.people.plugin",
    "core.audit.plugin",
    "core.notifications.plugin",
    "core.national.plugin",
)


class PluginError(RuntimeError):
    """The installed plugins do not form a working system; the message says which and why."""


@dataclass
class LoadedModule:
    info: ModuleInfo
    plugin: Any
    piccolo_app: str | None = None
    routes: list[Routes] = field(default_factory=list)
    permissions: list[Permission] = field(default_factory=list)
    cli_commands: list[Any] = field(default_factory=list)
    jobs: list[Any] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    notification_kinds: list[NotificationKind] = field(default_factory=list)
    evidence_targets: list[EvidenceTarget] = field(default_factory=list)

    @property
    def route_handlers(self) -> list[Any]:
        """Handlers mounted under the module's own path."""
        return [h for r in self.routes if r.under == "module" for h in r.handlers]


def _routes(value: Any, module_name: str, builtin: bool) -> list[Routes]:
    items = list(value or [])
    plain = [item for item in items if not isinstance(item, Routes)]
    routes = [item for item in items if isinstance(item, Routes)]
    if plain:
        routes.insert(0, Routes(handlers=tuple(plain)))
    for r in routes:
        if r.under != "module" and not builtin:
            raise PluginError(f"module {module_name!r} is not built in: its routes mount only under its own path")
    return routes


def _own_result(pm: pluggy.PluginManager, plugin: Any, hook_name: str) -> Any:
    """Call one plugin's own implementation of a start-up hook (None when it has none)."""
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        if impl.plugin is plugin:
            return impl.function()
    return None


def _piccolo_app_path(value: Any, module_name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    for mod_name, mod in list(sys.modules.items()):  # an AppConfig object: find the module defining it
        if getattr(mod, "APP_CONFIG", None) is value:
            return mod_name
    raise PluginError(f"module {module_name!r}: isogov_piccolo_app must return the dotted path of its piccolo_app")


class PluginSystem:
    """The loaded plugin manager and what the plugins declared, checked for consistency."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.modules: dict[str, LoadedModule] = {}
        for plugin_name, plugin in pm.list_name_plugin():  # registration order: deterministic messages
            if plugin is None or plugin is hookspecs:
                continue
            info = _own_result(pm, plugin, "isogov_module")
            if not isinstance(info, ModuleInfo):
                raise PluginError(f"plugin {plugin_name!r} does not implement isogov_module() returning ModuleInfo")
            if info.name in self.modules:
                raise PluginError(f"two plugins declare the module name {info.name!r}: "
                                  f"{pm.get_name(self.modules[info.name].plugin)!r} and {plugin_name!r}")
            for hook, kind in (("isogov_schedules", Schedule), ("isogov_notification_kinds", NotificationKind),
                               ("isogov_evidence_targets", EvidenceTarget), ("isogov_permissions", Permission)):
                bad = [v for v in _own_result(pm, plugin, hook) or [] if not isinstance(v, kind)]
                if bad:
                    raise PluginError(f"module {info.name!r}: {hook} must return core.contracts.{kind.__name__} "
                                      f"values, got {bad[0]!r}")
            self.modules[info.name] = LoadedModule(
                info=info,
                plugin=plugin,
                piccolo_app=_piccolo_app_path(_own_result(pm, plugin, "isogov_piccolo_app"), info.name),
                routes=_routes(_own_result(pm, plugin, "isogov_route_handlers"), info.name, info.builtin),
                permissions=list(_own_result(pm, plugin, "isogov_permissions") or []),
                cli_commands=list(_own_result(pm, plugin, "isogov_cli_commands") or []),
                jobs=list(_own_result(pm, plugin, "isogov_jobs") or []),
                schedules=[s if s.module else _with_module(s, info.name)
                           for s in _own_result(pm, plugin, "isogov_schedules") or []],
                notification_kinds=list(_own_result(pm, plugin, "isogov_notification_kinds") or []),
                evidence_targets=list(_own_result(pm, plugin, "isogov_evidence_targets") or []),
            )
        for name, mod in self.modules.items():
            missing = [dep for dep in mod.info.depends_on if dep not in self.modules]
            if missing:
                raise PluginError(f"module {name!r} depends on {', '.join(missing)}, which is not installed")
        for what, key in (("permission", lambda m: [p.name for p in m.permissions]),
                          ("notification kind", lambda m: [k.kind for k in m.notification_kinds]),
                          ("schedule", lambda m: [s.name for s in m.schedules]),
                          ("job", lambda m: [j.__name__ for j in m.jobs]),
                          ("CLI command", lambda m: [c.name for c in m.cli_commands]),
                          ("evidence target", lambda m: [e.target_type for e in m.evidence_targets])):
            seen: dict[str, str] = {}
            for name, mod in self.modules.items():
                for item in key(mod):
                    if item in seen:
                        raise PluginError(f"{what} {item!r} is defined twice: by {seen[item]!r} and {name!r}")
                    seen[item] = name
        for name, mod in self.modules.items():
            for kind in mod.notification_kinds:
                if not mod.info.builtin and kind.kind != name and not kind.kind.startswith(f"{name}."):
                    raise PluginError(f"notification kind {kind.kind!r} of module {name!r} must be {name!r} (the family of all its kinds) or start with {name + '.'!r}")

    def module_names(self) -> list[str]:
        """Modules a tenant can switch on and off (built-in parts of the platform are always on)."""
        return sorted(name for name, mod in self.modules.items() if not mod.info.builtin)

    def all_module_names(self) -> list[str]:
        return sorted(self.modules)

    def builtin_names(self) -> list[str]:
        return sorted(name for name, mod in self.modules.items() if mod.info.builtin)

    # Registries built once at start-up from the start-up hooks.
    def jobs(self) -> list[Any]:
        return [job for name in sorted(self.modules) for job in self.modules[name].jobs]

    def schedules(self) -> list[Schedule]:
        return [s for name in sorted(self.modules) for s in self.modules[name].schedules]

    def cli_commands(self) -> list[Any]:
        return [c for name in sorted(self.modules) for c in self.modules[name].cli_commands]

    def notification_kinds(self) -> dict[str, NotificationKind]:
        return {k.kind: k for name in sorted(self.modules) for k in self.modules[name].notification_kinds}

    def notification_kind(self, kind: str) -> NotificationKind | None:
        """The declared kind, or the declared family it belongs to ("reminder" covers "reminder.x.y")."""
        kinds = self.notification_kinds()
        parts = kind.split(".")
        for n in range(len(parts), 0, -1):
            found = kinds.get(".".join(parts[:n]))
            if found is not None:
                return found
        return None

    def evidence_targets(self) -> dict[str, EvidenceTarget]:
        return {t.target_type: t for name in sorted(self.modules) for t in self.modules[name].evidence_targets}

    def routes(self) -> list[tuple[str, Routes]]:
        return [(name, r) for name in sorted(self.modules) for r in self.modules[name].routes]

    def hooks_of(self, name: str) -> list[str]:
        """The hook names a module implements (for the introspection endpoint)."""
        plugin = self.modules[name].plugin
        return sorted(h for h in dir(self.pm.hook) if h.startswith("isogov_")
                      and any(impl.plugin is plugin for impl in getattr(self.pm.hook, h).get_hookimpls()))

    def enabled_or_builtin(self, modules: Iterable[str]) -> list[str]:
        return sorted(set(modules) | set(self.builtin_names()))

    # Typed collections.
    async def facts(self, ctx: Any, *, agencies: Iterable[Any] = (), people: Iterable[Any] = (), on: Any,
                    modules: Iterable[str] | None = None, names: Iterable[str] | None = None) -> FactSheet:
        """Ask every enabled module (all when `modules` is None) for facts about the subjects; one call each.
        With `names` ("<module>.<fact>"), only the modules of those names are asked and only those facts kept."""
        agencies, people = list(dict.fromkeys(agencies)), list(dict.fromkeys(people))
        if not agencies and not people:
            return FactSheet()
        if modules is None:
            from core.tenancy.guards import enabled_modules

            modules = self.enabled_or_builtin(await enabled_modules(ctx.tenant.id))
        wanted = None if names is None else frozenset(names)
        if wanted is not None:
            owners = {name.split(".", 1)[0] for name in wanted}
            modules = [m for m in modules if m in owners]
        answers = await self.collect("isogov_facts", modules=modules, ctx=ctx.as_read_only(), agencies=agencies,
                                     people=people, on=on, names=wanted)
        sheet = FactSheet(answered=tuple(module for module, _ in answers))
        for module, facts in answers:
            for fact in facts:
                if isinstance(fact, Fact) and (wanted is None or fact.name in wanted):
                    sheet.add(fact)
        return sheet

    async def indicators(self, tenants_by_module: dict[str, list[Any]], year: int) -> list[Indicator]:
        """Indicators of each module for the tenants that enabled it (one call per module for all of them)."""
        from core.tenancy.context import TenantsReader

        found: list[Indicator] = []
        for module in sorted(tenants_by_module):
            tenants = tuple(tenants_by_module[module])
            if not tenants:
                continue
            for _, values in await self.collect("isogov_indicators", modules=[module], reader=TenantsReader(tenants),
                                                tenants=list(tenants), year=year):
                found += [v for v in values if isinstance(v, Indicator)]
        return found

    async def merge(self, merge: Any) -> list[Any]:
        """Every module's merge hook inside the caller's transaction; a module that raises aborts the merge."""
        reports = []
        for impl in self.pm.hook.isogov_tenant_merge.get_hookimpls():
            value = impl.function(**{arg: {"merge": merge}[arg] for arg in impl.argnames})
            if inspect.isawaitable(value):
                value = await value
            if value is not None:
                reports.append(value)
        return reports

    def demo_agencies(self, province: str) -> list[Any] | None:
        return self.pm.hook.isogov_demo_agencies(province=province)

    async def reminders(self, ctx: Any, day: Any, modules: Iterable[str]) -> list[tuple[str, Any]]:
        return await self.collect("isogov_reminders", modules=self.enabled_or_builtin(modules),
                                  ctx=ctx.as_read_only(), day=day)

    def piccolo_apps(self) -> list[str]:
        """Piccolo app modules of every part and plugin: built-in parts first, then dependencies first."""
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in visiting or self.modules[name].piccolo_app in ordered:
                return
            visiting.add(name)
            for dep in self.modules[name].info.depends_on:
                visit(dep)
            app = self.modules[name].piccolo_app
            if app and app not in ordered:
                ordered.append(app)

        order = list(self.modules)  # built-in parts in registration order (tenancy first), then by name
        for name in sorted(order, key=lambda n: (0, order.index(n), "") if self.modules[n].info.builtin else (1, 0, n)):
            visit(name)
        return ordered

    def permissions(self) -> list[Permission]:
        return [perm for mod in self.modules.values() for perm in mod.permissions]

    def plugin_module_name(self, plugin: Any) -> str | None:
        for name, mod in self.modules.items():
            if mod.plugin is plugin:
                return name
        return None

    async def collect(self, hook_name: str, *, modules: Iterable[str] | None = None, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a per-tenant hook one plugin at a time, awaiting coroutine results.

        Only plugins of the given module names are asked (all when None). A plugin that raises is logged
        and skipped. Returns (module name, result) pairs for the plugins that answered.
        """
        wanted = set(modules) if modules is not None else None
        results: list[tuple[str, Any]] = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            module = self.plugin_module_name(impl.plugin)
            if wanted is not None and module not in wanted:
                continue
            try:
                value = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
                if inspect.isawaitable(value):
                    value = await value
            except Exception:
                log.exception("plugin hook failed; skipped", hook=hook_name, module=module)
                continue
            if value is not None:
                results.append((module or impl.plugin_name, value))
        return results


def _with_module(schedule: Schedule, module: str) -> Schedule:
    from dataclasses import replace

    return replace(schedule, module=module)


def build_plugin_system(allow: Iterable[str] | None = None, extra: Iterable[str] = (),
                        plugins: Iterable[Any] | None = None) -> PluginSystem:
    """Load the installed plugins (entry points), the `extra` module paths, and `plugins` objects."""
    pm = pluggy.PluginManager("isogov")
    pm.add_hookspecs(hookspecs)
    allowed = set(allow) if allow is not None else None
    if plugins is None:
        for path in DEFAULT_PLUGINS:
            pm.register(importlib.import_module(path), name=path)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                module = ep.load()
            except Exception as exc:
                raise PluginError(f"plugin {ep.name!r} ({ep.value}) cannot be loaded: {exc}") from exc
            builtin = getattr(getattr(module, "isogov_module", None), "__call__", None)
            is_builtin = bool(builtin and getattr(builtin(), "builtin", False))
            if allowed is not None and ep.name not in allowed and not is_builtin:
                continue
            pm.register(module, name=ep.name)
        for path in extra:
            try:
                module = importlib.import_module(path)
            except Exception as exc:
                raise PluginError(f"extra plugin {path!r} cannot be imported: {exc}") from exc
            pm.register(module, name=path)
    else:
        for plugin in plugins:
            pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements an unknown hook: {exc}") from exc
    return PluginSystem(pm)


@lru_cache(maxsize=1)
def get_plugin_system() -> PluginSystem:
    from core.settings import get_settings

    settings = get_settings()
    return build_plugin_system(allow=settings.plugins_allow, extra=settings.extra_plugins)
