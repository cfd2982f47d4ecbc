"""Production logs: one JSON object per line (libraries' lines too), each request's line carrying its request id,
tenant and user."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import sys
from typing import Any

import structlog

from core.logging import configure_logging
from core.settings import get_settings


async def test_json_request_lines_carry_request_id_tenant_and_user(client: Any, make_tenant: Any, monkeypatch: Any) -> None:
    t = await make_tenant()
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging(dataclasses.replace(get_settings(), log_json=True, log_level="INFO"))
    monkeypatch.undo()  # the logger keeps writing to `out`
    try:
        r = await client.get(t.url("/agencies"), headers={**t.headers("viewer"), "X-Request-ID": "req-abc-123"})
        assert r.status_code == 200 and r.headers["x-request-id"] == "req-abc-123"
        r = await client.get("/health")
        generated = r.headers["x-request-id"]
        refused = await client.get(t.url("/agencies"), headers={"X-Request-ID": "req-no-token"})
        assert refused.status_code == 401
        structlog.contextvars.bind_contextvars(job_id="deliver:42")
        logging.getLogger("arq.worker").warning("job %s took %ss", "deliver:42", 3)  # a library's own line
        structlog.contextvars.clear_contextvars()
    finally:
        configure_logging(get_settings())
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    requests = {line["request_id"]: line for line in lines if line.get("event") == "request"}
    tenant_line = requests["req-abc-123"]
    assert tenant_line["tenant"] == t.code and tenant_line["user_id"] == str(t.users["viewer"])
    assert tenant_line["status"] == 200 and tenant_line["path"] == t.url("/agencies") and tenant_line["level"] == "info"
    assert "timestamp" in tenant_line
    health = requests[generated]  # a new id when the client sent none, and no tenant leaking from the last request
    assert requests["req-no-token"]["status"] == 401 and "user_id" not in requests["req-no-token"]
    assert len(generated) == 32 and "tenant" not in health and "user_id" not in health
    library = [line for line in lines if line.get("logger") == "arq.worker"]
    assert library == [{"event": "job deliver:42 took 3s", "job_id": "deliver:42", "level": "warning",
                        "logger": "arq.worker", "timestamp": library[0]["timestamp"]}]
    assert not [h for h in logging.getLogger().handlers if getattr(h, "isogov_json", False)]  # embedded: plain again
