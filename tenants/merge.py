"""Merging provinces (the 2025 restructuring): one or more source tenants into a target, from an effective date.

A dry run lists what would move (rows per table) and every conflict with the rule applied; the real run does all
of it in one transaction or nothing, and running it again after it succeeded changes nothing. In order:

1. figures of the years before the merger are frozen for the target and every source, as they are now (the
   national view shows those years as the provinces were, and can roll them up into the target);
2. every module's `isogov_tenant_merge` hook resolves what would clash (settings, numbering, keys);
3. agencies whose code the target already uses get the source's code as a prefix; every agency's key is rebuilt;
4. core moves every remaining row of every tenant-owned table (ids kept, so history and links stay valid);
   the source's users are moved with their roles, or deactivated and left behind, as the platform admin chose;
5. the modules the sources had on are switched on in the target; the source's People's Committee is closed on
   the effective date with a successor link to the target's;
6. each source becomes `merged`, read-only, pointing to the target forever; the merge is audited in both.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

import msgspec
import structlog

from core.agencies.services import code_key
from core.agencies.tables import Agency, AgencyLink
from core.audit import record
from core.contracts import MergeConflict, MergeReport, TenantMerge, TenantRef
from core.db import is_sqlite, transaction
from core.errors import BadRequest, Conflict, NotFound
from core.plugins import get_plugin_system
from core.tenancy import Actor, TenantInfo, TenantTable, unscoped
from core.tenancy.context import TenantContext, TenantsReader
from core.tenancy.tables import FrozenFigure, Tenant, TenantModule
from core.users.tables import User

log = structlog.get_logger("isogov.merge")

FIRST_FROZEN_YEAR = 2000


@dataclass
class MergeOutcome:
    target: str
    sources: list[str]
    effective_on: date
    dry_run: bool
    users: str
    moved: dict[str, int] = field(default_factory=dict)
    conflicts: list[dict[str, str]] = field(default_factory=list)
    frozen_years: list[int] = field(default_factory=list)
    already_merged: list[str] = field(default_factory=list)
    done: bool = False


def tenant_tables() -> list[type[TenantTable]]:
    """Every tenant-owned table of core and the installed plugins (from Piccolo's registry)."""
    from core import piccolo_conf

    found: list[type[TenantTable]] = []
    for config in piccolo_conf.APP_REGISTRY.app_configs.values():
        found += [t for t in config.table_classes if issubclass(t, TenantTable) and t not in found]
    return found


def _info(row: dict[str, Any]) -> TenantInfo:
    return TenantInfo(id=row["id"], code=row["code"], name=row["name"], status=row["status"])


def _ref(row: dict[str, Any]) -> TenantRef:
    return TenantRef(id=row["id"], code=row["code"], name=row["name"])


def frozen_years(effective_on: date, first: int) -> list[int]:
    """The years whose end came before the merger took effect: they are reported as the provinces were."""
    last = effective_on.year - 1
    return list(range(max(first, FIRST_FROZEN_YEAR), last + 1))


async def _first_year(tenant_ids: list[uuid.UUID]) -> int:
    with unscoped():
        rows = await Agency.select(Agency.valid_from).where(Agency.tenant_id.is_in(tenant_ids)).order_by(
            Agency.valid_from).limit(1)
    return rows[0]["valid_from"].year if rows else date.today().year


async def _freeze(tenants: list[TenantInfo], years: list[int], reason: str) -> int:
    """Compute every enabled module's indicators of these provinces for these years and keep them (a figure
    already frozen by an earlier merger is kept as it was)."""
    system = get_plugin_system()
    with unscoped():
        switches = await TenantModule.select(TenantModule.tenant_id, TenantModule.module).where(
            TenantModule.tenant_id.is_in([t.id for t in tenants]) & (TenantModule.enabled == True))  # noqa: E712
    by_module: dict[str, list[TenantInfo]] = {name: list(tenants) for name in system.builtin_names()}
    infos = {t.id: t for t in tenants}
    for row in switches:
        if row["module"] in system.modules:
            by_module.setdefault(row["module"], []).append(infos[row["tenant_id"]])
    written = 0
    for year in years:
        for ind in await system.indicators(by_module, year):
            if ind.tenant_id not in infos:
                continue
            key = f"{ind.tenant_id}:{year}:{ind.module}:{ind.name}"
            with unscoped():
                if await FrozenFigure.exists().where(FrozenFigure.key == key):
                    continue
                await FrozenFigure.insert(FrozenFigure(
                    id=uuid.uuid4(), key=key, tenant_id=ind.tenant_id, year=year, module=ind.module, name=ind.name,
                    value=float(ind.value), label_vi=ind.label_vi[:300], label_en=ind.label_en[:300], unit=ind.unit,
                    breakdown=msgspec.json.encode(dict(ind.breakdown)).decode(), reason=reason[:200]))
            written += 1
    return written


async def _agency_renames(target: TenantRef, sources: list[TenantRef]) -> tuple[dict[uuid.UUID, str], list[MergeConflict]]:
    """Agency codes of the sources that the target (or an earlier source) already uses, and their new codes."""
    with unscoped():
        rows = await Agency.select(Agency.id, Agency.tenant_id, Agency.code).where(
            Agency.tenant_id.is_in([target.id, *[s.id for s in sources]]))
    taken = {r["code"].lower() for r in rows if r["tenant_id"] == target.id}
    renames: dict[uuid.UUID, str] = {}
    conflicts = []
    for source in sources:
        for row in sorted((r for r in rows if r["tenant_id"] == source.id), key=lambda r: r["code"]):
            code = row["code"]
            if code.lower() in taken:
                new = f"{source.code.upper()}-{code}"[:50]
                n = 2
                while new.lower() in taken:
                    new = f"{source.code.upper()}-{code}-{n}"[:50]
                    n += 1
                conflicts.append(MergeConflict(module="agencies", kind="agency_code", key=code,
                                               detail=f"{source.name} và {target.name} đều có mã cơ quan {code!r}",
                                               rule=f"the source's agency keeps its records under the code {new!r}"))
                renames[row["id"]] = new
                code = new
            taken.add(code.lower())
    return renames, conflicts


async def _root_agency(tenant_id: uuid.UUID, on: date) -> dict[str, Any] | None:
    with unscoped():
        rows = await Agency.select().where((Agency.tenant_id == tenant_id) & (Agency.level == "province")
                                           & Agency.parent_id.is_null())
    active = [r for r in rows if r["valid_from"] <= on and (r["valid_to"] is None or r["valid_to"] > on)]
    return (active or rows or [None])[0]


async def merge_tenants(target_code: str, source_codes: list[str], effective_on: date, *,
                        users: Literal["move", "deactivate"] = "move", dry_run: bool = True,
                        actor: Actor) -> MergeOutcome:
    """Merge the sources into the target (see the module's docstring). Raises NotFound, BadRequest, Conflict."""
    if not source_codes:
        raise BadRequest("name at least one province to merge", field="sources")
    if len(set(source_codes)) != len(source_codes):
        raise BadRequest("a province is named twice", field="sources")
    if target_code in source_codes:
        raise BadRequest("a province cannot be merged into itself", field="sources")
    if effective_on > date(date.today().year + 1, 12, 31):
        raise BadRequest("the effective date is too far in the future", field="effective_on")
    target = await Tenant.select().where(Tenant.code == target_code).first()
    if target is None:
        raise NotFound(f"tenant {target_code!r} not found")
    if target["status"] == "merged":
        raise Conflict(f"{target_code!r} was itself merged into another province; merge into that one",
                       field="target")
    rows = await Tenant.select().where(Tenant.code.is_in(source_codes))
    by_code = {r["code"]: r for r in rows}
    missing = [c for c in source_codes if c not in by_code]
    if missing:
        raise NotFound(f"tenant {missing[0]!r} not found", field="sources")
    outcome = MergeOutcome(target=target_code, sources=list(source_codes), effective_on=effective_on,
                           dry_run=dry_run, users=users)
    pending = []
    for code in source_codes:
        row = by_code[code]
        if row["status"] == "merged":
            if row["merged_into"] != target["id"]:
                raise Conflict(f"{code!r} was already merged into another province", field="sources")
            outcome.already_merged.append(code)  # a repeated run: nothing more to do for it
        else:
            pending.append(row)
    if not pending:
        outcome.done = not dry_run
        return outcome
    sources = [_ref(r) for r in pending]
    merge = TenantMerge(sources=tuple(sources), target=_ref(target), effective_on=effective_on, dry_run=dry_run)
    source_ids = [s.id for s in sources]
    years = frozen_years(effective_on, await _first_year([target["id"], *source_ids]))
    outcome.frozen_years = years
    async with transaction():
        if not is_sqlite():  # nobody else changes these provinces while they merge
            with unscoped():
                await Tenant.raw("SELECT id FROM tenant WHERE id = ANY({}) FOR UPDATE",
                                 [target["id"], *source_ids])
        renames, conflicts = await _agency_renames(_ref(target), sources)
        outcome.conflicts += [asdict(c) for c in conflicts]
        with unscoped():
            for table in tenant_tables():
                count = await table.count().where(table.tenant_id.is_in(source_ids))
                if count:
                    outcome.moved[table._meta.tablename] = count
            user_count = await User.count().where(User.tenant_id.is_in(source_ids))
        if user_count:
            outcome.conflicts.append(asdict(MergeConflict(
                module="users", kind="user", key=f"{user_count} users",
                detail=f"{user_count} tài khoản của tỉnh cũ",
                rule="moved to the target with their roles and agencies" if users == "move"
                else "deactivated and left with the merged province (they can no longer sign in)")))
        enabled = await _modules_to_enable(target["id"], source_ids)
        for module in enabled:
            outcome.conflicts.append(asdict(MergeConflict(
                module="tenants", kind="module", key=module, detail=f"mô-đun {module} đang dùng ở tỉnh cũ",
                rule="switched on in the target")))
        for report in await get_plugin_system().merge(merge):
            if isinstance(report, MergeReport):
                outcome.conflicts += [asdict(c) for c in report.conflicts]
        if dry_run:
            return outcome
        await _freeze([_info(target), *[_info(r) for r in pending]], years,
                      reason=f"merged into {target_code} on {effective_on.isoformat()}")
        target_root = await _root_agency(target["id"], effective_on)
        source_roots = {r["id"]: await _root_agency(r["id"], effective_on) for r in pending}
        await _move(target, pending, renames, users)
        for module in enabled:
            await TenantModule.insert(TenantModule(id=uuid.uuid4(), key=f"{target['id']}:{module}",
                                                   tenant_id=target["id"], module=module, enabled=True))
        target_ctx = TenantContext(tenant=_info(target), actor=actor)
        for row in pending:
            root = source_roots[row["id"]]
            if root is not None and target_root is not None:
                await _close_into(target_ctx, root, target_root, effective_on)
            await Tenant.update({Tenant.status: "merged", Tenant.merged_into: target["id"]}).where(
                Tenant.id == row["id"])
            source_ctx = TenantContext(tenant=_info(row), actor=actor)
            await record(source_ctx, action="merge", entity="tenant", entity_id=row["id"],
                         before={"status": row["status"]},
                         after={"status": "merged", "merged_into": target_code, "effective_on": effective_on,
                                "users": users})
        await record(target_ctx, action="merge", entity="tenant", entity_id=target["id"], before=None,
                     after={"sources": [r["code"] for r in pending], "effective_on": effective_on, "users": users,
                            "moved": outcome.moved, "conflicts": len(outcome.conflicts), "frozen_years": years})
    outcome.done = True
    log.info("provinces merged", target=target_code, sources=[r["code"] for r in pending],
             effective_on=effective_on.isoformat(), moved=outcome.moved)
    return outcome


async def _modules_to_enable(target_id: uuid.UUID, source_ids: list[uuid.UUID]) -> list[str]:
    system = get_plugin_system()
    with unscoped():
        rows = await TenantModule.select(TenantModule.tenant_id, TenantModule.module).where(
            TenantModule.tenant_id.is_in([target_id, *source_ids]) & (TenantModule.enabled == True))  # noqa: E712
    on_target = {r["module"] for r in rows if r["tenant_id"] == target_id}
    return sorted({r["module"] for r in rows if r["tenant_id"] != target_id and r["module"] in system.modules}
                  - on_target)


async def _move(target: dict[str, Any], sources: list[dict[str, Any]], renames: dict[uuid.UUID, str],
                users: str) -> None:
    target_id = target["id"]
    source_ids = [r["id"] for r in sources]
    with unscoped():
        agencies = await Agency.select(Agency.id, Agency.code).where(Agency.tenant_id.is_in(source_ids))
        for row in agencies:  # the code key embeds the tenant: rebuild it (and apply the renames)
            code = renames.get(row["id"], row["code"])
            await Agency.update({Agency.code: code, Agency.code_key: code_key(target_id, code)}).where(
                Agency.id == row["id"])
        if users == "deactivate":
            await User.update({User.active: False}).where(User.tenant_id.is_in(source_ids))
        for table in tenant_tables():
            if table is User and users == "deactivate":
                continue
            await table.update({table.tenant_id: target_id}).where(table.tenant_id.is_in(source_ids))


async def _close_into(ctx: TenantContext, root: dict[str, Any], successor: dict[str, Any], on: date) -> None:
    """Close a merged province's People's Committee on the effective date, its successor named. Its units still
    open then pass under the successor (no open agency under a closed one) until the province restructures them."""
    with unscoped():
        children = await Agency.select(Agency.id, Agency.valid_to).where(Agency.parent_id == root["id"])
    for child in children:
        if child["valid_to"] is None or child["valid_to"] > on:
            await ctx.scope(Agency).update(child["id"], {"parent_id": successor["id"]}, action="reparent")
    if root["valid_to"] is None or root["valid_to"] > on:
        await ctx.scope(Agency).update(root["id"], {"valid_to": on}, action="close")
    await ctx.scope(AgencyLink).insert({"predecessor_id": root["id"], "successor_id": successor["id"],
                                        "kind": "province_merged", "effective_on": on,
                                        "note": f"{root['name']} → {successor['name']}"})
