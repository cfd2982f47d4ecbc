"""Eligibility: the criteria an award form requires, judged from the facts other modules publish.

Criteria are data (codes stored on the form). Each is judged `met`, `unmet` or `unknown`, with a Vietnamese
explanation built from the facts' own explanations:

- `qms_announced_no_overdue` (certification): the agency announced its QMS and has no overdue obligation;
- `inspected_this_year_no_overdue_ca` (inspections): the agency was inspected in the proposal's year and has no
  overdue corrective action;
- `has_internal_auditor` (training): the agency has a person holding a valid internal-auditor certificate (an
  individual: the person holds one);
- `consecutive_years:<form>:<n>` (awards history): the subject received the award form <form> in each of the <n>
  years right before the proposal's year.

For an individual, the agency criteria are judged on the agency the person belonged to when proposed.

A criterion whose module is disabled for the province (or not installed, or failed to answer) is `unknown`. It is
treated like an unmet one: it blocks submission unless overridden with a written reason. This module never
imports another business module: everything comes through `PluginSystem.facts()`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from core.contracts import FactSheet
from core.errors import Unprocessable
from plugins.awards.schemas import CriterionResult, Eligibility


@dataclass(frozen=True)
class CriterionDef:
    code: str
    title_vi: str
    module: str | None
    applies_to: tuple[str, ...] = ("collective", "individual")


FIXED = {
    c.code: c for c in (
        CriterionDef("qms_announced_no_overdue",
                     "Đã công bố HTQLCL phù hợp TCVN ISO 9001 và không có nghĩa vụ quá hạn", "certification"),
        CriterionDef("inspected_this_year_no_overdue_ca",
                     "Được kiểm tra HTQLCL trong năm, không có hành động khắc phục quá hạn", "inspections"),
        CriterionDef("has_internal_auditor",
                     "Có chuyên gia đánh giá nội bộ HTQLCL còn hiệu lực", "training"),
    )
}
CONSECUTIVE = re.compile(r"^consecutive_years:([a-z0-9_]+):([1-9]|10)$")
MODULE_VI = {"certification": "Xây dựng, áp dụng và công bố HTQLCL", "inspections": "Kiểm tra HTQLCL",
             "training": "Đào tạo, tập huấn", "awards": "Thi đua, khen thưởng"}


def normalize(code: str) -> str:
    return code.strip().lower()


def check_codes(codes: Iterable[str], form_codes: set[str], field: str = "criteria") -> list[str]:
    """The criteria codes, normalized and checked: a known code, or consecutive_years:<existing form>:<1..10>."""
    result: list[str] = []
    for i, raw in enumerate(codes):
        code = normalize(raw)
        if code in FIXED:
            pass
        elif (m := CONSECUTIVE.match(code)) is not None:
            if m.group(1) not in form_codes:
                raise Unprocessable(f"criterion {code!r} names the award form {m.group(1)!r}, which this province "
                                    "does not have", field=f"{field}[{i}]")
        else:
            raise Unprocessable(f"unknown criterion {raw!r}: use one of {', '.join(FIXED)} or "
                                "consecutive_years:<form code>:<years 1-10>", field=f"{field}[{i}]")
        if code not in result:
            result.append(code)
    return result


def describe(code: str, form_names: dict[str, str]) -> CriterionDef:
    if code in FIXED:
        return FIXED[code]
    m = CONSECUTIVE.match(code)
    if m is None:
        return CriterionDef(code, f"Tiêu chí không xác định ({code})", None)
    form, years = m.group(1), int(m.group(2))
    return CriterionDef(code, f"Đã được tặng {form_names.get(form, form)} {years} năm liên tục liền trước", "awards")


def reference_day(year: int, today: date | None = None) -> date:
    """Facts are asked on the last day of the proposal's year, or today while that year runs."""
    today = today or date.today()
    return min(date(year, 12, 31), today)


@dataclass(frozen=True)
class Subject:
    """What eligibility needs to know of one proposal."""

    key: Any  # anything identifying the proposal (its id)
    subject: str  # collective | individual
    agency_id: uuid.UUID
    agency_name: str
    person_id: uuid.UUID | None
    year: int
    criteria: tuple[str, ...]
    overrides: dict[str, Any]


def _unknown_module(module: str) -> str:
    return (f"Mô-đun “{MODULE_VI.get(module, module)}” chưa được bật cho tỉnh (hoặc không trả lời): chưa xác định "
            "được tiêu chí này; coi như chưa đạt, trừ khi có ý kiến vượt tiêu chí kèm lý do")


def _fact_text(sheet: FactSheet, subject_id: Any, name: str) -> tuple[Any, str | None]:
    fact = sheet.get(subject_id, name)
    return (None, None) if fact is None else (fact.value, fact.explanation)


def _judge(code: str, s: Subject, sheet: FactSheet, form_names: dict[str, str]) -> tuple[str, str]:
    prefix = f"{s.agency_name}: " if s.subject == "individual" else ""
    if code == "qms_announced_no_overdue":
        if not sheet.knows("certification"):
            return "unknown", _unknown_module("certification")
        announced, a_text = _fact_text(sheet, s.agency_id, "certification.announced")
        overdue, o_text = _fact_text(sheet, s.agency_id, "certification.overdue")
        if announced is None:
            return "unknown", prefix + "chưa có thông tin về HTQLCL của cơ quan"
        text = prefix + "; ".join(t for t in (a_text, o_text) if t)
        return ("met" if announced is True and overdue is False else "unmet"), text
    if code == "inspected_this_year_no_overdue_ca":
        if not sheet.knows("inspections"):
            return "unknown", _unknown_module("inspections")
        inspected, i_text = _fact_text(sheet, s.agency_id, "inspections.inspected_this_year")
        late, l_text = _fact_text(sheet, s.agency_id, "inspections.overdue_corrective_actions")
        if inspected is None:
            return "unknown", prefix + f"chưa có thông tin kiểm tra HTQLCL năm {s.year}"
        parts = [i_text or (f"Đã được kiểm tra năm {s.year}" if inspected else f"Chưa được kiểm tra năm {s.year}")]
        parts.append(l_text or (f"{late or 0} hành động khắc phục quá hạn"))
        ok = inspected is True and not (late or 0)
        return ("met" if ok else "unmet"), prefix + "; ".join(parts)
    if code == "has_internal_auditor":
        if not sheet.knows("training"):
            return "unknown", _unknown_module("training")
        if s.subject == "individual" and s.person_id is not None:
            value, text = _fact_text(sheet, s.person_id, "training.valid_internal_auditor")
            default = "Có chứng chỉ chuyên gia đánh giá nội bộ còn hiệu lực" if value else \
                "Không có chứng chỉ chuyên gia đánh giá nội bộ còn hiệu lực"
        else:
            value, text = _fact_text(sheet, s.agency_id, "training.has_internal_auditor")
            default = "Cơ quan có chuyên gia đánh giá nội bộ còn hiệu lực" if value else \
                "Cơ quan chưa có chuyên gia đánh giá nội bộ còn hiệu lực"
        if value is None:
            return "unknown", "chưa có thông tin đào tạo chuyên gia đánh giá nội bộ"
        return ("met" if value is True else "unmet"), text or default
    m = CONSECUTIVE.match(code)
    if m is not None:
        form, years = m.group(1), int(m.group(2))
        if not sheet.knows("awards"):
            return "unknown", _unknown_module("awards")
        subject_id = s.person_id if s.subject == "individual" else s.agency_id
        history = sheet.value(subject_id, "awards.history", []) or []
        got = sorted({h["year"] for h in history if h.get("form") == form})
        needed = list(range(s.year - years, s.year))
        missing = [y for y in needed if y not in got]
        name = form_names.get(form, form)
        span = f"{needed[0]}" if len(needed) == 1 else f"{needed[0]}–{needed[-1]}"
        if not missing:
            return "met", f"Đã được tặng {name} {years} năm liên tục liền trước năm {s.year} ({span})"
        have = ", ".join(str(y) for y in got) if got else "chưa năm nào"
        return "unmet", (f"Cần {name} {years} năm liên tục liền trước năm {s.year} ({span}); đã được tặng: {have}; "
                         f"thiếu năm {', '.join(str(y) for y in missing)}")
    return "unknown", f"Tiêu chí không xác định ({code})"


def judge(s: Subject, sheet: FactSheet, form_names: dict[str, str], on: date) -> Eligibility:
    results = []
    for code in s.criteria:
        status, text = _judge(code, s, sheet, form_names)
        d = describe(code, form_names)
        override = (s.overrides or {}).get(code)
        results.append(CriterionResult(
            code=code, title_vi=d.title_vi, module=d.module, status=status, explanation=text,
            overridden=override is not None and status != "met",
            override_reason=override.get("reason") if override else None,
            override_by=override.get("by") if override else None,
            override_at=override.get("at") if override else None))
    eligible = all(r.status == "met" or r.overridden for r in results)
    return Eligibility(on=on, eligible=eligible, criteria=results)


async def evaluate(ctx: Any, subjects: list[Subject], form_names: dict[str, str], system: Any = None,
                   modules: Iterable[str] | None = None, today: date | None = None) -> dict[Any, Eligibility]:
    """Eligibility of many proposals: one facts call per reference day (normally one in all).

    `system` is the plugin system to ask (default: the process's); `modules` the modules asked (default: those
    enabled for ctx's tenant)."""
    if system is None:
        from core.plugins import get_plugin_system

        system = get_plugin_system()
    by_day: dict[date, list[Subject]] = {}
    for s in subjects:
        by_day.setdefault(reference_day(s.year, today), []).append(s)
    result: dict[Any, Eligibility] = {}
    for on, group in by_day.items():
        needs = {c for s in group for c in s.criteria}
        if needs:
            sheet = await system.facts(ctx, agencies=[s.agency_id for s in group],
                                       people=[s.person_id for s in group if s.person_id], on=on,
                                       modules=list(modules) if modules is not None else None)
        else:
            sheet = FactSheet()
        for s in group:
            result[s.key] = judge(s, sheet, form_names, on)
    return result
