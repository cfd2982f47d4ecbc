"""The demo provinces of DOMAIN.md, their agencies and demo logins. Idempotent: existing tenants are kept.

Facts from the seeds: Lạng Sơn's 2024 inspection visited Sở Tư pháp, Sở Tài nguyên và Môi trường and Sở Giao
thông Vận tải; Bắc Ninh absorbed Bắc Giang (Việt Yên district's 19 communes); Hưng Yên absorbed Thái Bình (41
required agencies). The demo is honest about 2025: Bắc Giang and Thái Bình are seeded as provinces of their own
with their history before the reform, then the real merge (tenants.merge) moves them into Bắc Ninh and Hưng Yên
on 2025-07-01 and the real restructuring (core.agencies.restructure) abolishes their districts, merges Việt
Yên's communes into wards and their departments into the merged province's. What closed stays as history
(valid_to = 2025-07-01) linked to its successor, never deleted. Some names of units are invented for the demo.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import structlog

from core.agencies.services import code_key
from core.auth import hash_password
from core.db import transaction
from core.plugins import get_plugin_system
from core.agencies.tables import Agency
from core.tenancy.tables import Tenant
from core.users.tables import User
from core.tenancy import Actor, unscoped
from core.tenancy.context import TenantContext
from core.contracts import DemoAgency
from core.text import fold
from core.users.services import add_user
from tenants import service

log = structlog.get_logger("isogov.demo")

DEMO_PASSWORD = "isogov-demo"
MERGER = date(2025, 7, 1)
OLD = date(2008, 1, 1)


A = DemoAgency  # one agency row of a demo province's tree

COMMON_DEPARTMENTS = [
    ("VP", "Văn phòng UBND tỉnh"), ("SNV", "Sở Nội vụ"), ("STP", "Sở Tư pháp"), ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("STC", "Sở Tài chính"), ("SCT", "Sở Công Thương"), ("SXD", "Sở Xây dựng"), ("SYT", "Sở Y tế"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"), ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"), ("TTRA", "Thanh tra tỉnh"),
]


def _province(prefix: str, name: str, extra_departments: list[tuple[str, str]], valid_to: date | None = None,
              valid_from: date = OLD) -> list[A]:
    root = A(prefix, f"UBND tỉnh {name}", "province", valid_from=valid_from, valid_to=valid_to)
    rows = [root]
    for code, dep in COMMON_DEPARTMENTS + extra_departments:
        rows.append(A(f"{prefix}-{code}", dep, "department", prefix, valid_from=valid_from, valid_to=valid_to))
    rows.append(A(f"{prefix}-TDC", "Chi cục Tiêu chuẩn Đo lường Chất lượng", "unit", f"{prefix}-SKHCN",
                  required=False, valid_from=valid_from, valid_to=valid_to))
    return rows


def lang_son() -> list[A]:
    rows = _province("LS", "Lạng Sơn", [("STNMT", "Sở Tài nguyên và Môi trường"), ("SGTVT", "Sở Giao thông Vận tải"),
                                       ("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn")])
    for code, name in [("TPLS", "UBND thành phố Lạng Sơn"), ("CL", "UBND huyện Cao Lộc"), ("CG", "UBND huyện Chi Lăng")]:
        rows.append(A(f"LS-{code}", name, "district", "LS", valid_to=MERGER))
    for code, name in [("DONGKINH", "UBND phường Đông Kinh"), ("TAMTHANH", "UBND phường Tam Thanh"),
                       ("DONGDANG", "UBND xã Đồng Đăng"), ("CAOLOC", "UBND xã Cao Lộc"),
                       ("CHILANG", "UBND xã Chi Lăng")]:
        rows.append(A(f"LS-{code}", name, "commune", "LS", required=False, valid_from=MERGER))
    return rows


VIET_YEN_COMMUNES = [
    ("BICHDONG", "UBND thị trấn Bích Động"), ("NINHSON", "UBND xã Ninh Sơn"), ("NENH", "UBND thị trấn Nếnh"),
    ("BICHSON", "UBND xã Bích Sơn"), ("HONGTHAI", "UBND xã Hồng Thái"), ("HOANGNINH", "UBND xã Hoàng Ninh"),
    ("HUONGMAI", "UBND xã Hương Mai"), ("MINHDUC", "UBND xã Minh Đức"), ("NGHIATRUNG", "UBND xã Nghĩa Trung"),
    ("QUANGCHAU", "UBND xã Quang Châu"), ("QUANGMINH", "UBND xã Quảng Minh"), ("TANGTIEN", "UBND xã Tăng Tiến"),
    ("THUONGLAN", "UBND xã Thượng Lan"), ("TIENSON", "UBND xã Tiên Sơn"), ("TRUNGSON", "UBND xã Trung Sơn"),
    ("TULAN", "UBND xã Tự Lạn"), ("VANHA", "UBND xã Vân Hà"), ("VANTRUNG", "UBND xã Vân Trung"),
    ("VIETTIEN", "UBND xã Việt Tiến"),
]


def bac_ninh() -> list[A]:
    rows = _province("BN", "Bắc Ninh", [("STNMT", "Sở Nông nghiệp và Môi trường")])
    rows += _province("BG", "Bắc Giang", [("STNMT", "Sở Tài nguyên và Môi trường")], valid_to=MERGER)
    rows.append(A("BG-VY", "UBND huyện Việt Yên", "district", "BG", valid_to=MERGER))
    rows.append(A("BG-LG", "UBND huyện Lạng Giang", "district", "BG", valid_to=MERGER))
    for code, name in VIET_YEN_COMMUNES:
        rows.append(A(f"BG-VY-{code}", name, "commune", "BG-VY", required=False, valid_from=date(2017, 1, 1),
                      valid_to=MERGER))
    for code, name, _ in VIET_YEN_WARDS:  # the wards the communes were merged into on 2025-07-01
        rows.append(A(code, name, "commune", "BN", required=False, valid_from=MERGER))
    return rows


VIET_YEN_WARDS = [  # invented grouping, after the 2025 reform's wards
    ("BN-P-VIETYEN", "UBND phường Việt Yên", ("BICHDONG", "HONGTHAI", "TANGTIEN")),
    ("BN-P-NENH", "UBND phường Nếnh", ("NENH", "QUANGCHAU", "QUANGMINH", "NINHSON")),
    ("BN-P-VANHA", "UBND phường Vân Hà", ("VANHA", "VANTRUNG", "TIENSON")),
    ("BN-P-TULAN", "UBND phường Tự Lạn", ("TULAN", "BICHSON", "VIETTIEN", "HUONGMAI")),
    ("BN-P-TAMGIANG", "UBND phường Tam Giang", ("HOANGNINH", "MINHDUC", "NGHIATRUNG", "THUONGLAN", "TRUNGSON")),
]
# Thái Bình's departments with no namesake in Hưng Yên: where the 2025 reform put their work
THAI_BINH_INTO = {"TB-SNNPTNT": "HY-SNNMT", "TB-STNMT": "HY-SNNMT", "TB-SKHDT": "HY-STC", "TB-SGTVT": "HY-SXD",
                  "TB-STTTT": "HY-SKHCN", "TB-SLDTBXH": "HY-SNV", "TB-BQLKCN": "HY"}


THAI_BINH_EXTRA = [
    ("SKHDT", "Sở Kế hoạch và Đầu tư"), ("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("SGTVT", "Sở Giao thông Vận tải"), ("STNMT", "Sở Tài nguyên và Môi trường"),
    ("STTTT", "Sở Thông tin và Truyền thông"), ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội"),
    ("BQLKCN", "Ban Quản lý các Khu công nghiệp tỉnh"),
]
THAI_BINH_DISTRICTS = [
    ("TPTB", "UBND thành phố Thái Bình"), ("DH", "UBND huyện Đông Hưng"), ("HH", "UBND huyện Hưng Hà"),
    ("KX", "UBND huyện Kiến Xương"), ("QP", "UBND huyện Quỳnh Phụ"), ("TT", "UBND huyện Thái Thụy"),
    ("TH", "UBND huyện Tiền Hải"), ("VT", "UBND huyện Vũ Thư"),
]
DISTRICT_OFFICES = [("PNV", "Phòng Nội vụ"), ("PTP", "Phòng Tư pháp"), ("PTNMT", "Phòng Tài nguyên và Môi trường")]


def hung_yen() -> list[A]:
    rows = _province("HY", "Hưng Yên", [("SNNMT", "Sở Nông nghiệp và Môi trường")])
    # Thái Bình before the merger: 41 agencies required to apply the QMS (UBND tỉnh, 18 provincial units,
    # 8 district People's Committees and 14 district offices), plus its Chi cục TĐC (voluntary).
    rows += _province("TB", "Thái Bình", THAI_BINH_EXTRA, valid_to=MERGER)
    for code, name in THAI_BINH_DISTRICTS:
        rows.append(A(f"TB-{code}", name, "district", "TB", valid_to=MERGER))
    offices = [A(f"TB-{code}-{office_code}", f"{office} huyện {district}", "office", f"TB-{code}", valid_to=MERGER)
               for code, district in [("DH", "Đông Hưng"), ("HH", "Hưng Hà"), ("KX", "Kiến Xương"),
                                      ("QP", "Quỳnh Phụ"), ("VT", "Vũ Thư")]
               for office_code, office in DISTRICT_OFFICES]
    return rows + offices[:14]


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: str
    agency: str | None = None


def before_reform(rows: list[A], prefix: str) -> list[A]:
    """A province's tree as it stood before 2025-07-01: what closed then was open, what was founded then was not."""
    return [replace(r, valid_to=None) if r.valid_to == MERGER else r
            for r in rows if r.code.split("-")[0] == prefix and r.valid_from < MERGER]


DEMO_TENANTS: dict[str, tuple[str, Any, list[DemoUser]]] = {
    "lang-son": ("Lạng Sơn", lang_son, [
        DemoUser("admin@lang-son.isogov.local", "Sở KH&CN Lạng Sơn (thường trực BCĐ ISO)", "tenant_admin", "LS-SKHCN"),
        DemoUser("inspector@lang-son.isogov.local", "Trần Quốc Anh", "inspector", "LS-SKHCN"),
        DemoUser("officer@lang-son.isogov.local", "Thư ký ISO Sở Tư pháp", "agency_officer", "LS-STP"),
        DemoUser("viewer@lang-son.isogov.local", "Văn phòng UBND tỉnh Lạng Sơn", "viewer", "LS-VP"),
    ]),
    "bac-ninh": ("Bắc Ninh", lambda: before_reform(bac_ninh(), "BN"), [
        DemoUser("admin@bac-ninh.isogov.local", "Sở KH&CN Bắc Ninh (thường trực BCĐ ISO)", "tenant_admin", "BN-SKHCN"),
        DemoUser("inspector@bac-ninh.isogov.local", "Chi cục TĐC Bắc Ninh", "inspector", "BN-TDC"),
        DemoUser("officer@bac-ninh.isogov.local", "Thư ký ISO Sở Tư pháp Bắc Ninh", "agency_officer", "BN-STP"),
    ]),
    "hung-yen": ("Hưng Yên", lambda: before_reform(hung_yen(), "HY"), [
        DemoUser("admin@hung-yen.isogov.local", "Sở KH&CN Hưng Yên (thường trực BCĐ ISO)", "tenant_admin", "HY-SKHCN"),
        DemoUser("inspector@hung-yen.isogov.local", "Chi cục TĐC Hưng Yên", "inspector", "HY-TDC"),
        DemoUser("officer@hung-yen.isogov.local", "Thư ký ISO Sở Tư pháp Hưng Yên", "agency_officer", "HY-STP"),
    ]),
}

DEMO_TENANTS.update({  # merged on 2025-07-01; their users move to the merged province
    "bac-giang": ("Bắc Giang", lambda: before_reform(bac_ninh(), "BG"), [
        DemoUser("admin@bac-giang.isogov.local", "Sở KH&CN Bắc Giang (trước sáp nhập)", "tenant_admin", "BG-SKHCN"),
    ]),
    "thai-binh": ("Thái Bình", lambda: before_reform(hung_yen(), "TB"), [
        DemoUser("admin@thai-binh.isogov.local", "Sở KH&CN Thái Bình (trước sáp nhập)", "tenant_admin", "TB-SKHCN"),
    ]),
})
# (target, source): the merged province and the one merged into it; what the demo provinces look like today
MERGERS = (("bac-ninh", "bac-giang"), ("hung-yen", "thai-binh"))
TODAY = {"lang-son": lang_son, "bac-ninh": bac_ninh, "hung-yen": hung_yen}

PLATFORM_USERS = [
    DemoUser("admin@isogov.local", "Quản trị nền tảng", "platform_admin"),
    DemoUser("national@isogov.local", "Ủy ban Tiêu chuẩn Đo lường Chất lượng Quốc gia", "national_reviewer"),
]


async def _ensure_platform_users(password_hash: str) -> None:
    with unscoped():
        for u in PLATFORM_USERS:
            if not await User.exists().where(User.email == u.email):
                await User.insert(User(id=uuid.uuid4(), tenant_id=None, email=u.email, full_name=u.full_name,
                                       full_name_folded=fold(u.full_name), role=u.role, password_hash=password_hash))


async def seed_agencies(ctx: TenantContext, rows: list[A]) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    for a in rows:
        ids[a.code] = uuid.uuid4()
        await ctx.scope(Agency).insert({
            "id": ids[a.code], "code": a.code, "code_key": code_key(ctx.tenant.id, a.code), "name": a.name,
            "name_folded": fold(a.name), "level": a.level, "parent_id": ids[a.parent] if a.parent else None,
            "required": a.required, "valid_from": a.valid_from, "valid_to": a.valid_to,
        }, action="seed")
    return ids


async def seed_demo(modules: list[str] | None = None) -> list[str]:
    """Create the demo provinces that do not exist yet; returns the codes created."""
    system = get_plugin_system()
    modules = system.module_names() if modules is None else modules
    actor = Actor.system("demo-seed")
    password_hash = hash_password(DEMO_PASSWORD)
    await _ensure_platform_users(password_hash)
    created = []
    for code, (name, agencies, users) in DEMO_TENANTS.items():
        if await Tenant.exists().where(Tenant.code == code):
            continue
        await service.create_tenant(code, name, modules, actor)
        ctx = await service.system_ctx(code, "demo-seed")
        async with transaction():
            ids = await seed_agencies(ctx, agencies())
            for u in users:
                await add_user(ctx, email=u.email, full_name=u.full_name, role=u.role,
                               agency_id=ids[u.agency] if u.agency else None, password_hash=password_hash,
                               action="seed")
        await system.collect("isogov_seed_demo", modules=modules, ctx=ctx, agencies=ids)
        created.append(code)
        log.info("demo tenant seeded", tenant=code, agencies=len(ids))
    for target, source in MERGERS:
        await _reform(target, source, actor)
    return created


async def _reform(target: str, source: str, actor: Actor) -> None:
    """The 2025 reform of a demo province, through the real merge and the real restructuring (idempotent)."""
    from core.agencies.restructure import Abolish, Merge, NewAgency, RestructureRequest, restructure
    from tenants.merge import merge_tenants

    row = await Tenant.select(Tenant.status).where(Tenant.code == source).first()
    if row is None or row["status"] == "merged":
        return
    await merge_tenants(target, [source], MERGER, users="move", dry_run=False, actor=actor)
    ctx = await service.system_ctx(target, "demo-reform")
    present = {a["code"]: a for a in await ctx.scope(Agency).select()}
    today = {a.code: a for a in TODAY[target]()}
    root = present[target_prefix(target)]["id"]  # the merged province's People's Committee
    operations: list[Any] = []
    for code, name, communes in (VIET_YEN_WARDS if target == "bac-ninh" else ()):
        olds = [present[f"BG-VY-{c}"]["id"] for c in communes]
        operations.append(Merge(agency_ids=olds, into=NewAgency(code=code, name=name, level="commune",
                                                                parent_id=root, required=False)))
    closing = [a for a in today.values() if a.valid_to == MERGER and a.code in present
               and present[a.code]["valid_to"] is None and a.level != "province"]
    for level in ("unit", "department"):
        for a in (x for x in closing if x.level == level):
            into = THAI_BINH_INTO.get(a.code) or f"{target_prefix(target)}-{a.code.split('-', 1)[1]}"
            operations.append(Merge(agency_ids=[present[a.code]["id"]], into_id=present[into]["id"]))
    for a in (x for x in closing if x.level == "district"):
        operations.append(Abolish(agency_id=present[a.code]["id"], reparent_to=root))
    if operations:
        await restructure(ctx, RestructureRequest(effective_on=MERGER, operations=operations, dry_run=False))
    log.info("demo reform done", target=target, source=source, operations=len(operations))


def target_prefix(code: str) -> str:
    return {"bac-ninh": "BN", "hung-yen": "HY", "lang-son": "LS"}[code]


def demo_logins() -> list[tuple[str, str]]:
    logins = [(u.email, u.role) for u in PLATFORM_USERS]
    for _, _, users in DEMO_TENANTS.values():
        logins += [(u.email, u.role) for u in users]
    return logins
