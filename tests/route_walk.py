"""Enumerates every registered tenant route and builds requests for it, so isolation tests cover new routes
(core's and every plugin's) without anyone writing a new test.

A handler may help the walker with `opt`: `walk_body` (a valid JSON body to send) and `walk_skip_body_ids`
(body fields holding ids that are not tenant-owned). Without `walk_body`, sample bodies fill id fields named
after a table with a row of it (`person_id`, `user_id`: `known_ids`), other id fields with an agency id, and
patterned strings with the first of a few common shapes that matches (a code, a lower-case code, an email,
a phone number).
"""

from __future__ import annotations

import re
import typing
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec

PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
TENANT_PARAM = "tenant_code"


@dataclass(frozen=True)
class WalkRoute:
    path: str
    method: str
    handler: Any

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[tuple[str, str]]:
        return [(m.group(1), m.group(2) or "str") for m in PARAM.finditer(self.path) if m.group(1) != TENANT_PARAM]

    @property
    def module(self) -> str | None:
        return self.handler.opt.get("module")

    def data_type(self) -> Any:
        try:
            hints = typing.get_type_hints(self.handler.fn, include_extras=True)
        except Exception:
            return None
        hint = hints.get("data")
        while typing.get_origin(hint) is typing.Annotated:
            hint = typing.get_args(hint)[0]
        return hint

    def json_struct(self) -> type[msgspec.Struct] | None:
        hint = self.data_type()
        return hint if isinstance(hint, type) and issubclass(hint, msgspec.Struct) else None

    def has_body(self) -> bool:
        return self.data_type() is not None


def tenant_routes(app: Any) -> list[WalkRoute]:
    routes = []
    for route in app.routes:
        if not route.path.startswith("/api/v1/tenants/{tenant_code"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods):
                if method not in ("HEAD", "OPTIONS"):
                    routes.append(WalkRoute(route.path, method, handler))
    return routes


def all_routes(app: Any) -> list[WalkRoute]:
    routes = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", ())):
                if method not in ("HEAD", "OPTIONS"):
                    routes.append(WalkRoute(route.path, method, handler))
    return routes


def fill_path(route: WalkRoute, tenant_code: str, ids: dict[str, Any], modules: list[str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2) or "str"
        if name == TENANT_PARAM:
            return tenant_code
        if name in ids:
            return str(ids[name])
        if kind == "uuid":
            return str(uuid.uuid4())
        if name == "module":
            return modules[0] if modules else "x"
        if kind == "int":
            return "1"
        return "x"

    return PARAM.sub(sub, route.path)


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """(base type, constraints) of a possibly Annotated / Optional / UNSET-union type."""
    metas: list[Any] = []
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            args = typing.get_args(tp)
            tp, metas = args[0], metas + [a for a in args[1:] if isinstance(a, msgspec.Meta)]
            continue
        if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            args = [a for a in typing.get_args(tp) if a not in (type(None), msgspec.UnsetType)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp, metas


def sample_value(tp: Any, field_name: str, id_value: Any) -> Any:
    base, metas = _unwrap(tp)
    pattern = next((m.pattern for m in metas if getattr(m, "pattern", None)), None)
    origin = typing.get_origin(base)
    if base is uuid.UUID:
        return str(id_value)
    if origin is typing.Literal:
        return typing.get_args(base)[0]
    if origin in (list, tuple, set, frozenset):
        (inner,) = typing.get_args(base)[:1] or (str,)
        return [sample_value(inner, field_name, id_value)]
    if origin is dict:
        return {}
    if base is bool:
        return True
    if base is int:
        return max([1] + [m.ge or 0 for m in metas if getattr(m, "ge", None) is not None])
    if base is float:
        return 1.0
    if base is date:
        return date.today().isoformat()
    if base is datetime:
        return datetime.now().astimezone().isoformat()
    if base is str:
        if pattern:
            return next((c for c in pattern_candidates() if re.search(pattern, c)), f"W{uuid.uuid4().hex[:6]}")
        return "Thử nghiệm đường đi"
    if isinstance(base, type) and issubclass(base, msgspec.Struct):
        return sample_body(base, id_value)
    return None


def pattern_candidates() -> list[str]:
    """Strings of common shapes (codes, emails, phone numbers); a patterned field gets the first that matches."""
    return [f"W{uuid.uuid4().hex[:6]}", f"w{uuid.uuid4().hex[:6]}", f"walker-{uuid.uuid4().hex[:8]}@example.test",
            "0912 345 678"]


def sample_body(struct: type[msgspec.Struct], id_value: Any, ids: dict[str, Any] | None = None) -> dict[str, Any]:
    """A body that passes validation; every id-typed field carries `id_value`, or its own id from `ids`
    (field name -> id, e.g. {"person_id": ...} from `known_ids`)."""
    hints = typing.get_type_hints(struct, include_extras=True)
    ids = ids or {}
    return {name: sample_value(hints[name], name, ids.get(name, id_value)) for name in struct.__struct_fields__}


def known_ids(struct: type[msgspec.Struct], table_ids: dict[str, list[Any]], users: dict[str, Any]) -> dict[str, Any]:
    """Ids of existing rows for a struct's id fields named after a table (`person_id` -> a row of `person`,
    `user_id` -> a user), so a sample body refers to rows that exist. Other id fields keep the walker's default."""
    found: dict[str, Any] = {}
    for name in id_fields(struct):
        stem = name.removesuffix("_ids").removesuffix("_id")
        if stem == "user" and users:
            found[name] = next(iter(users.values()))
        elif stem != "agency" and table_ids.get(stem):
            found[name] = table_ids[stem][0]
    return found


def id_fields(struct: type[msgspec.Struct]) -> list[str]:
    hints = typing.get_type_hints(struct, include_extras=True)
    found = []
    for name in struct.__struct_fields__:
        base, _ = _unwrap(hints[name])
        inner = typing.get_args(base)[0] if typing.get_origin(base) in (list, tuple, set) else base
        if _unwrap(inner)[0] is uuid.UUID:
            found.append(name)
    return found
