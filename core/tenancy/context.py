"""The one tenant-scoped access path to tenant-owned rows: `TenantContext.scope(Table)`.

A scope filters by the context's tenant, hides soft-deleted rows, and audits every write in the same
transaction (core.audit). What a context is and how the ORM wall works: core.tenancy.base.
"""

from __future__ import annotations

import asyncio
import uuid
from enum import Enum
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import msgspec
from piccolo.utils.encoding import dump_json
from piccolo.columns.combination import Combination, Where, WhereRaw
from piccolo.columns import JSON, JSONB
from piccolo.querystring import QueryString

from core.agencies.tables import Agency
from core.audit import audit_values, log as _audit_log, record
from core.audit.tables import AuditEvent
from core.db import direct_pg, fetch_pg, fetch_records, is_sqlite, tenant_bound, transaction
from core.errors import Forbidden, NotFound
from core.tenancy.base import Actor, TenantInfo, TenantScopeError, TenantTable, unscoped


# The page's total, counted by the database in the page's own statement (PostgreSQL).
_TOTAL_NAME = "_isogov_page_total"
# Where the page statement's total goes: `(SELECT count(*) FROM t WHERE <the page's conditions>)`, a scalar
# subquery PostgreSQL runs once, so the page itself can stop after its rows (read in order from an index where
# one fits) instead of counting through a window over every matching row.
_TOTAL = QueryString("NULL::bigint", alias=_TOTAL_NAME)
_PAGE_FRAMES: dict[tuple[Any, ...], tuple[str, str, str]] = {}
_STRUCT_COLUMNS: dict[tuple[Any, ...], tuple[Any, ...] | None] = {}
_TENANT_WHERE: dict[tuple[Any, bool], str] = {}
_SOFT: dict[Any, bool] = {}  # per table: whether it keeps deleted rows (a `deleted_at` column)


def _as(rows: list[dict[str, Any]], into: type | None, computed: dict[str, Callable[[Any], Any]] | None = None
        ) -> list[Any]:
    from core.schemas import to_structs

    if computed:
        rows = [{**row, **{name: value_of(row) for name, value_of in computed.items()}} for row in rows]
    return rows if into is None else to_structs(rows, into)


# Column types whose value, as Python sends it, is what PostgreSQL returns (no rounding, no normalising).
_EXACT_TYPES = frozenset({"UUID", "Varchar", "Text", "Email", "Boolean", "Integer", "BigInt", "SmallInt", "Date",
                          "Timestamptz", "Timestamp", "JSON"})
_EXACT_TABLES: dict[Any, bool] = {}


def _exact(table: Any, stored: dict[str, Any]) -> bool:
    """Whether the row as sent is the row PostgreSQL stores and returns, so the audit can describe it before it
    comes back: every column of an exact type, no float, times in UTC (timestamptz) or naive (timestamp)."""
    ok = _EXACT_TABLES.get(table)
    if ok is None:
        ok = _EXACT_TABLES[table] = all(type(c).__name__ in _EXACT_TYPES for c in table._meta.columns)
    if not ok:
        return False
    for value in stored.values():
        if isinstance(value, float):
            return False
        if isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() != timedelta(0):
            return False
    for column in table._meta.columns:
        value = stored.get(column._meta.name)
        if isinstance(value, datetime) and (value.tzinfo is None) != (type(column).__name__ == "Timestamp"):
            return False
    return True


_INSERT_STATEMENTS: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


def _sql_value(value: Any, column: Any) -> Any:
    """A value as Piccolo sends it (`convert_to_sql_value`): enums by value, JSON columns as text."""
    if isinstance(value, Enum):
        return value.value
    if type(column).__name__ == "JSON" and value is not None and not isinstance(value, str):
        return dump_json(value)
    return value


def _no_join(condition: Any) -> bool:
    """Whether a condition names columns of this table only (a joined column makes Piccolo write the page)."""
    if isinstance(condition, Where):
        return not condition.column._meta.call_chain
    if isinstance(condition, Combination):
        return _no_join(condition.first) and _no_join(condition.second)
    return isinstance(condition, WhereRaw)


def _order_key(column: Any) -> Any:
    """What identifies an ORDER BY item in the page statement cache: a column by its table and name (with its join
    chain), raw SQL by its text."""
    meta = getattr(column, "_meta", None)
    if meta is not None and hasattr(meta, "call_chain"):
        return (meta.table._meta.tablename, meta.name, tuple(c._meta.name for c in meta.call_chain))
    if isinstance(column, QueryString) and not column.args:
        return ("raw", column.template)
    return None  # not cached (a raw order with values): the page is built by Piccolo


def _now() -> datetime:
    return datetime.now(timezone.utc)


class _Deferred:
    """A query whose SQL Piccolo builds only when it runs (Count builds a select then): run it in scope, and bound
    to its tenant (so PostgreSQL's row-level security shows that tenant's rows, whoever awaits it)."""

    def __init__(self, query: Any, tenant_id: uuid.UUID | None = None, reason: str | None = None) -> None:
        self._query = query
        self._tenant_id = tenant_id
        self._reason = reason

    def where(self, *conditions: Any) -> "_Deferred":
        self._query = self._query.where(*conditions)
        return self

    async def run(self) -> Any:
        with tenant_bound(self._tenant_id) if self._tenant_id is not None else nullcontext():
            with unscoped(self._reason):
                return await self._query.run()

    def __await__(self):  # type: ignore[no-untyped-def]
        return self.run().__await__()

    def __getattr__(self, name: str) -> Any:  # chain Piccolo's query methods (order_by, group_by, first, ...)
        attr = getattr(self._query, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if result is self._query:
                return self
            return _Deferred(result, self._tenant_id, self._reason) if hasattr(result, "run") else result

        return call


class Scope:
    """Queries of one tenant-owned table, confined to one tenant; writes are audited."""

    def __init__(self, table: type[TenantTable], ctx: "TenantContext", *, private: bool = False) -> None:
        self.table = table
        self.ctx = ctx
        self._private = () if private else tuple(table.private_columns)
        self.entity = table._meta.tablename
        soft = _SOFT.get(table)
        if soft is None:
            soft = _SOFT[table] = "deleted_at" in {c._meta.name for c in table._meta.columns}
        self._soft = soft

    def where(self, include_deleted: bool = False) -> Any:
        return self._where_for(self.ctx.tenant.id, include_deleted)

    def _where_for(self, tenant_id: uuid.UUID, include_deleted: bool = False) -> Any:
        cond = self.table.tenant_id == tenant_id  # type: ignore[attr-defined]
        if self._soft and not include_deleted:
            cond = cond & self.table.deleted_at.is_null()  # type: ignore[attr-defined]
        return cond

    def select(self, *columns: Any, include_deleted: bool = False) -> Any:
        if self._private:
            names = {getattr(c, "_meta", None) and c._meta.name for c in columns}
            if names & set(self._private):
                raise TenantScopeError(f"{self.entity}: {', '.join(sorted(names & set(self._private)))} "
                                       "is private to its owner in core")
            if not columns:
                columns = tuple(c for c in self.table._meta.columns if c._meta.name not in self._private)
        with tenant_bound(self.ctx.tenant.id), unscoped():
            return _Deferred(self.table.select(*columns).where(self.where(include_deleted)), self.ctx.tenant.id)

    def _check_write(self, values: dict[str, Any]) -> None:
        if self.ctx.read_only:
            raise TenantScopeError(f"{self.entity}: this context is read-only (a collection hook may not write)")
        if not self.table.scope_writable:
            raise TenantScopeError(f"{self.entity} is written only by its own mechanism in core")
        if set(values) & set(self._private):
            raise TenantScopeError(f"{self.entity}: {', '.join(sorted(set(values) & set(self._private)))} "
                                   "is private to its owner in core")

    def count(self, include_deleted: bool = False) -> _Deferred:
        """An awaitable count of the tenant's rows; chain `.where(...)` to narrow it."""
        with tenant_bound(self.ctx.tenant.id), unscoped():
            return _Deferred(self.table.count().where(self.where(include_deleted)), self.ctx.tenant.id)

    async def page(self, *conditions: Any, order_by: tuple[Any, ...] = (), descending: bool = False,
                   limit: int = 50, offset: int = 0, into: type | None = None,
                   computed: dict[str, Callable[[Any], Any]] | None = None) -> tuple[list[Any], int]:
        """One page of the rows matching every condition, and how many match in all.

        `order_by` items are columns (or `OrderByRaw`), in the direction `descending` says, or `(column, ascending)`
        pairs with their own direction; the primary key breaks ties last. On PostgreSQL the page and its total come
        from one statement (the total a scalar subquery), sent straight to the driver; a page past the end (no
        rows) asks for the count alone. SQLite runs the page and the count through Piccolo.

        `into`: an API struct (msgspec) to answer the items as, instead of dicts. When each of its fields is a
        visible column of the table (of the column's type) or one of `computed`, PostgreSQL's rows become structs
        with nothing in between (the statement reads those columns in the struct's order); otherwise, and on
        SQLite, the rows are converted as `core.schemas.to_structs` does. `computed`: fields that are no column,
        each the value of a function of the row (read by column name), e.g. whether an agency is active today."""
        order = [item if isinstance(item, tuple) else (item, not descending) for item in order_by]
        order.append((self.table._meta.primary_key, not descending))  # rows that tie keep one order across pages
        computed = computed or {}
        columns = self._struct_columns(into, tuple(computed)) if into is not None else None
        frame = None
        if direct_pg() and all(map(_no_join, conditions)):
            frame = self._page_frame(order, columns, (into, tuple(computed)))
        if frame is not None:
            sql, args, where_sql = self._page_sql(frame, conditions, limit, offset)
            with tenant_bound(self.ctx.tenant.id):
                records = await fetch_records(sql, args)
                if records:
                    total = records[0][_TOTAL_NAME]
                    if columns is not None:
                        width = len(columns)
                        items = [into(*record[:width]) for record in records]  # type: ignore[misc]
                        for name, value_of in computed.items():  # selected as NULL in its place, set here
                            for item, record in zip(items, records):
                                setattr(item, name, value_of(record))
                        return items, total
                    rows = [dict(record) for record in records]
                    for row in rows:
                        del row[_TOTAL_NAME]
                    return _as(rows, into, computed), total
                if offset == 0:
                    return [], 0
                counted = await fetch_pg(f"SELECT count(*) AS n FROM {self.table._meta.get_formatted_tablename()} "
                                         f"WHERE {where_sql}", args[:-2])  # past the end: the total alone
            return [], counted[0]["n"]
        query, count = self.select(), self.count()
        for cond in conditions:
            query, count = query.where(cond), count.where(cond)
        for column, ascending in order:
            query = query.order_by(column, ascending=ascending)
        query = query.limit(limit).offset(offset)
        if self.table._meta.db.current_transaction.get() is None:  # two connections: both at once
            rows, total = await asyncio.gather(query.run(), count.run())
            return _as(rows, into, computed), total
        rows = await query
        return _as(rows, into, computed), await count

    def _page_sql(self, frame: tuple[str, str, str], conditions: tuple[Any, ...], limit: int, offset: int
                  ) -> tuple[str, list[Any], str]:
        """The page statement on PostgreSQL, its arguments, and its WHERE text (arguments but the last two)."""
        before, after, tail = frame
        if conditions:
            where = self.where()
            for cond in conditions:
                where = where & cond
            where_sql, args = where.querystring.compile_string(engine_type="postgres")
        else:  # the tenant's rows: the same text every time
            where_sql, args = self._tenant_where(), [self.ctx.tenant.id]
        n, table = len(args), self.table._meta.get_formatted_tablename()
        return (f'{before}(SELECT count(*) FROM {table} WHERE {where_sql}) AS "{_TOTAL_NAME}"{after} '
                f"WHERE {where_sql}{tail} LIMIT ${n + 1} OFFSET ${n + 2}", [*args, limit, offset], where_sql)

    def _tenant_where(self) -> str:
        """`self.where()` as PostgreSQL text with the tenant as `$1`, written by Piccolo once per table."""
        found = _TENANT_WHERE.get((self.table, self._soft))
        if found is None:
            marker = uuid.uuid4()
            sql, args = self._where_for(marker).querystring.compile_string(engine_type="postgres")
            if args != [marker] or sql.count("$") != 1:
                raise RuntimeError(f"unexpected tenant condition for {self.entity}: {sql}")
            found = _TENANT_WHERE[(self.table, self._soft)] = sql
        return found

    def _struct_columns(self, into: type, computed: tuple[str, ...] = ()) -> tuple[Any, ...] | None:
        """What the page statement reads for the struct's fields, in the fields' order: the table's visible column
        of that name, or `NULL AS <field>` for a computed one; None when a field is neither or the struct cannot
        be built from positions (then the rows are converted by name)."""
        key = (self.table, self._private, into, computed)
        if key in _STRUCT_COLUMNS:
            return _STRUCT_COLUMNS[key]
        visible = {c._meta.name: c for c in self._visible_columns()}
        try:
            fields = msgspec.structs.fields(into)
        except TypeError:
            fields = ()
        found = None
        positional = tuple(getattr(into, "__match_args__", ())) == tuple(f.name for f in fields)  # no kw_only field
        if fields and positional and all(
                f.name in computed or (f.name in visible and not isinstance(visible[f.name], (JSON, JSONB)))
                for f in fields):  # the driver answers JSON as text: converted by name
            found = tuple(QueryString("NULL", alias=f.name) if f.name in computed else visible[f.name]
                          for f in fields)
        if len(_STRUCT_COLUMNS) < 1000:
            _STRUCT_COLUMNS[key] = found
        return found

    def _page_frame(self, order: list[tuple[Any, bool]], columns: tuple[Any, ...] | None = None,
                    columns_key: Any = None) -> tuple[str, str, str] | None:
        """The parts of a page's statement that do not change between requests (columns with the total, table,
        order), as Piccolo writes them, built once per table, columns (named by `columns_key`) and order:
        `SELECT ... FROM t` and ` ORDER BY ...`."""
        keys = tuple((_order_key(c), asc) for c, asc in order)
        if any(k is None for k, _ in keys):
            return None
        key = (self.table, self._private, keys, columns_key if columns is not None else None)
        frame = _PAGE_FRAMES.get(key)
        if frame is None:
            with unscoped():
                query = self.table.select(*(columns or self._visible_columns()), _TOTAL)
                for column, ascending in order:
                    query = query.order_by(column, ascending=ascending)
                sql, args = query.querystrings[0].compile_string(engine_type="postgres")
            head, _, tail = sql.partition(" ORDER BY ")
            before, total, after = head.partition(f'{_TOTAL.template} AS "{_TOTAL_NAME}"')
            if args or not tail or " WHERE " in head or not total:
                raise RuntimeError(f"unexpected page statement for {self.entity}: {sql}")
            frame = (before, after, " ORDER BY " + tail)
            if len(_PAGE_FRAMES) < 1000:
                _PAGE_FRAMES[key] = frame
        return frame

    async def find(self, id: Any, include_deleted: bool = False) -> dict[str, Any] | None:
        try:
            id = id if isinstance(id, uuid.UUID) else uuid.UUID(str(id))
        except ValueError:
            return None
        return await self.select(include_deleted=include_deleted).where(self.table._meta.primary_key == id).first()

    async def get(self, id: Any, *, label: str | None = None, include_deleted: bool = False) -> dict[str, Any]:
        row = await self.find(id, include_deleted=include_deleted)
        if row is None:
            raise NotFound(f"{label or self.entity} {id} not found")
        return row

    def _visible_columns(self) -> tuple[Any, ...]:
        return tuple(c for c in self.table._meta.columns if c._meta.name not in self._private)

    async def insert(self, values: dict[str, Any], *, action: str = "create") -> dict[str, Any]:
        self._check_write(values)
        values = dict(values)
        values.setdefault("id", uuid.uuid4())
        values["tenant_id"] = self.ctx.tenant.id
        sqlite = is_sqlite()
        if not sqlite:
            instance = self.table(**values)
            stored = {c._meta.name: getattr(instance, c._meta.name) for c in self._visible_columns()}
            if direct_pg() and _exact(self.table, stored):  # one statement: row, audit row, the stored row back
                with tenant_bound(self.ctx.tenant.id):
                    return await self._insert_audited(instance, stored, action)
        async with transaction(tenant=self.ctx.tenant.id):
            if sqlite:  # embedded: a second local read is cheap, and keeps SQLite's column conversions
                with unscoped():
                    await self.table.insert(self.table(**values))
                row = await self.get(values["id"], include_deleted=True)
            else:
                with unscoped():  # the stored row comes back from the INSERT
                    row = (await self.table.insert(instance).returning(*self._visible_columns()))[0]
            await record(self.ctx, action=action, entity=self.entity, entity_id=row["id"], before=None,
                         after=self._redact(row))
        return row

    async def _insert_audited(self, instance: Any, stored: dict[str, Any], action: str) -> dict[str, Any]:
        """PostgreSQL: `WITH ins AS (INSERT ... RETURNING ...), aud AS (INSERT INTO audit_event ...) SELECT * FROM
        ins`, one statement (written once per table), so one round trip and atomic alone (in the caller's
        transaction when there is one). The audit's `after` is the row as sent, which `_exact` checked is the row
        the database stores."""
        audit = audit_values(self.ctx, action=action, entity=self.entity, entity_id=stored["id"],
                             after=self._redact(stored))
        sql, columns = self._insert_statement()
        args = [_sql_value(getattr(instance, c._meta.name), c) for c in columns]
        args += [audit[c._meta.name] for c in AuditEvent._meta.columns]
        rows = await fetch_pg(sql, args)
        _audit_log.debug("audit", action=action, entity=self.entity, entity_id=str(stored["id"]))
        return rows[0]

    def _insert_statement(self) -> tuple[str, tuple[Any, ...]]:
        key = (self.table, self._private)
        found = _INSERT_STATEMENTS.get(key)
        if found is None:
            columns = tuple(self.table._meta.columns)
            audit_columns = AuditEvent._meta.columns

            def names(cols: Any) -> str:
                return ", ".join(f'"{c._meta.db_column_name}"' for c in cols)

            def params(start: int, count: int) -> str:
                return ", ".join(f"${i}" for i in range(start, start + count))

            returning = ", ".join(f'"{c._meta.db_column_name}" AS "{c._meta.name}"' for c in self._visible_columns())
            sql = (f"WITH ins AS (INSERT INTO {self.table._meta.get_formatted_tablename()} ({names(columns)}) "
                   f"VALUES ({params(1, len(columns))}) RETURNING {returning}), "
                   f"aud AS (INSERT INTO {AuditEvent._meta.get_formatted_tablename()} ({names(audit_columns)}) "
                   f"VALUES ({params(len(columns) + 1, len(audit_columns))})) SELECT * FROM ins")
            found = _INSERT_STATEMENTS[key] = (sql, columns)
        return found

    async def update(self, id: Any, values: dict[str, Any], *, action: str = "update") -> dict[str, Any]:
        self._check_write(values)
        values = {k: v for k, v in values.items() if k not in {"id", "tenant_id"}}
        if "updated_at" in {c._meta.name for c in self.table._meta.columns}:
            values.setdefault("updated_at", _now())
        async with transaction(tenant=self.ctx.tenant.id):
            before = await self.get(id)  # a soft-deleted row is hidden: 404, never changed
            with unscoped():
                query = self.table.update(values).where(self.where() & (self.table._meta.primary_key == before["id"]))
                if is_sqlite():
                    await query
                    after = await self.get(id, include_deleted=True)
                else:
                    after = (await query.returning(*self._visible_columns()))[0]
            await record(self.ctx, action=action, entity=self.entity, entity_id=after["id"],
                         before=self._redact(before), after=self._redact(after))
        return after

    async def soft_delete(self, id: Any) -> dict[str, Any]:
        if not self._soft:
            raise TypeError(f"{self.table.__name__} has no deleted_at column")
        return await self.update(id, {"deleted_at": _now()}, action="delete")  # 404 when missing or already deleted

    def _redact(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row as the audit keeps it: redacted columns hidden, JSON columns as their values (not the text the
        database returns, which the audit would store as a quoted string)."""
        json_columns = {c._meta.name for c in self.table._meta.json_columns}
        out = {}
        for k, v in row.items():
            if k in self.table.audit_redact:
                v = "***"
            elif k in json_columns and isinstance(v, (str, bytes)):
                try:
                    v = msgspec.json.decode(v)
                except msgspec.DecodeError:
                    pass
            out[k] = v
        return out


@dataclass
class TenantContext:
    """What a tenant-scoped handler, hook or job knows: the tenant, the actor and the actor's permissions."""

    tenant: TenantInfo
    actor: Actor
    permissions: frozenset[str] = field(default_factory=frozenset)
    request_id: str | None = None
    read_only: bool = False
    _subtree_cache: dict[uuid.UUID, frozenset[uuid.UUID]] = field(default_factory=dict, repr=False)

    def scope(self, table: type[TenantTable], *, private: bool = False) -> Scope:
        """The tenant's rows of `table`. `private=True` is for the part of core that owns the table's private
        columns (core.users for password hashes); nobody else passes it."""
        return Scope(table, self, private=private)

    def as_read_only(self) -> "TenantContext":
        """The same tenant and actor, but every write through its scopes raises (for collection hooks)."""
        return TenantContext(tenant=self.tenant, actor=self.actor, permissions=self.permissions,
                             request_id=self.request_id, read_only=True, _subtree_cache=self._subtree_cache)

    def has(self, permission: str) -> bool:
        return self.actor.role == "platform_admin" or permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.has(permission):
            raise Forbidden(f"your role ({self.actor.role}) may not do this: it needs the permission {permission!r}")

    @property
    def is_agency_bound(self) -> bool:
        return self.actor.role == "agency_officer"

    async def agency_subtree(self, root_id: uuid.UUID) -> frozenset[uuid.UUID]:
        """The agency and all its sub-units (current and closed) in this tenant."""
        if root_id in self._subtree_cache:
            return self._subtree_cache[root_id]
        rows = await self.scope(Agency).select(Agency.id, Agency.parent_id)
        children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
        for row in rows:
            children.setdefault(row["parent_id"], []).append(row["id"])
        found: set[uuid.UUID] = set()
        stack = [root_id] if any(row["id"] == root_id for row in rows) else []
        while stack:
            node = stack.pop()
            if node in found:
                continue
            found.add(node)
            stack.extend(children.get(node, []))
        result = frozenset(found)
        self._subtree_cache[root_id] = result
        return result

    async def writable_agency_ids(self) -> frozenset[uuid.UUID] | None:
        """Agencies the actor may write for: None means all of the tenant's."""
        if not self.is_agency_bound:
            return None
        if self.actor.agency_id is None:
            return frozenset()
        return await self.agency_subtree(self.actor.agency_id)

    async def ensure_agency(self, agency_id: Any, *, write: bool = False) -> dict[str, Any]:
        """Return the agency row; 404 when it is not this tenant's, 403 when an agency officer may not write it."""
        row = await self.scope(Agency).get(agency_id, label="agency")
        if write:
            allowed = await self.writable_agency_ids()
            if allowed is not None and row["id"] not in allowed:
                raise Forbidden("an agency officer may write only for its own agency and its sub-units",
                                field="agency_id")
        return row


async def tenant_context(code: str, name: str = "system") -> TenantContext:
    """A system context of the tenant with this code (CLI, jobs); NotFound when there is none."""
    from core.tenancy.guards import load_tenant

    info = await load_tenant(code)
    if info is None:
        raise NotFound(f"tenant {code!r} not found")
    return system_context(info, name)


def system_context(tenant: TenantInfo, name: str = "system") -> TenantContext:
    """A context for platform code acting inside one tenant (CLI, workers, demo seed, hooks)."""
    return TenantContext(tenant=tenant, actor=Actor.system(name))


class ReadScope:
    """Read-only queries of one tenant-owned table over a fixed set of tenants (cross-tenant collections)."""

    def __init__(self, table: type[TenantTable], tenant_ids: tuple[uuid.UUID, ...]) -> None:
        if table.private_columns:
            raise TenantScopeError(f"{table._meta.tablename} has private columns: not readable across tenants")
        self.table = table
        self.tenant_ids = tenant_ids
        self._soft = "deleted_at" in {c._meta.name for c in table._meta.columns}

    def where(self, include_deleted: bool = False) -> Any:
        cond = self.table.tenant_id.is_in(list(self.tenant_ids))  # type: ignore[attr-defined]
        if self._soft and not include_deleted:
            cond = cond & self.table.deleted_at.is_null()  # type: ignore[attr-defined]
        return cond

    def select(self, *columns: Any, include_deleted: bool = False) -> Any:
        personal = set(self.table.personal_columns)
        if personal:
            named = {c._meta.name for c in columns if hasattr(c, "_meta") and hasattr(c._meta, "name")}
            if not columns or named & personal:
                raise TenantScopeError(f"{self.table._meta.tablename}: {', '.join(sorted(personal))} is personal "
                                       "data that never leaves its tenant; select other columns or counts")
        with unscoped("tenants reader"):
            return _Deferred(self.table.select(*columns).where(self.where(include_deleted)), reason="tenants reader")

    def count(self, include_deleted: bool = False) -> _Deferred:
        with unscoped("tenants reader"):
            return _Deferred(self.table.count().where(self.where(include_deleted)), reason="tenants reader")


@dataclass(frozen=True)
class TenantsReader:
    """What a cross-tenant collection (indicators) reads through: read-only scopes over exactly `tenants`."""

    tenants: tuple[TenantInfo, ...]

    @property
    def tenant_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(t.id for t in self.tenants)

    def scope(self, table: type[TenantTable]) -> ReadScope:
        return ReadScope(table, self.tenant_ids)
