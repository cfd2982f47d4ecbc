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


def _run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return asyncio.run(coro_fn())
    except ProblemError as exc:
        raise click.ClickException(exc.detail) from exc


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigurationError, PluginError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=Group, help="isogov: ISO 9001 quality management for provinces. Configure with environment variables.")
def main() -> None:
    pass


async def _migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all")
    if not result.success:
        raise click.ClickException(f"migrations failed: {result.message}")


@main.command(help="Run the committed migrations of core and every installed plugin, in dependency order.")
def migrate() -> None:
    _run(_migrate)
    click.echo("migrations: up to date")


@main.command("create-tenant", help="Create a province tenant, e.g. `isogov create-tenant lang-son 'Lạng Sơn'`.")
@click.argument("code")
@click.argument("name")
@click.option("--module", "modules", multiple=True, help="enable this module (repeatable)")
def create_tenant(code: str, name: str, modules: tuple[str, ...]) -> None:
    import msgspec

    from core.tenancy import Actor
    from tenants import service
    from tenants.schemas import TenantCreate

    try:
        data = msgspec.convert({"code": code, "name": name, "modules": list(modules)}, TenantCreate)
    except msgspec.ValidationError as exc:
        raise click.ClickException(f"invalid tenant: {exc}") from exc
    row = _run(lambda: service.create_tenant(data.code, data.name, data.modules, Actor.system("cli")))
    click.echo(f"tenant {row['code']} created ({row['id']})")


@main.command(help="Enable or disable a module for a tenant: `isogov module enable lang-son certification`.")
@click.argument("action", type=click.Choice(["enable", "disable"]))
@click.argument("tenant")
@click.argument("module")
def module(action: str, tenant: str, module: str) -> None:
    from tenants import service

    async def go() -> bool:
        return await service.set_module(await service.system_ctx(tenant, "cli"), module, action == "enable")

    state = _run(go)
    click.echo(f"module {module} is {'enabled' if state else 'disabled'} for {tenant}")


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
    from core.tables import Agency
    from core.users import services
    from core.users.schemas import UserCreate
    from tenants.service import system_ctx

    async def go() -> dict[str, Any]:
        if tenant is None:
            return await services.create_platform_user(email, full_name, role, password)
        ctx = await system_ctx(tenant, "cli")
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

    row = _run(go)
    click.echo(f"user {row['email']} created ({row['role']})")


@main.command("seed-demo", help="Create the demo provinces (lang-son, bac-ninh, hung-yen) that do not exist yet.")
def seed_demo() -> None:
    from tenants.demo import seed_demo as seed

    created = _run(seed)
    click.echo(f"demo provinces created: {', '.join(created) if created else 'none (already there)'}")


def _serve(host: str, port: int) -> None:
    import uvicorn

    from uvicorn.config import LOGGING_CONFIG

    # with JSON logs, uvicorn's own lines go through the root logger (JSON) instead of its plain handlers
    uvicorn.run("core.app:app_from_env", factory=True, host=host, port=port, log_level="warning",
                proxy_headers=True, access_log=False, log_config=None if get_settings().log_json else LOGGING_CONFIG)


@main.command(help="Serve the API (production: behind a reverse proxy).")
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def api(host: str | None, port: int | None) -> None:
    settings = get_settings()
    _serve(host or settings.host, port or settings.port)


@main.command(help="Start everything on the embedded default: migrate, seed the demo, embedded Redis, a worker, the "
                   "scheduler, the API.")
def dev() -> None:
    from core import embedded
    from tenants.demo import DEMO_PASSWORD, demo_logins, seed_demo as seed

    settings = get_settings()
    if settings.is_production:
        raise click.ClickException("`isogov dev` is for the embedded default; use `isogov api` in production")
    redis_proc = None
    if not settings.redis_url:
        redis_proc = embedded.start_redis(settings.var_dir, embedded.embedded_redis_port())
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{embedded.embedded_redis_port()}/0"
        reset_settings()
        settings = get_settings()
    background: list = []
    try:
        _run(_migrate)
        created = _run(seed)
        from workers.cli import start_background

        background = start_background()  # a worker (with the outbox relay) and the scheduler, on the same Redis
        base = f"http://{settings.host}:{settings.port}"
        lines = [
            "",
            "isogov is starting on the embedded default",
            f"  database : {settings.database_url}",
            f"  redis    : {settings.redis_url}",
            f"  workers  : 1 worker + the scheduler (pids {', '.join(str(p.pid) for p in background)}); "
            "email is written to the log unless ISOGOV_SMTP_HOST is set",
            f"  API      : {base}/api/v1",
            f"  OpenAPI  : {base}/schema  (JSON: {base}/schema/openapi.json)",
            f"  health   : {base}/health   ready: {base}/ready",
            f"  demo provinces {'created' if created else 'kept'}: lang-son, bac-ninh, hung-yen",
            f"  demo logins (password {DEMO_PASSWORD!r}):",
            *[f"    {email:<36} {role}" for email, role in demo_logins()],
            "  stop with Ctrl+C",
            "",
        ]
        click.echo("\n".join(lines))
        sys.stdout.flush()
        _serve(settings.host, settings.port)
    finally:
        from workers.cli import stop_background

        stop_background(background)
        embedded.stop(redis_proc)


def _add_worker_commands() -> None:
    from workers.cli import COMMANDS

    for command in COMMANDS:  # worker, scheduler, relay
        main.add_command(command)


_add_worker_commands()


if __name__ == "__main__":
    main()
