"""API structs shared by core and plugins: list pages and list parameters."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import Parameter

T = TypeVar("T")

MAX_LIMIT = 500

# Text fields: no NUL character (valid JSON and UTF-8, but PostgreSQL refuses it in text columns; SQLite would
# store it), so both engines answer the same 400 naming the field.
NO_NUL = r"^[^\x00]*$"


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def to_struct(row: dict, struct: type[T]) -> T:
    """Convert a database row (extra columns ignored) to an API struct."""
    return msgspec.convert(row, struct, from_attributes=False, strict=False)


_LISTS: dict[type, type] = {}


def to_structs(rows: list[dict], struct: type[T]) -> list[T]:
    """Convert a page of database rows to API structs in one call (the same result as `to_struct` per row)."""
    list_type = _LISTS.get(struct)
    if list_type is None:
        list_type = _LISTS[struct] = list[struct]  # type: ignore[valid-type]
    return msgspec.convert(rows, list_type, from_attributes=False, strict=False)


MAX_OFFSET = 2**31 - 1  # beyond any real list; larger values overflow the databases' integer parameters

Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="page size")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="rows to skip")]
