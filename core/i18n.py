"""The language of problem details: Vietnamese for officials, English on request.

`language(request)`: the first of `vi` / `en` in `Accept-Language` (by its q-values); without one, Vietnamese for
a signed-in user of a province and for anonymous requests (sign-in, password reset: officials), English for
platform users (operators). The messages core writes itself (invalid input, not found, method, size, media
type, unexpected error) exist in both; a module's own `detail` stays as the module wrote it.

Validation messages are made readable in both languages: enum errors list the allowed values, a value that
does not match a pattern says what is expected (never the raw regular expression).
"""

from __future__ import annotations

import re
import typing
from typing import Any, Literal

import msgspec

VI, EN = "vi", "en"

# pattern -> (English, Vietnamese) description of what a value must look like
PATTERN_HINTS: dict[str, tuple[str, str]] = {
    r"^[a-z0-9][a-z0-9-]*[a-z0-9]$": ("lower-case latin letters, digits and '-' (e.g. lang-son)",
                                      "chữ thường không dấu, chữ số và dấu '-' (ví dụ lang-son)"),
    r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$": ("an email address (e.g. ten@sokhcn.gov.vn)",
                                                 "một địa chỉ email (ví dụ ten@sokhcn.gov.vn)"),
    r"^[^\x00]*$": ("text without NUL characters", "văn bản không chứa ký tự NUL"),
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$": ("latin letters, digits, '.', '_' and '-'",
                                      "chữ cái latin không dấu, chữ số, '.', '_' và '-'"),
}


def register_pattern(pattern: str, english: str, vietnamese: str) -> None:
    """Modules describe their own patterns (shown instead of the regular expression)."""
    PATTERN_HINTS[pattern] = (english, vietnamese)


def language(request: Any) -> str:
    header = request.headers.get("accept-language", "") if request is not None else ""
    choices = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        primary = tag.split("-", 1)[0]
        if primary in (VI, EN) and q > 0:
            choices.append((-q, i, primary))
    if choices:
        return sorted(choices)[0][2]
    user = request.scope.get("user") if request is not None else None
    if user is not None and getattr(user, "tenant_id", None) is None:
        return EN  # platform admins and national reviewers
    return VI


def _literal_values(annotation: Any) -> list[str]:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return [str(a) for a in typing.get_args(annotation)]
    found: list[str] = []
    for arg in typing.get_args(annotation):
        if arg is not None and not isinstance(arg, (str, int, msgspec.Meta)):
            found += _literal_values(arg)
    return found


def allowed_values(request: Any, field: str | None, source: str | None) -> list[str]:
    """The values an enum field accepts (top-level fields of the body, or query/path parameters)."""
    if not field or request is None:
        return []
    try:
        params = request.route_handler.parsed_fn_signature.parameters
    except Exception:
        return []
    if source == "body":
        data = params.get("data")
        struct = data.annotation if data is not None else None
        hints = typing.get_type_hints(struct, include_extras=True) if isinstance(struct, type) and issubclass(
            struct, msgspec.Struct) else {}
        return _literal_values(hints.get(field)) if field in hints else []
    param = params.get(field)
    return _literal_values(param.annotation) if param is not None else []


_EXPECTED = re.compile(r"Expected `([^`]+)`, got `([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_ENUM = re.compile(r"Invalid enum value ('[^']*'|\S+)")
_REGEX = re.compile(r"Expected `str` matching regex '(.*)'")


def _hint(message: str) -> tuple[str, str]:
    raw = _REGEX.search(message).group(1)  # type: ignore[union-attr]
    unescaped = raw.encode().decode("unicode_escape", errors="ignore") if "\\\\" in raw else raw
    for pattern, hint in PATTERN_HINTS.items():
        if pattern in (raw, unescaped):
            return hint
    return ("a value of another form", "giá trị không đúng định dạng")


def message(text: str, lang: str, allowed: list[str] | None = None) -> str:
    """A msgspec validation message, readable, in `lang` (the field is named separately)."""
    text = text.split(" - at `", 1)[0]
    if _REGEX.search(text):
        en, vi = _hint(text)
        return f"giá trị không đúng định dạng: cần {vi}" if lang == VI else f"the value must be {en}"
    match = _ENUM.search(text)
    if match:
        values = ", ".join(allowed or [])
        if lang == VI:
            return f"giá trị {match.group(1)} không hợp lệ" + (f"; chọn một trong: {values}" if values else "")
        return f"invalid value {match.group(1)}" + (f"; allowed: {values}" if values else "")
    if allowed and "enum" in text.lower():
        values = ", ".join(allowed)
        return (f"chọn một trong: {values}" if lang == VI else f"allowed values: {values}")
    if lang != VI:
        return text
    match = _EXPECTED.search(text)
    if match:
        return f"cần kiểu `{match.group(1)}`, nhận được `{match.group(2)}`" + text[match.end():]
    match = _MISSING.search(text)
    if match:
        return f"thiếu trường bắt buộc `{match.group(1)}`"
    match = _UNKNOWN.search(text)
    if match:
        return f"không nhận trường `{match.group(1)}` (trường không có trong mẫu dữ liệu)"
    return text


TEXTS = {
    "invalid": ("Invalid input", "Dữ liệu không hợp lệ"),
    "field": ("field", "trường"),
    "not_found": ("Nothing is found at {path}", "Không tìm thấy {path}"),
    "method": ("Method {method} is not allowed on {path}", "Không dùng được phương thức {method} với {path}"),
    "too_large": ("The request body is larger than this endpoint accepts",
                  "Dữ liệu gửi lên lớn hơn mức đường dẫn này nhận"),
    "unauthorized": ("Sign in first: send `Authorization: Bearer <token>`",
                     "Cần đăng nhập: gửi `Authorization: Bearer <token>`"),
    "unexpected": ("An unexpected error occurred; it has been logged.",
                   "Đã xảy ra lỗi ngoài dự kiến; lỗi đã được ghi lại."),
    "too_deep": ("the request body is nested too deeply", "dữ liệu gửi lên lồng nhau quá sâu"),
    "not_utf8": ("the request body is not valid UTF-8", "dữ liệu gửi lên không phải UTF-8 hợp lệ"),
    "not_json": ("the request body is not valid JSON: {error}", "dữ liệu gửi lên không phải JSON hợp lệ: {error}"),
}


def text(key: str, lang: str, **values: Any) -> str:
    en, vi = TEXTS[key]
    return (vi if lang == VI else en).format(**values)
