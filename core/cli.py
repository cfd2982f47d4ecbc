"""`isogov`: the operators' command line. Every command exits non-zero with a clear message on error."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any, Awaitable, Callable

import click

from core.errors import ProblemError
from core.plugins import PluginError
from core.settings import ConfigurationError, get_settings, reset_settings


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return asyncio.run(coro_fn())
    except ProblemError as exc:
        raise click.ClickException(exc.detail) from exc


class Group(click.Group):
    """The `isogov` group: core's own commands and every module's `isogov_cli_commands` (tenants, workers, ...)."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        from core.plugins import get_plugin_system

        try:
            return {c.name: c for c in get_plugin_system().cli_commands() if c.name}
        except (ConfigurationError, PluginError) as exc:
            raise click.ClickException(str(exc)) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugin_commands()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._plugin_commands().get(name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigurationError, PluginError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=Group, help="isogov: ISO 9001 quality management for provinces. Configure with environment variables.")
def main() -> None:
    # every command logs at ISOGOV_LOG_LEVEL like the API (structlog's default would print debug lines, e.g. one
    # audit line per row the demo seed writes)
    from core.logging import configure_logging

    configure_logging(get_settings())


async def migrate_all() -> None:
    """Migrations as the owner, then row-level security on every table with tenant_id (core.tenancy.rls)."""
    from core.tenancy.rls import migrate

    try:
        await migrate()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command(help="Run the committed migrations of core and every installed plugin, in dependency order, then "
                   "(PostgreSQL) turn on row-level security for every table with tenant_id. Connects as "
                   "ISOGOV_MIGRATE_DATABASE_URL (the owner) when set, else DATABASE_URL.")
def migrate() -> None:
    run(migrate_all)
    click.echo("migrations: up to date")


@main.command("create-user", help="Create a user. Without --tenant: a platform_admin or national_reviewer.")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(
    ["platform_admin", "national_reviewer", "tenant_admin", "inspector", "agency_officer", "viewer"]))
@click.option("--full-name", required=True)
@click.option("--tenant", default=None, help="tenant code (required for tenant roles)")
@click.option("--agency", default=None, help="agency code (required for agency_officer)")
@click.password_option(envvar="ISOGOV_NEW_USER_PASSWORD", help="or set ISOGOV_NEW_USER_PASSWORD")
def create_user(email: str, role: str, full_name: str, tenant: str | None, agency: str | None, password: str) -> None:
    import msgspec

    from core.agencies.services import code_key
    from core.agencies.tables import Agency
    from core.users import services
    from core.users.schemas import UserCreate
    from core.tenancy.context import tenant_context

    async def go() -> dict[str, Any]:
        if tenant is None:
            return await services.create_platform_user(email, full_name, role, password)
        ctx = await tenant_context(tenant, "cli")
        agency_id = None
        if agency:
            row = await ctx.scope(Agency).select(Agency.id).where(Agency.code_key == code_key(ctx.tenant.id, agency)).first()
            if row is None:
                raise click.ClickException(f"no agency with code {agency!r} in {tenant}")
            agency_id = row["id"]
        try:
            data = msgspec.convert({"email": email, "full_name": full_name, "role": role, "password": password,
                                    "agency_id": agency_id}, UserCreate)
        except msgspec.ValidationError as exc:
            raise click.ClickException(f"invalid user: {exc}") from exc
        return await services.create(ctx, data)

    row = run(go)
    click.echo(f"user {row['email']} created ({row['role']})")


SERVERS = ("uvicorn", "granian")


def serve(host: str, port: int, server: str | None = None) -> None:
    """Serve the API in this process with one worker: uvicorn (uvloop, httptools) by default, or granian
    (ISOGOV_SERVER=granian). Neither reads proxy headers: core.auth.client_address does, from trusted proxies."""
    server = server or os.environ.get("ISOGOV_SERVER") or "uvicorn"
    if server not in SERVERS:
        raise click.ClickException(f"ISOGOV_SERVER must be one of {', '.join(SERVERS)}, not {server!r}")
    if server == "granian":
        from granian import Granian
        from granian.constants import Interfaces
        from granian.log import LogLevels

        Granian("core.app:app_from_env", address=host, port=port, interface=Interfaces.ASGI, factory=True,
                workers=1, log_level=LogLevels.warning, log_access=False).serve()
        return
    import uvicorn

    from uvicorn.config import LOGGING_CONFIG

    # no proxy headers here: core.auth.client_address honours X-Forwarded-For only from ISOGOV_TRUSTED_PROXIES
    # with JSON logs, uvicorn's own lines go through the root logger (JSON) instead of its plain handlers
    uvicorn.run("core.app:app_from_env", factory=True, host=host, port=port, log_level="warning",
                proxy_headers=False, access_log=False, log_config=None if get_settings().log_json else LOGGING_CONFIG)


@main.command(help="Serve the API (production: behind a reverse proxy).")
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def api(host: str | None, port: int | None) -> None:
    settings = get_settings()
    serve(host or settings.host, port or settings.port)


if __name__ == "__main__":
    main()
