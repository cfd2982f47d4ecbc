"""The app factory: every route comes from the plugin system (core's own parts are built-in plugins).

Routes of a business module are mounted under `/api/v1/tenants/{tenant_code}/{module}` behind the tenant guard and
the module-enabled check; built-in parts mount under the tenant prefix or at the root (`core.contracts.Routes`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from litestar import Controller, Litestar, Router
from litestar.handlers import HTTPRouteHandler
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from core import __version__, db
from core.auth import make_jwt_auth
from core.errors import EXCEPTION_HANDLERS
from core.docs import complete_schema, render_plugin
from core.http import check_json_body, security_headers
from core.logging import configure_logging, on_app_init as logging_on_app_init
from core.plugins import PluginError, PluginSystem, get_plugin_system
from core.settings import Settings, get_settings
from core.tenancy.guards import TENANT_PREFIX, provide_ctx, tenant_guard


def _declared(handlers: list[Any]) -> list[tuple[str, str]]:
    """(method, path) of every handler a plugin declares, controllers expanded (Litestar keeps only one of
    two handlers declared for the same path and method, so duplicates must be found before it sees them)."""
    found = []
    for item in handlers:
        if isinstance(item, type) and issubclass(item, Controller):
            prefix = item.path.rstrip("/")
            members = [v for v in vars(item).values() if isinstance(v, HTTPRouteHandler)]
        else:
            prefix, members = "", [item] if isinstance(item, HTTPRouteHandler) else []
        for handler in members:
            for path in handler.paths:
                full = (prefix + "/" + path.strip("/")).rstrip("/") or "/"
                found += [(method, full) for method in handler.http_methods]
    return found


def _check_duplicates(name: str, handlers: list[Any]) -> None:
    counts = Counter(_declared(handlers))
    duplicates = sorted(f"{method} {path}" for (method, path), n in counts.items() if n > 1)
    if duplicates:
        raise PluginError(f"module {name!r} registers routes more than once: {', '.join(duplicates)}")


def _route_handlers(system: PluginSystem) -> list[Any]:
    """Root handlers, one router for the built-in parts under the tenant prefix, one router per business module."""
    root: list[Any] = []
    tenant: list[Any] = []
    modules: list[Router] = []
    for name, routes in system.routes():
        handlers = list(routes.handlers)
        _check_duplicates(name, handlers)
        if routes.under == "root":
            root += handlers
        elif routes.under == "tenant":
            tenant += handlers
        else:
            modules.append(Router(path=f"{TENANT_PREFIX}/{name}", route_handlers=handlers, guards=[tenant_guard],
                                  opt={"module": name}, tags=[name]))
    _check_duplicates("core", root + tenant)
    if tenant:
        root.append(Router(path=TENANT_PREFIX, guards=[tenant_guard], route_handlers=tenant))
    return root + modules


def _check_permissions(app: Litestar, system: PluginSystem) -> None:
    """Fail start-up on a tenant route that does not name a known permission."""
    known = {p.name for p in system.permissions()}
    missing: list[str] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", ()):
                if method in ("HEAD", "OPTIONS"):
                    continue
                if route.path.startswith("/api/v1/tenants/{tenant_code"):
                    perm = handler.opt.get("permission")
                    if perm not in known:
                        missing.append(f"route {method} {route.path} (module {handler.opt.get('module', 'core')}) "
                                       f"must name a known permission in opt['permission'], got {perm!r}")
    if missing:
        raise PluginError("; ".join(missing))


def create_app(settings: Settings | None = None, system: PluginSystem | None = None) -> Litestar:
    settings = settings or get_settings()
    system = system or get_plugin_system()
    configure_logging(settings)
    jwt_auth = make_jwt_auth(settings)

    async def on_startup(app: Litestar) -> None:
        await db.start()
        complete_schema(app.openapi_schema)  # before the first request renders it

    async def on_shutdown(app: Litestar) -> None:
        await db.stop()

    app = Litestar(
        route_handlers=_route_handlers(system),
        dependencies={"ctx": Provide(provide_ctx)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        # outermost: core's request middleware (RLS binding, log context, metrics), then authentication
        on_app_init=[jwt_auth.on_app_init, logging_on_app_init],
        before_request=check_json_body,
        before_send=[security_headers],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="isogov", version=__version__, path="/schema",
            description="ISO 9001 quality management of Vietnamese provinces' state agencies",
            components=Components(security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}),
            render_plugins=[render_plugin()],
        ),
        state=State({"jwt_auth": jwt_auth, "plugins": system}),
        debug=False,
    )
    _check_permissions(app, system)
    return app


def app_from_env() -> Any:
    """Entry point for uvicorn (`core.app:app_from_env` with --factory)."""
    return create_app()

