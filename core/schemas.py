"""API structs shared by core and plugins: list pages and list parameters."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

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
