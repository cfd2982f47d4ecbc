"""Vietnamese-aware text folding for accent-insensitive search."""

from __future__ import annotations

from unidecode import unidecode


def fold(text: str | None) -> str:
    """Fold diacritics and case: "Sở Giao thông Vận tải" -> "so giao thong van tai", "Đ" -> "d".

    Search columns store the folded form and queries fold their input, so `q=lang son` finds "Lạng Sơn"
    on SQLite and PostgreSQL alike without database extensions.
    """
    if not text:
        return ""
    return " ".join(unidecode(text).lower().split())


def like_pattern(query: str) -> str:
    """A LIKE pattern matching the folded query anywhere, with LIKE wildcards in the input escaped away."""
    folded = fold(query).replace("%", " ").replace("_", " ")
    return f"%{' '.join(folded.split())}%"
