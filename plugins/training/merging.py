"""Tenant merge (e.g. Bắc Giang into Bắc Ninh on 2025-07-01). Core has moved every row (ids kept, tenant_id
rewritten); what embeds the tenant is fixed here:

- **Certificate numbering** (`training_counter`, key "<tenant_id>:<year>"). Rule: the target keeps its own counter
  for a year it has one; a source's counter for that year is kept as history (key "<target>:<year>:from:<code>",
  `merged_from` = the source's code) and numbers nothing more. For a year the target has no counter, the first
  source's counter (by code) becomes the target's, so new numbers continue after the old province's. Certificates
  keep their numbers and texts ("15/2021/CN-TĐC" stays what was printed); their unique key is
  "<counter_id>:<number>", so no clash is possible.
- **Catalogue codes** (`training_kind.code_key` "<tenant_id>:<code>"). A source kind whose code the target also
  has is kept under the code "<code>-<source code>" (its sessions and certificates still point at it); others are
  re-keyed to the target.
"""

from __future__ import annotations

from typing import Any

from core.contracts import MergeConflict, MergeReport, TenantMerge
from core.db import transaction
from core.tenancy import unscoped
from plugins.training import NAME
from plugins.training.tables import TABLES, TrainingCounter, TrainingKind


async def merge(m: TenantMerge) -> MergeReport:
    sources = sorted(m.sources, key=lambda s: s.code)
    ids = [s.id for s in sources]
    conflicts: list[MergeConflict] = []
    moved: dict[str, int] = {}
    async with transaction():
        with unscoped():
            for table in TABLES:  # what the sources hold (a real merge runs after core moved them: re-keyed rows)
                moved[table._meta.tablename] = await table.count().where(table.tenant_id.is_in(ids))
            counters = await TrainingCounter.select().where(TrainingCounter.tenant_id.is_in([*ids, m.target.id]))
            kinds = await TrainingKind.select().where(TrainingKind.tenant_id.is_in([*ids, m.target.id]))
            target_prefix = f"{m.target.id}:"
            target_years = {c["year"] for c in counters if c["key"] == f"{m.target.id}:{c['year']}"}
            target_codes = {k["code"].lower() for k in kinds if k["code_key"].startswith(target_prefix)}
            rekeyed = {"training_counter": 0, "training_kind": 0}
            for source in sources:
                prefix = f"{source.id}:"
                for c in sorted((c for c in counters if c["key"] == f"{source.id}:{c['year']}"),
                                key=lambda c: c["year"]):
                    if c["year"] in target_years:
                        new_key = f"{m.target.id}:{c['year']}:from:{source.code}"
                        conflicts.append(MergeConflict(
                            module=NAME, kind="sequence", key=f"{source.code}:{c['year']}",
                            detail=f"both provinces numbered certificates in {c['year']} ({source.code} up to "
                                   f"{c['last_number']})",
                            rule="the target keeps its own counter; the source's certificates keep their numbers"))
                        values: dict[str, Any] = {"key": new_key, "merged_from": source.code}
                    else:
                        target_years.add(c["year"])
                        values = {"key": f"{m.target.id}:{c['year']}"}
                    rekeyed["training_counter"] += 1
                    if not m.dry_run:
                        await TrainingCounter.update({**values, "tenant_id": m.target.id}).where(
                            TrainingCounter.id == c["id"])
                for k in (k for k in kinds if k["code_key"].startswith(prefix)):
                    code = k["code"]
                    if code.lower() in target_codes:
                        code = f"{k['code']}-{source.code}"[:50]
                        conflicts.append(MergeConflict(
                            module=NAME, kind="kind_code", key=k["code"],
                            detail=f"both catalogues have the kind {k['code']}",
                            rule=f"the source's kind is kept as {code}; its sessions and certificates keep it"))
                    target_codes.add(code.lower())
                    rekeyed["training_kind"] += 1
                    if not m.dry_run:
                        await TrainingKind.update({"code": code, "code_key": f"{m.target.id}:{code.lower()}",
                                                   "tenant_id": m.target.id}).where(TrainingKind.id == k["id"])
    if not m.dry_run:
        moved = {**{name: n for name, n in moved.items() if n}, **rekeyed}
    return MergeReport(module=NAME, moved=moved, conflicts=tuple(conflicts))
