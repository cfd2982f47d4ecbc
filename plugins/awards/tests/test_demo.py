"""The demo seed runs the whole workflow through the services: Lạng Sơn 2015 and a 2024 movement."""

from __future__ import annotations

from datetime import date
from typing import Any

from plugins.awards import demo
from plugins.awards.tests.conftest import Api

LS_AGENCIES = [("LS", "UBND tỉnh Lạng Sơn", "province", None), ("LS-SKHCN", "Sở Khoa học và Công nghệ", "department", "LS"),
               ("LS-STP", "Sở Tư pháp", "department", "LS"), ("LS-SGTVT", "Sở Giao thông Vận tải", "department", "LS"),
               ("LS-STNMT", "Sở Tài nguyên và Môi trường", "department", "LS"),
               ("LS-SNV", "Sở Nội vụ", "department", "LS")]


async def test_lang_son_demo(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(modules=["awards"], name="Lạng Sơn")
    api = Api(client, t)
    ctx = await t.ctx()
    ids = dict(t.agencies)
    for code, name, level, parent in LS_AGENCIES:
        r = await client.post(t.url("/agencies"), headers=t.headers(), json={
            "code": code, "name": name, "level": level, "parent_id": str(ids[parent]) if parent else None,
            "valid_from": "2008-01-01"})
        assert r.status_code == 201, r.text
        ids[code] = r.json()["id"]
    import uuid

    await demo.seed(ctx, {k: uuid.UUID(str(v)) for k, v in ids.items()})
    await demo.seed(ctx, {k: uuid.UUID(str(v)) for k, v in ids.items()})  # a second run changes nothing
    decisions = (await api.get("/decisions", year=2015)).json()["items"]
    assert [(d["number"], d["status"], d["collectives"], d["form_code"]) for d in decisions] == [
        ("112/QĐ-UBND", "issued", 2, "bang_khen_ubnd_tinh")]
    found = (await api.get("/decisions", q="112/qd-ubnd")).json()["items"]
    assert [d["number"] for d in found] == ["112/QĐ-UBND"]
    assert (await api.get("/decisions", q="2315/QĐ")).json()["total"] == 1
    assert (await api.get("/decisions", q="4")).json()["total"] == 0  # the tenant's id in the key is not searched
    names = sorted(a["awardee_name"] for a in decisions[0]["awardees"])
    assert names == ["Sở Khoa học và Công nghệ", "Sở Tư pháp"]
    statuses = sorted(p["status"] for p in (await api.get("/proposals", year=2024, limit=100)).json()["items"])
    assert statuses == ["approved", "draft", "raised", "rejected", "reviewed", "submitted"]
    history = (await api.get("/history", q="so tu phap")).json()
    assert history["total"] == 1 and history["items"][0]["year"] == 2015
    assert history["items"][0]["decision_number"] == "112/QĐ-UBND"
