"""The plugin machinery: loading, start-up checks, and one test per hook (a meta-test keeps it that way)."""

from __future__ import annotations

import inspect
import uuid
from datetime import date
from typing import Any

import pytest
from litestar import get

from core.plugins import hookspecs
from core.app import create_app
from core.contracts import Indicator, ModuleInfo, Permission, Reminder
from core.errors import NotFound
from core.plugins import hookimpl
from core.plugins import PluginError, build_plugin_system, get_plugin_system
from tests.example_plugin import plugin as example

HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("isogov_"))


class FakePlugin:
    """A plugin object built in a test (pluggy needs hashable plugins)."""


def make_plugin(name: str, depends_on: tuple[str, ...] = (), permissions: list[Permission] | None = None,
                handlers: list[Any] | None = None, **extra: Any) -> FakePlugin:
    ns = FakePlugin()
    ns.isogov_module = hookimpl(lambda: ModuleInfo(name=name, title_vi=name, title_en=name, version="1",
                                                   depends_on=depends_on))
    ns.isogov_permissions = hookimpl(lambda: permissions or [])
    ns.isogov_route_handlers = hookimpl(lambda: handlers or [])
    for key, value in extra.items():
        setattr(ns, key, value)
    return ns


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_implemented_and_tested(hook: str) -> None:
    assert (getattr(hookspecs, hook).__doc__ or "").strip(), f"{hook} has no docstring (its contract)"
    assert hasattr(example, hook), f"the example plugin does not implement {hook}"
    assert f"test_hook_{hook}" in globals(), f"no test_hook_{hook} in this file"


def test_misspelt_hook_fails_start_up() -> None:
    bad = make_plugin("bad", isogov_reminder=hookimpl(lambda ctx, day: []))
    with pytest.raises(PluginError, match="unknown hook"):
        build_plugin_system(plugins=[bad])


def test_duplicate_module_names_fail_start_up() -> None:
    with pytest.raises(PluginError, match="two plugins declare the module name 'same'"):
        build_plugin_system(plugins=[make_plugin("same"), make_plugin("same")])


def test_missing_dependency_fails_start_up() -> None:
    with pytest.raises(PluginError, match="'awards' depends on certification"):
        build_plugin_system(plugins=[make_plugin("awards", depends_on=("certification",))])


def test_dependencies_come_first_in_the_migration_order() -> None:
    a = make_plugin("a", depends_on=("b",), isogov_piccolo_app=hookimpl(lambda: "a.piccolo_app"))
    b = make_plugin("b", isogov_piccolo_app=hookimpl(lambda: "b.piccolo_app"))
    assert build_plugin_system(plugins=[a, b]).piccolo_apps() == ["b.piccolo_app", "a.piccolo_app"]


def test_duplicate_permissions_fail_start_up() -> None:
    perm = Permission("x.read", "read", ("viewer",))
    with pytest.raises(PluginError, match="permission 'x.read' is defined twice"):
        build_plugin_system(plugins=[make_plugin("x", permissions=[perm]), make_plugin("y", permissions=[perm])])


def test_plugin_without_identity_fails_start_up() -> None:
    anonymous = FakePlugin()
    anonymous.isogov_permissions = hookimpl(lambda: [])  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match="does not implement isogov_module"):
        build_plugin_system(plugins=[anonymous])


def test_unloadable_extra_plugin_fails_start_up() -> None:
    with pytest.raises(PluginError, match="cannot be imported"):
        build_plugin_system(extra=["no.such.module"])


def test_allow_list_limits_loaded_plugins() -> None:
    assert build_plugin_system(allow=[], extra=[]).module_names() == []


def test_duplicate_routes_fail_start_up() -> None:
    @get("/same", opt={"permission": "dup.read"}, name="one")
    async def one() -> str:
        return "one"

    @get("/same", opt={"permission": "dup.read"}, name="two")
    async def two() -> str:
        return "two"

    dup = make_plugin("dup", permissions=[Permission("dup.read", "r", ("viewer",))], handlers=[one, two])
    system = build_plugin_system(plugins=[dup])
    with pytest.raises(Exception, match="(?i)more than once|already registered|duplicate"):
        create_app(system=system)


def test_route_without_permission_fails_start_up() -> None:
    @get("/open")
    async def open_route() -> str:
        return "open"

    system = build_plugin_system(plugins=[make_plugin("open", handlers=[open_route])])
    with pytest.raises(PluginError, match="must name a known permission"):
        create_app(system=system)


async def test_a_failing_plugin_is_skipped_and_others_answer(make_tenant: Any) -> None:
    def boom(ctx: Any, day: date) -> list[Reminder]:
        raise RuntimeError("plugin bug")

    async def fine(ctx: Any, day: date) -> list[Reminder]:
        return [Reminder(module="fine", kind="k", key="fine:1", title="ok", due_on=day, status="due")]

    system = build_plugin_system(plugins=[make_plugin("boom", isogov_reminders=hookimpl(boom)),
                                          make_plugin("fine", isogov_reminders=hookimpl(fine))])
    t = await make_tenant(modules=[])
    results = await system.collect("isogov_reminders", ctx=await t.ctx(), day=date(2026, 1, 5))
    assert [module for module, _ in results] == ["fine"]


# One test per hook, through the example plugin --------------------------------------------------------------

async def test_hook_isogov_module(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    modules = (await client.get("/api/v1/modules", headers=t.headers())).json()
    assert {"name": "example", "title_vi": "Ghi chú mẫu", "title_en": "Example notes", "version": "1.0.0",
            "depends_on": []} in modules


async def test_hook_isogov_piccolo_app() -> None:
    from core import piccolo_conf

    assert "example" in piccolo_conf.APP_REGISTRY.app_configs
    assert "tests.example_plugin.piccolo_app" in get_plugin_system().piccolo_apps()


async def test_hook_isogov_route_handlers(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    created = await client.post(t.url("/example/notes"), headers=t.headers(),
                                json={"agency_id": str(t.agencies["D1"]), "title": "Kiểm tra hồ sơ"})
    assert created.status_code == 201
    listed = await client.get(t.url("/example/notes?q=kiem tra"), headers=t.headers("viewer"))
    assert [n["title"] for n in listed.json()["items"]] == ["Kiểm tra hồ sơ"]


async def test_hook_isogov_permissions(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    viewer = (await client.get("/api/v1/me", headers=t.headers("viewer"))).json()
    assert "example.read" in viewer["permissions"] and "example.write" not in viewer["permissions"]
    response = await client.post(t.url("/example/notes"), headers=t.headers("viewer"),
                                 json={"agency_id": str(t.agencies["D1"]), "title": "x"})
    assert response.status_code == 403 and "example.write" in response.json()["detail"]


def test_hook_isogov_jobs() -> None:
    assert example.example_job in get_plugin_system().jobs()
    assert get_plugin_system().modules["example"].jobs == [example.example_job]


async def test_hook_isogov_schedules(make_tenant: Any, client: Any) -> None:
    [schedule] = [s for s in get_plugin_system().schedules() if s.name == "example_nightly"]
    assert (schedule.module, schedule.hour, schedule.minute, schedule.per_tenant) == ("example", 1, 15, True)
    t = await make_tenant()
    await client.post(t.url("/example/notes"), headers=t.headers(), json={"agency_id": str(t.agencies["D2"]), "title": "a"})
    assert await schedule.func(await t.ctx()) == 1  # the job receives a context of its tenant


async def test_hook_isogov_cli_commands(make_tenant: Any, client: Any) -> None:
    import asyncio
    import sys

    assert "example-count" in [c.name for c in get_plugin_system().cli_commands()]
    t = await make_tenant()
    await client.post(t.url("/example/notes"), headers=t.headers(), json={"agency_id": str(t.agencies["D2"]), "title": "a"})

    async def isogov(*args: str) -> tuple[int, str]:  # the real command line, in its own process
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "core.cli", *args,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
        return proc.returncode or 0, out.decode()

    assert await isogov("example-count", t.code) == (0, "notes: 1\n")
    code, out = await isogov("example-count", "no-such-tenant")
    assert code != 0 and "not found" in out


async def test_hook_isogov_notification_kinds(make_tenant: Any) -> None:
    from core.notifications.notify import notify
    from core.notifications.tables import Notification
    from core.tenancy import unscoped

    kind = get_plugin_system().notification_kind("example.note_added")
    assert kind is not None and kind.title_vi == "Ghi chú mới: {title}"
    t = await make_tenant()
    note_id = await notify(await t.ctx(), kind="example.note_added", data={"title": "Hồ sơ A"})
    with unscoped():
        row = await Notification.select().where(Notification.id == note_id).first()
    assert row["title"] == "Ghi chú mới: Hồ sơ A" and row["recipient_count"] == 1  # default audience: the admin
    with pytest.raises(ValueError, match="not declared"):
        await notify(await t.ctx(), kind="nobody.undeclared", title="x")


async def test_hook_isogov_reminders(make_tenant: Any, client: Any) -> None:
    t = await make_tenant()
    ctx = await t.ctx()
    day = date(2026, 3, 2)
    assert await get_plugin_system().collect("isogov_reminders", modules=["example"], ctx=ctx, day=day) == [("example", [])]
    await client.post(t.url("/example/notes"), headers=t.headers(), json={"agency_id": str(t.agencies["D2"]), "title": "a"})
    [(module, reminders)] = await get_plugin_system().collect("isogov_reminders", modules=["example"], ctx=ctx, day=day)
    assert reminders[0].key == "example:notes:2026-03-02" and reminders[0].title.startswith("1 ")


async def test_hook_isogov_indicators(make_tenant: Any, client: Any) -> None:
    t = await make_tenant()
    for title in ("một", "hai"):
        await client.post(t.url("/example/notes"), headers=t.headers(), json={"agency_id": str(t.agencies["D2"]), "title": title})
    other = await make_tenant()
    tenants = [(await t.ctx()).tenant, (await other.ctx()).tenant]
    indicators = await get_plugin_system().indicators({"example": tenants}, 2026)
    assert indicators == [
        Indicator(module="example", name="notes", value=2, label_vi="Số ghi chú", label_en="Notes", unit="note",
                  tenant_id=t.id),
        Indicator(module="example", name="notes", value=0, label_vi="Số ghi chú", label_en="Notes", unit="note",
                  tenant_id=other.id)]


async def test_hook_isogov_evidence_targets(make_tenant: Any, client: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    note = (await client.post(b.url("/example/notes"), headers=b.headers(),
                              json={"agency_id": str(b.agencies["D1"]), "title": "b"})).json()
    targets = [t for ts in get_plugin_system().pm.hook.isogov_evidence_targets() for t in ts]
    target = next(t for t in targets if t.target_type == "example_note")
    await target.check(await b.ctx(), uuid.UUID(note["id"]), True)
    with pytest.raises(NotFound):
        await target.check(await a.ctx(), uuid.UUID(note["id"]), False)


async def test_hook_isogov_facts(make_tenant: Any, client: Any) -> None:
    t, other = await make_tenant(), await make_tenant()
    await client.post(t.url("/example/notes"), headers=t.headers(), json={"agency_id": str(t.agencies["D1"]), "title": "a"})
    sheet = await get_plugin_system().facts(await t.ctx(), agencies=[t.agencies["D1"], t.agencies["D2"],
                                                                     other.agencies["D1"]], on=date(2026, 5, 1))
    assert sheet.value(t.agencies["D1"], "example.notes") == 1
    assert sheet.get(t.agencies["D2"], "example.notes").explanation == "Có 0 ghi chú"
    assert sheet.knows("example") and not sheet.knows("nothing")
    person = (await client.post(t.url("/people"), headers=t.headers(), json={"full_name": "Nguyễn Văn Ghi"})).json()
    note = await client.post(t.url("/example/notes"), headers=t.headers(),
                             json={"agency_id": str(t.agencies["D2"]), "title": "b", "person_id": person["id"]})
    assert note.status_code == 201 and note.json()["person_id"] == person["id"], note.text
    theirs = (await client.post(other.url("/people"), headers=other.headers(), json={"full_name": "Người khác"})).json()
    refused = await client.post(t.url("/example/notes"), headers=t.headers(),
                                json={"agency_id": str(t.agencies["D2"]), "title": "c", "person_id": theirs["id"]})
    assert refused.status_code == 404 and "person" in refused.json()["detail"]
    sheet = await get_plugin_system().facts(await t.ctx(), people=[uuid.UUID(person["id"]), uuid.UUID(theirs["id"])],
                                            on=date(2026, 5, 1))
    assert sheet.value(uuid.UUID(person["id"]), "example.notes") == 1
    assert sheet.value(uuid.UUID(theirs["id"]), "example.notes") == 0  # another tenant's notes are never counted
    off = await make_tenant(modules=[])  # a module that is off for the tenant is not asked
    assert not (await get_plugin_system().facts(await off.ctx(), agencies=[off.agencies["D1"]], on=date(2026, 5, 1))
                ).knows("example")


async def test_facts_names_ask_only_their_modules_and_keep_only_those_facts(make_tenant: Any) -> None:
    from core.contracts import Fact

    seen: dict[str, Any] = {}

    def answering(module: str, takes_names: bool) -> Any:
        def build(agencies: Any) -> list[Fact]:
            return [Fact(subject="agency", subject_id=a, name=f"{module}.{n}", value=n, explanation=n)
                    for a in agencies for n in ("a", "b")]

        if takes_names:
            async def facts(ctx: Any, agencies: Any, on: Any, names: Any) -> list[Fact]:
                seen[module] = names
                return [f for f in build(agencies) if names is None or f.name in names]
        else:
            async def facts(ctx: Any, agencies: Any, on: Any) -> list[Fact]:  # ignores names: all its facts
                seen[module] = "called"
                return build(agencies)
        return facts

    t = await make_tenant(modules=[])
    system = build_plugin_system(plugins=[make_plugin("m1", isogov_facts=hookimpl(answering("m1", True))),
                                          make_plugin("m2", isogov_facts=hookimpl(answering("m2", False))),
                                          make_plugin("m3", isogov_facts=hookimpl(answering("m3", True)))])
    d1 = t.agencies["D1"]
    sheet = await system.facts(await t.ctx(), agencies=[d1], on=date(2026, 1, 1), modules=["m1", "m2", "m3"],
                               names=["m1.a", "m2.b"])
    assert seen == {"m1": frozenset({"m1.a", "m2.b"}), "m2": "called"}  # m3: none of its facts asked, not called
    assert sheet.of(d1).keys() == {"m1.a", "m2.b"} and sheet.knows("m1") and sheet.knows("m2")
    assert not sheet.knows("m3")
    seen.clear()
    every = await system.facts(await t.ctx(), agencies=[d1], on=date(2026, 1, 1), modules=["m1", "m2", "m3"])
    assert seen == {"m1": None, "m2": "called", "m3": None} and len(every.of(d1)) == 6


async def test_collection_hooks_get_a_read_only_context(make_tenant: Any) -> None:
    from core.tenancy import TenantScopeError
    from tests.example_plugin.tables import ExampleNote

    async def writer(ctx: Any, agencies: Any, people: Any, on: Any) -> list:
        await ctx.scope(ExampleNote).insert({"agency_id": agencies[0], "title": "x", "title_folded": "x"})
        return []

    t = await make_tenant(modules=[])
    system = build_plugin_system(plugins=[make_plugin("writer", isogov_facts=hookimpl(writer))])
    sheet = await system.facts(await t.ctx(), agencies=[t.agencies["D1"]], on=date(2026, 1, 1), modules=["writer"])
    assert not sheet.knows("writer")  # the write raised, the module was skipped
    with pytest.raises(TenantScopeError, match="read-only"):
        await writer((await t.ctx()).as_read_only(), [t.agencies["D1"]], [], None)


async def test_hook_isogov_tenant_merge() -> None:
    from core.contracts import TenantMerge, TenantRef

    ref = TenantRef(id=uuid.uuid4(), code="x", name="X")
    reports = await get_plugin_system().merge(TenantMerge(sources=(ref,), target=ref, effective_on=date(2025, 7, 1)))
    assert [r for r in reports if r.module == "example"][0].moved == {"example_note": 0}


async def test_hook_isogov_tenant_event(client: Any, make_tenant: Any) -> None:
    """Module switches reach the modules through the outbox, after the commit (the workers' tests run the real
    relay and worker; here the queued job is run as the worker would)."""
    import msgspec

    from core.notifications.tables import OutboxMessage
    from core.tenancy import unscoped
    from tenants.service import TENANT_EVENT_JOB, tenants_tenant_event

    t = await make_tenant()
    example.EVENTS.clear()
    assert (await client.put(t.url("/modules/example"), headers=t.headers(), json={"enabled": False})).status_code == 200
    assert (await client.put(t.url("/modules/example"), headers=t.headers(), json={"enabled": True})).status_code == 200
    assert example.EVENTS == []  # nothing is called inside the request
    with unscoped():
        rows = await OutboxMessage.select().where((OutboxMessage.tenant_id == t.id)
                                                  & (OutboxMessage.job_name == TENANT_EVENT_JOB)).order_by(
            OutboxMessage.created_at)
    assert TENANT_EVENT_JOB in [j.__name__ for j in get_plugin_system().jobs()]
    for row in rows:
        assert await tenants_tenant_event({}, **msgspec.json.decode(row["payload"])) == 1
    kinds = [(e.kind, e.module) for e in example.EVENTS if e.tenant_id == t.id]
    assert kinds == [("module_disabled", "example"), ("module_enabled", "example")]
    bad = await client.put(t.url("/modules/example"), headers=t.headers(), json={"enabled": "yes"})
    assert bad.status_code == 400


async def test_hook_isogov_seed_demo(make_tenant: Any, client: Any) -> None:
    t = await make_tenant()
    await get_plugin_system().collect("isogov_seed_demo", modules=["example"], ctx=await t.ctx(), agencies=t.agencies)
    notes = (await client.get(t.url("/example/notes"), headers=t.headers())).json()
    assert notes["total"] == 2


async def test_hook_isogov_demo_agencies(make_tenant: Any) -> None:
    from core.agencies.tables import Agency
    from core.testing import seed_demo_agencies

    assert [a.code for a in get_plugin_system().demo_agencies("example-province")] == ["EX", "EX-STP"]
    assert get_plugin_system().demo_agencies("lang-son")[0].name == "UBND tỉnh Lạng Sơn"  # the tenants package's
    assert get_plugin_system().demo_agencies("atlantis") is None
    t = await make_tenant(modules=[])
    ctx = await t.ctx()
    ids = await seed_demo_agencies(ctx, "example-province")
    child = await ctx.scope(Agency).get(ids["EX-STP"])
    assert child["parent_id"] == ids["EX"] and child["level"] == "department"
    with pytest.raises(LookupError):
        await seed_demo_agencies(ctx, "atlantis")
