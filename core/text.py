"""Vietnamese-aware text folding for accent-insensitive search."""

from __future__ import annotations

from unidecode import unidecode


def fold(text: str | None, max_length: int | None = None) -> str:
    """Fold diacritics and case: "Sở Giao thông Vận tải" -> "so giao thong van tai", "Đ" -> "d".

    Search columns store the folded form and queries fold their input, so `q=lang son` finds "Lạng Sơn"
    on SQLite and PostgreSQL alike without database extensions.

    Folding can lengthen text ("中" -> "zhong"): pass the search column's `max_length` to cut the folded copy to
    what the column holds (PostgreSQL refuses longer values; search then matches the kept prefix).
    """
    if not text:
        return ""
    folded = " ".join(unidecode(text).lower().split())
    return folded if max_length is None else folded[:max_length].rstrip()


def like_pattern(query: str) -> str:
    """A LIKE pattern matching the folded query anywhere, with LIKE wildcards in the input escaped away."""
    folded = fold(query).replace("%", " ").replace("_", " ")
    return f"%{' '.join(folded.split())}%"
