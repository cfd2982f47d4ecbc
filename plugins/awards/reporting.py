"""What the awards module tells the rest of the system: indicators, evidence targets' checks, the tenant merge."""

from __future__ import annotations

import re
import uuid
from typing import Any

from piccolo.query.functions.aggregate import Count

from core.contracts import AGENCY_LEVELS, Indicator, MergeConflict, MergeReport
from core.errors import Forbidden, NotFound
from core.tenancy.context import TenantContext
from plugins.awards import NAME
from plugins.awards.tables import AwardDecision, AwardForm, AwardProposal, AwardSettings


def _levels() -> dict[str, int]:
    return {level: 0 for level in AGENCY_LEVELS}


async def indicators(reader: Any, tenants: list[Any], year: int) -> list[Indicator]:
    """Awards given by decisions dated in `year` (issued), per tenant: in all, to collectives, to individuals and
    per award form; each split by the level of the awardee's agency. Two queries for all the tenants."""
    rows = await reader.scope(AwardProposal).select(
        AwardProposal.tenant_id, AwardProposal.form_id, AwardProposal.subject, AwardProposal.agency_level,
        Count(AwardProposal.id, alias="n")).where(
        (AwardProposal.locked == True) & (AwardProposal.awarded_year == year)).group_by(  # noqa: E712
        AwardProposal.tenant_id, AwardProposal.form_id, AwardProposal.subject, AwardProposal.agency_level)
    form_rows = await reader.scope(AwardForm).select(AwardForm.tenant_id, AwardForm.id, AwardForm.code,
                                                     AwardForm.name).order_by(AwardForm.code)
    out: list[Indicator] = []
    for tenant in tenants:
        mine = [r for r in rows if r["tenant_id"] == tenant.id]
        groups = {"awards_total": _levels(), "collectives": _levels(), "individuals": _levels()}
        per_form: dict[uuid.UUID, dict[str, int]] = {}
        for r in mine:
            level = r["agency_level"]
            for key in ("awards_total", "collectives" if r["subject"] == "collective" else "individuals"):
                groups[key][level] = groups[key].get(level, 0) + r["n"]
            per_form.setdefault(r["form_id"], _levels())
            per_form[r["form_id"]][level] = per_form[r["form_id"]].get(level, 0) + r["n"]
        labels = {"awards_total": (f"Số khen thưởng năm {year}", f"Awards given in {year}"),
                  "collectives": ("Số tập thể được khen thưởng", "Collectives awarded"),
                  "individuals": ("Số cá nhân được khen thưởng", "Individuals awarded")}
        order = 0
        for name, breakdown in groups.items():
            out.append(Indicator(module=NAME, name=name, value=sum(breakdown.values()), label_vi=labels[name][0],
                                 label_en=labels[name][1], breakdown=breakdown, unit="award", tenant_id=tenant.id,
                                 order=order))
            order += 1
        for form in (f for f in form_rows if f["tenant_id"] == tenant.id):
            breakdown = per_form.get(form["id"], _levels())
            out.append(Indicator(module=NAME, name=f"form_{form['code']}", value=sum(breakdown.values()),
                                 label_vi=form["name"], label_en=f"Award form {form['code']}", breakdown=breakdown,
                                 unit="award", tenant_id=tenant.id, order=order))
            order += 1
    return out


async def check_proposal(ctx: TenantContext, target_id: Any, write: bool = False) -> None:
    """Evidence target `award_proposal`: attaching needs the right to change the proposal, and it unlocked."""
    row = await ctx.scope(AwardProposal).find(target_id)
    if row is None:
        raise NotFound(f"award proposal {target_id} not found")
    if not write:
        if not ctx.has(f"{NAME}.read"):
            raise Forbidden("reading award proposals needs the permission 'awards.read'")
        return
    if not (ctx.has(f"{NAME}.propose") or ctx.has(f"{NAME}.manage")):
        raise Forbidden("attaching evidence to a proposal needs the permission 'awards.propose'")
    if row["locked"]:
        raise Forbidden(f"the proposal is locked by decision {row['decision_number']}")
    if not ctx.has(f"{NAME}.manage"):
        allowed = await ctx.writable_agency_ids()
        if allowed is not None and row["agency_id"] not in allowed:
            raise Forbidden("an agency officer may attach only to proposals of its own agency and sub-units")


async def check_decision(ctx: TenantContext, target_id: Any, write: bool = False) -> None:
    """Evidence target `award_decision`: the signed decision and its annex; attached by the secretariat."""
    row = await ctx.scope(AwardDecision).find(target_id)
    if row is None:
        raise NotFound(f"award decision {target_id} not found")
    needed = f"{NAME}.manage" if write else f"{NAME}.read"
    if not ctx.has(needed):
        raise Forbidden(f"this needs the permission {needed!r}")


_CODE_OK = re.compile(r"[^a-z0-9_]")


async def merge(m: Any) -> MergeReport:
    """Award forms' codes, decisions' number keys and settings embed the tenant; this rewrites them for the target.

    Rules: a source's form whose code the target already uses keeps its rows and is renamed `<code>_<source>`
    (criteria naming it follow); a decision number already used by the target in the same year keeps its number and
    gets a key marked with the source (`@<source>`), since each decision names its own issuer; the target's
    settings win, a source's settings are moved only when the target has none. With dry_run nothing changes."""
    from core.tenancy import unscoped

    target = m.target.id
    sources = {s.id: s for s in m.sources}
    ids = [target, *sources]
    conflicts: list[MergeConflict] = []
    moved: dict[str, int] = {}
    with unscoped():
        forms = await AwardForm.select().where(AwardForm.tenant_id.is_in(ids)).output(load_json=True)
        taken = {f["code"] for f in forms if f["code_key"].startswith(f"{target}:")}
        renames: dict[uuid.UUID, dict[str, str]] = {}
        updates: list[tuple[dict[str, Any], str, str]] = []
        for f in forms:
            prefix = f["code_key"].split(":", 1)[0]
            src = next((s for sid, s in sources.items() if str(sid) == prefix), None)
            if src is None:
                continue
            code = f["code"]
            if code in taken:
                new = f"{code}_{_CODE_OK.sub('_', src.code.lower())}"[:60]
                conflicts.append(MergeConflict(module=NAME, kind="award_form_code", key=code,
                                               detail=f"{src.name} and {m.target.name} both have the award form {code!r}",
                                               rule=f"the source's form is kept as {new!r}; its proposals and "
                                                    "decisions keep pointing to it"))
                renames.setdefault(src.id, {})[code] = new
                code = new
            taken.add(code)
            updates.append((f, code, src.code))
        moved["awards_form"] = len(updates)
        decisions = await AwardDecision.select().where(AwardDecision.tenant_id.is_in(ids))
        keys = {d["number_key"].split(":", 1)[1] for d in decisions if d["number_key"].startswith(f"{target}:")}
        decision_updates = []
        for d in decisions:
            prefix, rest = d["number_key"].split(":", 1)
            src = next((s for sid, s in sources.items() if str(sid) == prefix), None)
            if src is None:
                continue
            if rest in keys:
                conflicts.append(MergeConflict(module=NAME, kind="decision_number", key=d["number"],
                                               detail=f"decision {d['number']} of {d['year']} exists in both provinces",
                                               rule=f"both kept; the source's decision (issuer {d['issuer']}) is "
                                                    f"marked @{src.code}"))
                rest = f"{rest}@{src.code}"
            keys.add(rest)
            decision_updates.append((d["id"], f"{target}:{rest}"))
        moved["awards_decision"] = len(decision_updates)
        settings = await AwardSettings.select().where(AwardSettings.tenant_id.is_in(ids))
        mine = [s for s in settings if s["tenant_id"] == target]
        theirs = [s for s in settings if s["tenant_id"] != target]
        drop = theirs if mine else theirs[1:]
        for s in drop:
            conflicts.append(MergeConflict(module=NAME, kind="setting", key="awards_settings",
                                           detail="the source province has its own awards settings",
                                           rule="the target's settings are kept" if mine else
                                           "the first source's settings are moved"))
        if m.dry_run:
            return MergeReport(module=NAME, moved=moved, conflicts=tuple(conflicts))
        for f, code, src_code in updates:
            criteria = [_rename_criterion(c, renames.get(_source_id(f, sources), {})) for c in f["criteria"]]
            import msgspec

            await AwardForm.update({AwardForm.code: code, AwardForm.code_key: f"{target}:{code}",
                                    AwardForm.tenant_id: target,
                                    AwardForm.criteria: msgspec.json.encode(criteria).decode()}).where(
                AwardForm.id == f["id"])
        for did, key in decision_updates:
            await AwardDecision.update({AwardDecision.number_key: key, AwardDecision.tenant_id: target}).where(
                AwardDecision.id == did)
        if drop:
            await AwardSettings.delete().where(AwardSettings.id.is_in([s["id"] for s in drop]))
        if not mine and theirs:
            await AwardSettings.update({AwardSettings.tenant_id: target}).where(AwardSettings.id == theirs[0]["id"])
    return MergeReport(module=NAME, moved=moved, conflicts=tuple(conflicts))


def _source_id(form: dict[str, Any], sources: dict[uuid.UUID, Any]) -> uuid.UUID | None:
    prefix = form["code_key"].split(":", 1)[0]
    return next((sid for sid in sources if str(sid) == prefix), None)


def _rename_criterion(code: str, renames: dict[str, str]) -> str:
    parts = code.split(":")
    if len(parts) == 3 and parts[0] == "consecutive_years" and parts[1] in renames:
        return f"consecutive_years:{renames[parts[1]]}:{parts[2]}"
    return code
