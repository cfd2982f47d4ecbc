"""/schema renders offline and the OpenAPI document says what the routes answer (issue 17)."""

from __future__ import annotations

import re
from typing import Any


async def test_schema_page_loads_only_its_own_assets(client: Any) -> None:
    r = await client.get("/schema")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"], r.text[:200]
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", r.text)
    assert urls and all(u.startswith("/schema/") for u in urls), urls
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
    assert (await client.get("/schema/assets/..%2Fsetup.py")).status_code == 404
    assert (await client.get("/schema/assets/index.j2")).status_code == 404


async def test_openapi_documents_problems_public_routes_binary_and_closed_bodies(client: Any) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    assert "Problem" in doc["components"]["schemas"]
    paths = doc["paths"]
    login = paths["/api/v1/auth/login"]["post"]
    assert login["security"] == [] and "401" not in login["responses"]
    assert paths["/health"]["get"]["security"] == []
    create = paths["/api/v1/tenants/{tenant_code}/agencies"]["post"]
    for status in ("400", "401", "403", "404", "409", "413", "415", "422"):
        content = create["responses"][status]["content"]
        assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}, status
    assert "security" not in create or create["security"] != []
    board = paths["/api/v1/tenants/{tenant_code}/certification/board.csv"]["get"]["responses"]
    ok = next(v for k, v in board.items() if k.startswith("2"))
    assert any(c.get("schema", {}).get("format") == "binary" for c in ok["content"].values()), ok
    body = create["requestBody"]["content"]["application/json"]["schema"]
    target = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
    assert target["additionalProperties"] is False
