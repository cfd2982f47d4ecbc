"""The checklist template, records (Mẫu 21) with findings, and corrective actions to closure.

- A record is answered on a copy of the checklist template in force when it was opened, pre-filled from
  certification facts; findings (vấn đề tồn tại) are tied to one of its items.
- Signing (on a date, by the team head and the agency) locks the record and opens its findings, each due two
  months after signing. An amendment is a new record: it copies the signed one; when it is signed the old record
  is superseded and its findings (with their actions and due dates) carry over.
- The agency reports actions per finding; the inspecting unit accepts (the finding closes), does not accept
  (with a written reason: the finding is open again) or defers verification to the next inspection.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec

from core.agencies.tables import Agency
from core.db import transaction
from core.errors import Conflict, NotFound, Unprocessable
from core.tenancy.context import TenantContext
from core.tenancy.guards import enabled_modules
from plugins.inspections import NAME, checklist
from plugins.inspections.schemas import ActionRead, FindingRead, RecordRead, TemplateRead
from plugins.inspections.services import send, _lock, add_months, dump, load, vi_date
from plugins.inspections.tables import (
    InspectionChecklistTemplate,
    InspectionCorrectiveAction,
    InspectionFinding,
    InspectionRecord,
    InspectionVisit,
)

# ------------------------------------------------------------------------------------------------ template


async def current_template(ctx: TenantContext) -> TemplateRead:
    row = await ctx.scope(InspectionChecklistTemplate).select().order_by(
        InspectionChecklistTemplate.version, ascending=False).output(load_json=True).first()
    if row is None:
        return TemplateRead(version=0, title=checklist.BUILTIN_TITLE, items=checklist.BUILTIN_ITEMS, builtin=True)
    return TemplateRead(version=row["version"], title=row["title"], items=row["items"], builtin=False)


async def template_versions(ctx: TenantContext) -> list[TemplateRead]:
    rows = await ctx.scope(InspectionChecklistTemplate).select().order_by(
        InspectionChecklistTemplate.version).output(load_json=True)
    return [TemplateRead(version=0, title=checklist.BUILTIN_TITLE, items=checklist.BUILTIN_ITEMS, builtin=True),
            *[TemplateRead(version=r["version"], title=r["title"], items=r["items"], builtin=False) for r in rows]]


async def create_template(ctx: TenantContext, data: Any) -> TemplateRead:
    codes = [i.code for i in data.items]
    if len(set(codes)) != len(codes):
        raise Unprocessable("two checklist items share a code", field="items")
    async with transaction():
        latest = await current_template(ctx)
        version = latest.version + 1
        try:
            await ctx.scope(InspectionChecklistTemplate).insert({
                "version": version, "template_key": f"{ctx.tenant.id}:{version}", "title": data.title,
                "items": dump([msgspec.structs.asdict(i) for i in data.items])})
        except Exception as exc:  # a concurrent publication took the version number
            if "unique" in str(exc).lower() or "UNIQUE" in str(exc):
                raise Conflict("another checklist version was published at the same moment", field="items") from exc
            raise
    return await current_template(ctx)


# ------------------------------------------------------------------------------------------------ records


async def get_record(ctx: TenantContext, record_id: uuid.UUID) -> dict[str, Any]:
    row = await ctx.scope(InspectionRecord).select().where(InspectionRecord.id == record_id).output(
        load_json=True).first()
    if row is None:
        raise NotFound(f"inspection record {record_id} not found")
    return row


def _overdue(finding: dict[str, Any], day: date) -> bool:
    return finding["status"] == "open" and finding["due_on"] is not None and finding["due_on"] < day


def action_read(row: dict[str, Any]) -> ActionRead:
    return ActionRead(**{k: row[k] for k in ActionRead.__struct_fields__})


async def findings_of(ctx: TenantContext, record_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await ctx.scope(InspectionFinding).select().where(InspectionFinding.record_id == record_id)
    return sorted(rows, key=lambda f: (f["item_code"], f["created_at"], str(f["id"])))


async def finding_read(ctx: TenantContext, f: dict[str, Any], actions: list[dict] | None = None) -> FindingRead:
    if actions is None:
        actions = await ctx.scope(InspectionCorrectiveAction).select().where(
            InspectionCorrectiveAction.finding_id == f["id"]).order_by(InspectionCorrectiveAction.created_at)
    return FindingRead(id=f["id"], record_id=f["record_id"], agency_id=f["agency_id"], item_code=f["item_code"],
                       severity=f["severity"], text=f["text"], status=f["status"], due_on=f["due_on"],
                       closed_on=f["closed_on"], overdue=_overdue(f, date.today()),
                       actions=[msgspec.structs.asdict(action_read(a)) for a in actions])


async def record_read(ctx: TenantContext, row: dict[str, Any]) -> RecordRead:
    agency = await ctx.scope(Agency).find(row["agency_id"])
    findings = await findings_of(ctx, row["id"])
    actions = await ctx.scope(InspectionCorrectiveAction).select().where(
        InspectionCorrectiveAction.finding_id.is_in([f["id"] for f in findings] or [uuid.uuid4()])).order_by(
        InspectionCorrectiveAction.created_at)
    by_finding: dict[Any, list] = {}
    for a in actions:
        by_finding.setdefault(a["finding_id"], []).append(a)
    return RecordRead(
        id=row["id"], visit_id=row["visit_id"], agency_id=row["agency_id"], agency_name=agency["name"] if agency else "",
        year=row["year"], form=row["form"], number=row["number"], inspected_on=row["inspected_on"],
        template_version=row["template_version"], checklist=load(row["checklist"]), conclusion=row["conclusion"],
        result=row["result"], status=row["status"], signed_on=row["signed_on"], head_signer=row["head_signer"],
        agency_signer=row["agency_signer"], amends_id=row["amends_id"],
        findings=[await finding_read(ctx, f, by_finding.get(f["id"], [])) for f in findings])


async def create_record(ctx: TenantContext, system: Any, data: Any) -> dict[str, Any]:
    visit = await ctx.scope(InspectionVisit).get(data.visit_id, label="inspection visit")
    if visit["status"] == "cancelled":
        raise Conflict("the visit was cancelled", field="visit_id")
    inspected_on = data.inspected_on or visit["scheduled_on"]
    if inspected_on.year != visit["year"]:
        raise Unprocessable(f"the inspection day must fall in {visit['year']}", field="inspected_on")
    template = await current_template(ctx)
    modules = [m for m in system.enabled_or_builtin(await enabled_modules(ctx.tenant.id)) if m != NAME]
    sheet = await system.facts(ctx, agencies=[visit["agency_id"]], on=inspected_on, modules=modules)
    lines = checklist.fill(template.items, sheet, visit["agency_id"], inspected_on)
    async with transaction():
        await _lock(ctx, InspectionVisit, visit["id"], "inspection visit")
        if await ctx.scope(InspectionRecord).select(InspectionRecord.id).where(
                (InspectionRecord.visit_id == visit["id"]) & (InspectionRecord.amends_id.is_null())).first():
            raise Conflict("this visit already has a record; amend the signed record instead", field="visit_id")
        return await ctx.scope(InspectionRecord).insert({
            "visit_id": visit["id"], "agency_id": visit["agency_id"], "year": visit["year"], "form": visit["form"],
            "number": data.number, "inspected_on": inspected_on, "template_version": template.version,
            "checklist": dump(lines), "status": "draft"})


async def _draft_record(ctx: TenantContext, record_id: uuid.UUID) -> dict[str, Any]:
    row = await _lock(ctx, InspectionRecord, record_id, "inspection record")
    if row["status"] != "draft":
        raise Conflict(f"the record is {row['status']}: a signed record is locked; amend it (a new record)",
                       field="status")
    return row


async def update_record(ctx: TenantContext, record_id: uuid.UUID, data: Any) -> dict[str, Any]:
    async with transaction():
        row = await _draft_record(ctx, record_id)
        changes: dict[str, Any] = {}
        if data.number is not msgspec.UNSET:
            changes["number"] = data.number
        if data.conclusion is not msgspec.UNSET:
            changes["conclusion"] = data.conclusion
        if data.answers is not msgspec.UNSET:
            lines = load(row["checklist"])
            by_code = {line["code"]: line for line in lines}
            for answer in data.answers:
                if answer.code not in by_code:
                    raise Unprocessable(f"the checklist has no item {answer.code!r}", field="answers")
                by_code[answer.code].update(answer=answer.answer, note=answer.note)
            changes["checklist"] = dump(lines)
        if changes:
            await ctx.scope(InspectionRecord).update(record_id, changes)
    return await get_record(ctx, record_id)


async def add_finding(ctx: TenantContext, record_id: uuid.UUID, data: Any) -> dict[str, Any]:
    async with transaction():
        row = await _draft_record(ctx, record_id)
        if data.item_code not in {line["code"] for line in load(row["checklist"])}:
            raise Unprocessable(f"the record's checklist has no item {data.item_code!r}", field="item_code")
        return await ctx.scope(InspectionFinding).insert({
            "record_id": record_id, "agency_id": row["agency_id"], "item_code": data.item_code,
            "severity": data.severity, "text": data.text, "status": "draft"})


async def delete_finding(ctx: TenantContext, finding_id: uuid.UUID) -> None:
    from core.audit import record
    from core.tenancy import unscoped

    async with transaction():
        finding = await ctx.scope(InspectionFinding).get(finding_id, label="finding")
        await _draft_record(ctx, finding["record_id"])
        if finding["carried_from_id"] is not None:
            raise Conflict("a finding carried from the signed record cannot be removed by an amendment",
                           field="finding_id")
        with unscoped():
            await InspectionFinding.delete().where(
                (InspectionFinding.id == finding_id) & (InspectionFinding.tenant_id == ctx.tenant.id))
        await record(ctx, action="delete", entity=InspectionFinding._meta.tablename, entity_id=finding_id,
                     before=finding, after=None)


def result_of(findings: list[dict[str, Any]]) -> str:
    severities = {f["severity"] for f in findings}
    if "major" in severities:
        return "major_nonconformities"
    if "minor" in severities:
        return "minor_nonconformities"
    return "conforming"


RESULTS_VI = {"conforming": "Phù hợp", "minor_nonconformities": "Có điểm không phù hợp nhẹ",
              "major_nonconformities": "Có điểm không phù hợp nặng", None: ""}


async def sign_record(ctx: TenantContext, record_id: uuid.UUID, data: Any) -> dict[str, Any]:
    async with transaction():
        row = await _draft_record(ctx, record_id)
        if data.signed_on < row["inspected_on"]:
            raise Unprocessable("a record is signed on or after the inspection day", field="signed_on")
        if data.signed_on > date.today():
            raise Unprocessable("a record cannot be signed in the future", field="signed_on")
        findings = await findings_of(ctx, record_id)
        due = add_months(data.signed_on, 2)
        for f in findings:
            if f["carried_from_id"] is not None:
                old = await ctx.scope(InspectionFinding).get(f["carried_from_id"])
                await ctx.scope(InspectionFinding).update(f["id"], {
                    "status": old["status"], "due_on": old["due_on"], "closed_on": old["closed_on"]}, action="sign")
                for action in await ctx.scope(InspectionCorrectiveAction).select(InspectionCorrectiveAction.id).where(
                        InspectionCorrectiveAction.finding_id == old["id"]):
                    await ctx.scope(InspectionCorrectiveAction).update(action["id"], {"finding_id": f["id"]},
                                                                       action="carry")
                await ctx.scope(InspectionFinding).update(old["id"], {"status": "superseded"}, action="supersede")
            else:
                await ctx.scope(InspectionFinding).update(f["id"], {"status": "open", "due_on": due}, action="sign")
        if row["amends_id"] is not None:
            await ctx.scope(InspectionRecord).update(row["amends_id"], {"status": "superseded"}, action="supersede")
        signed = await ctx.scope(InspectionRecord).update(record_id, {
            "status": "signed", "signed_on": data.signed_on, "head_signer": data.head_signer,
            "agency_signer": data.agency_signer, "result": result_of(findings)}, action="sign")
        visit = await ctx.scope(InspectionVisit).get(row["visit_id"])
        if visit["status"] == "scheduled":
            await ctx.scope(InspectionVisit).update(visit["id"], {"status": "done"}, action="complete")
        agency = await ctx.scope(Agency).get(row["agency_id"])
        await send(ctx, kind=f"{NAME}.record_signed", recipients=["agency_officer", "inspector"],
                     agency_id=row["agency_id"], link=f"{NAME}/records/{record_id}",
                     data={"agency": agency["name"], "count": len(findings), "due": vi_date(due)},
                     dedup_key=f"{NAME}:record_signed:{record_id}")
    return await get_record(ctx, record_id)


async def amend_record(ctx: TenantContext, record_id: uuid.UUID) -> dict[str, Any]:
    async with transaction():
        row = await _lock(ctx, InspectionRecord, record_id, "inspection record")
        if row["status"] != "signed":
            raise Conflict(f"only a signed record is amended (this one is {row['status']}); edit the draft",
                           field="status")
        if await ctx.scope(InspectionRecord).select(InspectionRecord.id).where(
                (InspectionRecord.amends_id == record_id)).first():
            raise Conflict("this record already has an amendment", field="status")
        new = await ctx.scope(InspectionRecord).insert({
            "visit_id": row["visit_id"], "agency_id": row["agency_id"], "year": row["year"], "form": row["form"],
            "number": row["number"], "inspected_on": row["inspected_on"], "template_version": row["template_version"],
            "checklist": dump(load(row["checklist"])), "conclusion": row["conclusion"], "status": "draft",
            "amends_id": record_id}, action="amend")
        for f in await findings_of(ctx, record_id):
            await ctx.scope(InspectionFinding).insert({
                "record_id": new["id"], "agency_id": f["agency_id"], "item_code": f["item_code"],
                "severity": f["severity"], "text": f["text"], "status": "draft", "carried_from_id": f["id"]},
                action="amend")
    return await get_record(ctx, new["id"])


async def list_records(ctx: TenantContext, year: int | None, agency_id: uuid.UUID | None, status: str | None,
                       limit: int, offset: int):
    conds = []
    for column, value in ((InspectionRecord.year, year), (InspectionRecord.agency_id, agency_id),
                          (InspectionRecord.status, status)):
        if value is not None:
            conds.append(column == value)
    return await ctx.scope(InspectionRecord).page(*conds, order_by=(InspectionRecord.inspected_on,), limit=limit,
                                                  offset=offset)


# ------------------------------------------------------------------------------------------------ actions


async def get_finding(ctx: TenantContext, finding_id: uuid.UUID) -> dict[str, Any]:
    return await ctx.scope(InspectionFinding).get(finding_id, label="finding")


async def report_action(ctx: TenantContext, finding_id: uuid.UUID, data: Any) -> dict[str, Any]:
    finding = await get_finding(ctx, finding_id)
    await ctx.ensure_agency(finding["agency_id"], write=True)
    reported_on = data.reported_on or date.today()
    if reported_on > date.today():
        raise Unprocessable("an action cannot be reported in the future", field="reported_on")
    async with transaction():
        finding = await _lock(ctx, InspectionFinding, finding_id, "finding")
        if finding["status"] != "open":
            what = {"draft": "the record is not signed yet", "action_reported": "an action awaits verification",
                    "deferred": "verification was deferred to the next inspection", "closed": "the finding is closed",
                    "superseded": "the record was amended: report on the amendment's finding"}[finding["status"]]
            raise Conflict(f"cannot report an action: {what}", field="status")
        record = await ctx.scope(InspectionRecord).get(finding["record_id"])
        if reported_on < record["signed_on"]:
            raise Unprocessable("an action is reported on or after the record was signed", field="reported_on")
        action = await ctx.scope(InspectionCorrectiveAction).insert({
            "finding_id": finding_id, "agency_id": finding["agency_id"], "reported_on": reported_on,
            "description": data.description, "on_time": reported_on <= finding["due_on"], "status": "reported"})
        await ctx.scope(InspectionFinding).update(finding_id, {"status": "action_reported"}, action="report")
        agency = await ctx.scope(Agency).get(finding["agency_id"])
        await send(ctx, kind=f"{NAME}.action_reported", recipients=["inspector"], agency_id=finding["agency_id"],
                     link=f"{NAME}/findings/{finding_id}", data={"agency": agency["name"]},
                     dedup_key=f"{NAME}:action_reported:{action['id']}")
    return action


async def decide_action(ctx: TenantContext, action_id: uuid.UUID, data: Any) -> dict[str, Any]:
    decided_on = data.decided_on or date.today()
    if decided_on > date.today():
        raise Unprocessable("a decision cannot be dated in the future", field="decided_on")
    if data.decision == "not_accept" and not data.reason:
        raise Unprocessable("a non-acceptance needs its written reason", field="reason")
    async with transaction():
        action = await _lock(ctx, InspectionCorrectiveAction, action_id, "corrective action")
        allowed = {"reported": ("accept", "not_accept", "defer"), "deferred": ("accept", "not_accept")}
        if data.decision not in allowed.get(action["status"], ()):
            raise Conflict(f"cannot {data.decision} an action that is {action['status']}", field="decision")
        if decided_on < action["reported_on"]:
            raise Unprocessable("a decision is dated on or after the report", field="decided_on")
        status = {"accept": "accepted", "not_accept": "not_accepted", "defer": "deferred"}[data.decision]
        finding_status = {"accept": "closed", "not_accept": "open", "defer": "deferred"}[data.decision]
        action = await ctx.scope(InspectionCorrectiveAction).update(action_id, {
            "status": status, "decided_on": decided_on, "decided_by": ctx.actor.email,
            "decision_reason": data.reason}, action=data.decision)
        await ctx.scope(InspectionFinding).update(action["finding_id"], {
            "status": finding_status, "closed_on": decided_on if data.decision == "accept" else None},
            action=data.decision)
        agency = await ctx.scope(Agency).get(action["agency_id"])
        await send(ctx, kind=f"{NAME}.action_decided", recipients=["agency_officer"], agency_id=action["agency_id"],
                     link=f"{NAME}/findings/{action['finding_id']}",
                     data={"agency": agency["name"], "decision": {"accept": "được chấp nhận",
                                                                  "not_accept": "không được chấp nhận",
                                                                  "defer": "sẽ được xác minh ở lần kiểm tra sau"}[
                         data.decision]},
                     dedup_key=f"{NAME}:action_decided:{action_id}:{status}")
    return action


async def list_findings(ctx: TenantContext, year: int | None, agency_id: uuid.UUID | None, status: str | None,
                        overdue: bool | None, limit: int, offset: int):
    conds = [InspectionFinding.status != "superseded"] if status is None else [InspectionFinding.status == status]
    if agency_id is not None:
        conds.append(InspectionFinding.agency_id == agency_id)
    if year is not None:
        ids = [r["id"] for r in await ctx.scope(InspectionRecord).select(InspectionRecord.id).where(
            InspectionRecord.year == year)]
        conds.append(InspectionFinding.record_id.is_in(ids or [uuid.uuid4()]))
    if overdue is True:
        conds.append((InspectionFinding.status == "open") & (InspectionFinding.due_on < date.today()))
    elif overdue is False:
        conds.append((InspectionFinding.status != "open") | (InspectionFinding.due_on >= date.today()))
    return await ctx.scope(InspectionFinding).page(*conds, order_by=(InspectionFinding.due_on,), limit=limit,
                                                   offset=offset)


async def overdue_board(ctx: TenantContext, day: date) -> list[dict[str, Any]]:
    rows = await ctx.scope(InspectionFinding).select().where(
        (InspectionFinding.status == "open") & (InspectionFinding.due_on < day))
    agencies = {a["id"]: a for a in await ctx.scope(Agency).select(Agency.id, Agency.code, Agency.name).where(
        Agency.id.is_in([r["agency_id"] for r in rows] or [uuid.uuid4()]))}
    board = [{"finding_id": r["id"], "record_id": r["record_id"], "agency_id": r["agency_id"],
              "agency_code": agencies[r["agency_id"]]["code"], "agency_name": agencies[r["agency_id"]]["name"],
              "item_code": r["item_code"], "severity": r["severity"], "text": r["text"], "status": r["status"],
              "due_on": r["due_on"], "days_overdue": (day - r["due_on"]).days} for r in rows]
    return sorted(board, key=lambda b: (-b["days_overdue"], b["agency_code"], str(b["finding_id"])))
