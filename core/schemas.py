"""API structs shared by core and plugins: list pages and list parameters."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")

MAX_LIMIT = 500


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def to_struct(row: dict, struct: type[T]) -> T:
    """Convert a database row (extra columns ignored) to an API struct."""
    return msgspec.convert(row, struct, from_attributes=False, strict=False)
