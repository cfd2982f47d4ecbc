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
from core.contracts import ModuleInfo, Permission

log = structlog.get_logger("isogov.plugins")

ENTRY_POINT_GROUP = "isogov.plugins"


class PluginError(RuntimeError):
    """The installed plugins do not form a working system; the message says which and why."""


@dataclass
class LoadedModule:
    info: ModuleInfo
    plugin: Any
    piccolo_app: str | None = None
    route_handlers: list[Any] = field(default_factory=list)
    permissions: list[Permission] = field(default_factory=list)


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
            self.modules[info.name] = LoadedModule(
                info=info,
                plugin=plugin,
                piccolo_app=_piccolo_app_path(_own_result(pm, plugin, "isogov_piccolo_app"), info.name),
                route_handlers=list(_own_result(pm, plugin, "isogov_route_handlers") or []),
                permissions=list(_own_result(pm, plugin, "isogov_permissions") or []),
            )
        for name, mod in self.modules.items():
            missing = [dep for dep in mod.info.depends_on if dep not in self.modules]
            if missing:
                raise PluginError(f"module {name!r} depends on {', '.join(missing)}, which is not installed")
        seen: dict[str, str] = {}
        for name, mod in self.modules.items():
            for perm in mod.permissions:
                if perm.name in seen:
                    raise PluginError(f"permission {perm.name!r} is defined twice: by {seen[perm.name]!r} and {name!r}")
                seen[perm.name] = name

    def module_names(self) -> list[str]:
        return sorted(self.modules)

    def piccolo_apps(self) -> list[str]:
        """Piccolo app modules of the plugins, dependencies first (core's own app is added by piccolo_conf)."""
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

        for name in sorted(self.modules):
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


def build_plugin_system(allow: Iterable[str] | None = None, extra: Iterable[str] = (),
                        plugins: Iterable[Any] | None = None) -> PluginSystem:
    """Load the installed plugins (entry points), the `extra` module paths, and `plugins` objects."""
    pm = pluggy.PluginManager("isogov")
    pm.add_hookspecs(hookspecs)
    allowed = set(allow) if allow is not None else None
    if plugins is None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if allowed is not None and ep.name not in allowed:
                continue
            try:
                module = ep.load()
            except Exception as exc:
                raise PluginError(f"plugin {ep.name!r} ({ep.value}) cannot be loaded: {exc}") from exc
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
