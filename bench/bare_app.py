"""The baseline of the HTTP benchmarks: a bare Litestar app with a plain driver and hand-written SQL.

What an expert would write for the same answers without isogov's layers: verify the same bearer token (pyjwt,
HS256, the same secret), look the user and its tenant up in one query, check the role, run the obvious SQL and
return the same JSON shape. No ORM, no plugin system, no audit helper, no metrics or log-context middleware.
PostgreSQL through an asyncpg pool; SQLite through one aiosqlite connection (SQLite has one writer anyway).

    DATABASE_URL=... ISOGOV_SECRET_KEY=... granian --interface asgi --factory bench.bare_app:create_app

With ISOGOV_BENCH_RLS=1 (PostgreSQL as the runtime role under row-level security, `http_paths.py --rls`) each
request is one transaction on one pooled connection: `BEGIN; set_config('app.platform', 'on', true)` for the user
lookup, `set_config('app.tenant_id', $1, true)` (platform off) before the tenant's statements, then `COMMIT`.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from typing import Any

import jwt
import msgspec
from litestar import Litestar, Request, get, post
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException

LEVELS = ("province", "department", "district", "office", "commune", "unit")
# The expression of the agency_list_order index (tenant_id, this, name_folded, code, id): pages read in order.
LEVEL_CASE = "CASE a.level " + " ".join(f"WHEN '{lvl}' THEN {i}" for i, lvl in enumerate(LEVELS)) + \
    f" ELSE {len(LEVELS)} END"
READ_ROLES = {"tenant_admin", "inspector", "agency_officer", "viewer", "platform_admin"}
WRITE_ROLES = {"tenant_admin", "platform_admin"}

USER_SQL = ("SELECT u.id, u.email, u.role, u.tenant_id, u.token_version, t.code AS tenant_code, t.status AS tenant_status "
            "FROM app_user u LEFT JOIN tenant t ON t.id = u.tenant_id WHERE u.id = $1 AND u.active = $2")
# The columns of the API's answers (AgencyRead, UserRead, EvidenceRead): the same fields, no more.
AGENCY_COLS = "id, code, name, level, parent_id, required, valid_from, valid_to, created_at, updated_at"
# The same order as the API's list: levels in the tree's order (province first), the folded name, code, id.
AGENCIES_SQL = (f"SELECT {AGENCY_COLS} FROM agency a WHERE tenant_id = $1 ORDER BY {LEVEL_CASE}, name_folded, code, id "
                "LIMIT $2 OFFSET $3")
AGENCIES_COUNT = "SELECT count(*) FROM agency WHERE tenant_id = $1"
USER_COLS = "id, email, full_name, role, agency_id, active, created_at, last_login_at"
USERS_SQL = f"SELECT {USER_COLS} FROM app_user WHERE tenant_id = $1 ORDER BY email, id LIMIT $2 OFFSET $3"
USERS_COUNT = "SELECT count(*) FROM app_user WHERE tenant_id = $1"
EVIDENCE_COLS = ("id, title, target_type, target_id, version, filename, content_type, size, sha256, "
                 "uploaded_by, uploaded_by_name, created_by, created_at, updated_at")
EVIDENCE_SQL = (f"SELECT {EVIDENCE_COLS} FROM evidence WHERE tenant_id = $1 AND deleted_at IS NULL "
                "ORDER BY created_at DESC, id LIMIT $2 OFFSET $3")
EVIDENCE_COUNT = "SELECT count(*) FROM evidence WHERE tenant_id = $1 AND deleted_at IS NULL"
INSERT_AGENCY = ("INSERT INTO agency (id, tenant_id, code, code_key, name, name_folded, level, parent_id, required, "
                 "valid_from, valid_to, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, "
                 "NULL, $10, $10)")
INSERT_AUDIT = ("INSERT INTO audit_event (id, tenant_id, at, actor_id, actor_email, action, entity, entity_id, "
                "before, after, request_id) VALUES ($1, $2, $3, $4, $5, 'create', 'agency', $6, NULL, $7, NULL)")
# The board: agencies active today joined with their QMS record, in board order, one page and the counts.
ACTIVE = "a.tenant_id = $1 AND a.valid_from <= $2 AND (a.valid_to IS NULL OR a.valid_to > $2)"
OVERDUE = ("(r.status IN ('applying', 'announced') AND (r.internal_audit_due_on < $2 OR "
           "r.management_review_due_on < $2 OR r.legal_update_due_on < $2)) OR "
           "(r.status = 'announced' AND r.reannouncement_due = $3 AND r.reannouncement_due_since IS NOT NULL)")
BOARD_SQL = ("SELECT a.id, a.code, a.name, a.level, a.required, a.parent_id, r.id AS record_id, "
             "COALESCE(r.status, 'not_started') AS status, r.standard_version, r.announcement_number, "
             "r.announced_on, r.internal_audit_due_on, r.management_review_due_on, r.legal_update_due_on, "
             f"COALESCE({OVERDUE}, $3 = false) AS overdue "
             f"FROM agency a LEFT JOIN cert_qms_record r ON r.agency_id = a.id WHERE {ACTIVE} "
             f"ORDER BY {LEVEL_CASE}, a.name_folded, a.code LIMIT $4 OFFSET $5")
BOARD_COUNT = f"SELECT count(*) FROM agency a WHERE {ACTIVE}"
SUMMARY_SQL = ("SELECT a.level, a.required, COALESCE(r.status, 'not_started') AS status, "
               "COALESCE(r.standard_version, 'none') AS version, count(*) AS n, "
               f"sum(CASE WHEN {OVERDUE} THEN 1 ELSE 0 END) AS overdue "
               f"FROM agency a LEFT JOIN cert_qms_record r ON r.agency_id = a.id WHERE {ACTIVE} "
               "GROUP BY a.level, a.required, COALESCE(r.status, 'not_started'), COALESCE(r.standard_version, 'none')")


RLS = os.environ.get("ISOGOV_BENCH_RLS") == "1"
BEGIN_PLATFORM = "BEGIN; SELECT set_config('app.platform', 'on', true)"
AS_TENANT = "SELECT set_config('app.platform', '', true), set_config('app.tenant_id', $1, true)"
_CONN: ContextVar[Any] = ContextVar("bare_request_connection", default=None)


class Db:
    """The few calls the handlers need, on asyncpg (PostgreSQL) or aiosqlite (SQLite, `?` placeholders)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite:///")
        self.pool: Any = None
        self.write_lock = asyncio.Lock()

    async def start(self) -> None:
        if self.sqlite:
            import aiosqlite

            self.pool = await aiosqlite.connect(self.url[len("sqlite:///"):], isolation_level=None)
            self.pool.row_factory = aiosqlite.Row
        else:
            import asyncpg

            self.pool = await asyncpg.create_pool(self.url, min_size=1,
                                                  max_size=int(os.environ.get("ISOGOV_DB_POOL_SIZE", "10")))

    async def stop(self) -> None:
        await self.pool.close()

    @staticmethod
    def _q(sql: str) -> str:
        import re

        return re.sub(r"\$\d+", "?", sql)

    def _args(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """SQLite takes positional `?`: repeat the arguments in the order the `$n` appear; UUIDs as text."""
        import re

        order = [int(n) - 1 for n in re.findall(r"\$(\d+)", sql)]
        conv = [str(a) if isinstance(a, uuid.UUID) else a for a in args]
        return tuple(conv[i] for i in order)

    @asynccontextmanager
    async def request(self):  # type: ignore[no-untyped-def]
        """With RLS: the request's one connection and transaction (the user lookup on the platform path)."""
        if not RLS:
            yield
            return
        async with self.pool.acquire() as conn:
            await conn.execute(BEGIN_PLATFORM)
            token = _CONN.set(conn)
            try:
                yield
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")
            finally:
                _CONN.reset(token)

    async def as_tenant(self, tenant_id: Any) -> None:
        conn = _CONN.get()
        if conn is not None and tenant_id is not None:
            await conn.execute(AS_TENANT, str(tenant_id))

    @asynccontextmanager
    async def connection(self):  # type: ignore[no-untyped-def]
        conn = _CONN.get()
        if conn is not None:
            yield conn
            return
        async with self.pool.acquire() as conn:
            yield conn

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        conn = _CONN.get()
        if conn is not None:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        if self.sqlite:
            async with self.pool.execute(self._q(sql), self._args(sql, args)) as cur:
                return [dict(r) for r in await cur.fetchall()]
        return [dict(r) for r in await self.pool.fetch(sql, *args)]

    async def fetch_page(self, sql: str, count_sql: str, tenant_id: Any, limit: int, offset: int
                         ) -> tuple[list[dict[str, Any]], int]:
        """A page and its total (the count takes the tenant only) on one connection: two statements."""
        if self.sqlite:
            rows = await self.fetch(sql, tenant_id, limit, offset)
            return rows, (await self.fetch(count_sql, tenant_id))[0]["count(*)"]
        async with self.connection() as conn:
            rows = await conn.fetch(sql, tenant_id, limit, offset)
            return [dict(r) for r in rows], await conn.fetchval(count_sql, tenant_id)

    async def two_inserts(self, first: tuple[str, tuple[Any, ...]], second: tuple[str, tuple[Any, ...]]) -> None:
        if self.sqlite:  # one shared connection: one write transaction at a time (concurrent BEGINs would fail)
            async with self.write_lock:
                await self.pool.execute("BEGIN IMMEDIATE")
                try:
                    for sql, args in (first, second):
                        await self.pool.execute(self._q(sql), self._args(sql, args))
                    await self.pool.execute("COMMIT")
                except BaseException:
                    await self.pool.execute("ROLLBACK")
                    raise
            return
        if _CONN.get() is not None:  # the request's transaction
            for sql, args in (first, second):
                await _CONN.get().execute(sql, *args)
            return
        async with self.pool.acquire() as conn, conn.transaction():
            for sql, args in (first, second):
                await conn.execute(sql, *args)


DB = Db(os.environ.get("DATABASE_URL", ""))
SECRET = os.environ.get("ISOGOV_SECRET_KEY", "")


async def actor(request: Request, code: str, roles: set[str]) -> dict[str, Any]:
    """Verify the bearer token, look the user and its tenant up in one query, check tenant and role."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        raise NotAuthorizedException("no token")
    try:
        claims = jwt.decode(header[7:], SECRET, algorithms=["HS256"])
        uid = uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise NotAuthorizedException("bad token") from exc
    rows = await DB.fetch(USER_SQL, uid, True)
    if not rows or (rows[0]["tenant_id"] is not None and rows[0]["tenant_status"] != "active") \
            or claims.get("tv", 0) != (rows[0]["token_version"] or 0):
        raise NotAuthorizedException("unknown user")
    user = rows[0]
    if user["tenant_code"] != code:
        raise NotFoundException("tenant not found")
    if user["role"] not in roles:
        raise HTTPException(status_code=403, detail="forbidden")
    await DB.as_tenant(user["tenant_id"])
    return user


def page(rows: list[dict[str, Any]], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


@get("/api/v1/tenants/{code:str}/agencies")
async def agencies(request: Request, code: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    async with DB.request():  # with RLS: one connection and transaction per request
        user = await actor(request, code, READ_ROLES)
        rows, total = await DB.fetch_page(AGENCIES_SQL, AGENCIES_COUNT, user["tenant_id"], limit, offset)
        today = date.today()
        for r in rows:
            r["active"] = _date(r["valid_from"]) <= today and (r["valid_to"] is None or _date(r["valid_to"]) > today)
        return page(rows, total, limit, offset)


@get("/api/v1/tenants/{code:str}/users")
async def users(request: Request, code: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    async with DB.request():  # with RLS: one connection and transaction per request
        user = await actor(request, code, READ_ROLES)
        rows, total = await DB.fetch_page(USERS_SQL, USERS_COUNT, user["tenant_id"], limit, offset)
        return page(rows, total, limit, offset)


@get("/api/v1/tenants/{code:str}/evidence")
async def evidence(request: Request, code: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    async with DB.request():  # with RLS: one connection and transaction per request
        user = await actor(request, code, READ_ROLES)
        rows, total = await DB.fetch_page(EVIDENCE_SQL, EVIDENCE_COUNT, user["tenant_id"], limit, offset)
        return page(rows, total, limit, offset)


class AgencyIn(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    name: str
    level: str
    required: bool = False


@post("/api/v1/tenants/{code:str}/agencies")
async def create_agency(request: Request, code: str, data: AgencyIn) -> dict[str, Any]:
    async with DB.request():  # with RLS: one connection and transaction per request
        from core.text import fold

        user = await actor(request, code, WRITE_ROLES)
        tenant_id, now, new_id, today = user["tenant_id"], datetime.now(timezone.utc), uuid.uuid4(), date.today()
        row = {"id": new_id, "tenant_id": tenant_id, "code": data.code, "name": data.name, "level": data.level,
               "parent_id": None, "required": data.required, "valid_from": today, "valid_to": None}
        try:
            await DB.two_inserts(
                (INSERT_AGENCY, (new_id, tenant_id, data.code, f"{tenant_id}:{data.code.lower()}", data.name,
                                 fold(data.name), data.level, data.required, today, now)),
                (INSERT_AUDIT, (uuid.uuid4(), tenant_id, now, user["id"], user["email"], str(new_id),
                                msgspec.json.encode(row).decode())),
            )
        except Exception as exc:  # unique code per tenant
            if "unique" in str(exc).lower():
                raise HTTPException(status_code=409, detail="code taken") from exc
            raise
        answer = {k: v for k, v in row.items() if k != "tenant_id"}  # AgencyRead's fields
        return {**answer, "valid_to": None, "created_at": now, "updated_at": now, "active": True}


@get("/api/v1/tenants/{code:str}/certification/board")
async def board(request: Request, code: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    async with DB.request():  # with RLS: one connection and transaction per request
        user = await actor(request, code, READ_ROLES)
        today = date.today()
        if DB.sqlite:
            rows = await DB.fetch(BOARD_SQL, user["tenant_id"], today, True, limit, offset)
            total = (await DB.fetch(BOARD_COUNT, user["tenant_id"], today))[0]["count(*)"]
        else:
            async with DB.connection() as conn:
                rows = [dict(r) for r in await conn.fetch(BOARD_SQL, user["tenant_id"], today, True, limit, offset)]
                total = await conn.fetchval(BOARD_COUNT, user["tenant_id"], today)
        return {**page(rows, total, limit, offset), "as_of": today}


@get("/api/v1/tenants/{code:str}/certification/board/summary")
async def summary(request: Request, code: str) -> dict[str, Any]:
    async with DB.request():  # with RLS: one connection and transaction per request
        user = await actor(request, code, READ_ROLES)
        today = date.today()
        groups = await DB.fetch(SUMMARY_SQL, user["tenant_id"], today, True)
        by_status: dict[str, int] = {}
        by_level: dict[str, dict[str, int]] = {}
        by_version: dict[str, int] = {}
        for g in groups:
            by_status[g["status"]] = by_status.get(g["status"], 0) + g["n"]
            level = by_level.setdefault(g["level"], {})
            level[g["status"]] = level.get(g["status"], 0) + g["n"]
            by_version[g["version"]] = by_version.get(g["version"], 0) + g["n"]
        return {"as_of": today, "total": sum(g["n"] for g in groups), "by_status": by_status, "by_level": by_level,
                "by_version": by_version, "overdue": sum(g["overdue"] or 0 for g in groups)}


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def create_app() -> Litestar:
    return Litestar(route_handlers=[agencies, users, evidence, create_agency, board, summary],
                    on_startup=[DB.start], on_shutdown=[DB.stop], debug=False)
