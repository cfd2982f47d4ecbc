"""The tenants' commands of the `isogov` command line (mounted through `isogov_cli_commands`)."""

from __future__ import annotations

import click

from core.cli import run


@click.command("create-tenant", help="Create a province tenant, e.g. `isogov create-tenant lang-son 'Lạng Sơn'`.")
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
    row = run(lambda: service.create_tenant(data.code, data.name, data.modules, Actor.system("cli")))
    click.echo(f"tenant {row['code']} created ({row['id']})")


@click.command(help="Enable or disable a module for a tenant: `isogov module enable lang-son certification`.")
@click.argument("action", type=click.Choice(["enable", "disable"]))
@click.argument("tenant")
@click.argument("module")
def module(action: str, tenant: str, module: str) -> None:
    from tenants import service

    async def go() -> bool:
        return await service.set_module(await service.system_ctx(tenant, "cli"), module, action == "enable")

    state = run(go)
    click.echo(f"module {module} is {'enabled' if state else 'disabled'} for {tenant}")


@click.command("seed-demo", help="Create the demo provinces (lang-son, bac-ninh, hung-yen) that do not exist yet.")
def seed_demo() -> None:
    from tenants.demo import seed_demo as seed

    created = run(seed)
    click.echo(f"demo provinces created: {', '.join(created) if created else 'none (already there)'}")



COMMANDS = [create_tenant, module, seed_demo]
