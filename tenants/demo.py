"""The three demo provinces of DOMAIN.md, their agencies and demo logins. Idempotent: existing tenants are kept.

Facts from the seeds: Lạng Sơn's 2024 inspection visited Sở Tư pháp, Sở Tài nguyên và Môi trường and Sở Giao
thông Vận tải; Bắc Ninh absorbed Bắc Giang (Việt Yên district's 19 communes); Hưng Yên absorbed Thái Bình (41
required agencies). Districts were abolished and the two provinces merged on 2025-07-01: their agencies are kept
as closed history (valid_to = 2025-07-01), never deleted. Some names of units are invented for the demo.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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
    return rows


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


DEMO_TENANTS: dict[str, tuple[str, Any, list[DemoUser]]] = {
    "lang-son": ("Lạng Sơn", lang_son, [
        DemoUser("admin@lang-son.isogov.local", "Sở KH&CN Lạng Sơn (thường trực BCĐ ISO)", "tenant_admin", "LS-SKHCN"),
        DemoUser("inspector@lang-son.isogov.local", "Trần Quốc Anh", "inspector", "LS-SKHCN"),
        DemoUser("officer@lang-son.isogov.local", "Thư ký ISO Sở Tư pháp", "agency_officer", "LS-STP"),
        DemoUser("viewer@lang-son.isogov.local", "Văn phòng UBND tỉnh Lạng Sơn", "viewer", "LS-VP"),
    ]),
    "bac-ninh": ("Bắc Ninh", bac_ninh, [
        DemoUser("admin@bac-ninh.isogov.local", "Sở KH&CN Bắc Ninh (thường trực BCĐ ISO)", "tenant_admin", "BN-SKHCN"),
        DemoUser("inspector@bac-ninh.isogov.local", "Chi cục TĐC Bắc Ninh", "inspector", "BN-TDC"),
        DemoUser("officer@bac-ninh.isogov.local", "Thư ký ISO Sở Tư pháp Bắc Ninh", "agency_officer", "BN-STP"),
    ]),
    "hung-yen": ("Hưng Yên", hung_yen, [
        DemoUser("admin@hung-yen.isogov.local", "Sở KH&CN Hưng Yên (thường trực BCĐ ISO)", "tenant_admin", "HY-SKHCN"),
        DemoUser("inspector@hung-yen.isogov.local", "Chi cục TĐC Hưng Yên", "inspector", "HY-TDC"),
        DemoUser("officer@hung-yen.isogov.local", "Thư ký ISO Sở Tư pháp Hưng Yên", "agency_officer", "HY-STP"),
    ]),
}

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
    return created


def demo_logins() -> list[tuple[str, str]]:
    logins = [(u.email, u.role) for u in PLATFORM_USERS]
    for _, _, users in DEMO_TENANTS.values():
        logins += [(u.email, u.role) for u in users]
    return logins
