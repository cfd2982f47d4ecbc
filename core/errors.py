"""Every error leaves as application/problem+json (RFC 9457) with a human `detail`.

Domain code raises the `ProblemError` subclasses below; Litestar's own HTTP exceptions (validation, 401, 404,
405, 413, ...) are converted by the same handlers; anything unexpected is logged and answered as a 500 problem
that reveals nothing internal.
"""

from __future__ import annotations

import re
import sqlite3
from http import HTTPStatus
from typing import Any

import asyncpg
import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from core import i18n

log = structlog.get_logger("isogov.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemError(Exception):
    """A domain error with an HTTP status. `field` names the input field at fault, when there is one."""

    status_code = 400

    def __init__(self, detail: str, *, field: str | None = None, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


class BadRequest(ProblemError):
    status_code = 400


class Unauthorized(ProblemError):
    status_code = 401


class Forbidden(ProblemError):
    status_code = 403


class NotFound(ProblemError):
    status_code = 404


class Conflict(ProblemError):
    status_code = 409


class PayloadTooLarge(ProblemError):
    status_code = 413


class UnsupportedMediaType(ProblemError):
    status_code = 415


class Unprocessable(ProblemError):
    status_code = 422


class TooManyRequests(ProblemError):
    status_code = 429


def problem_response(status: int, detail: str, *, request: Request | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(content=body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def _field_of(key: Any, message: str) -> str | None:
    """Name the input field at fault: msgspec says "... - at `$.name`" or "unknown field `x`" for body errors."""
    if key != "data":
        return key
    for pattern in (_AT_PATH, _UNKNOWN, _MISSING):
        match = pattern.search(message)
        if match and match.group(1):
            return match.group(1)
    return None


def _validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message") or "")
            if message == repr(item.get("key")):  # Litestar's per-field collection hit a KeyError: not an input error
                continue
            errors.append({"field": _field_of(item.get("key"), message), "message": message,
                           "source": item.get("source")})
    return errors


def handle_problem(request: Request, exc: ProblemError) -> Response[dict[str, Any]]:
    return problem_response(exc.status_code, exc.detail, request=request, headers=exc.headers,
                            field=exc.field, errors=exc.errors, **exc.extra)


def handle_http_exception(request: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    """Framework errors in the user's language (core.i18n): Vietnamese for officials, English on request."""
    status = exc.status_code
    lang = i18n.language(request)
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        for error in errors:
            allowed = i18n.allowed_values(request, error["field"], error["source"])
            error["message"] = i18n.message(error["message"], lang, allowed)
        if errors:
            first = errors[0]
            where = f" ({i18n.text('field', lang)} `{first['field']}`)" if first.get("field") else ""
            detail = f"{i18n.text('invalid', lang)}{where}: {first['message']}"
        else:
            detail = exc.detail.split(": ", 1)[-1] if exc.detail else i18n.text("invalid", lang)
        return problem_response(status, detail, request=request, errors=errors or None,
                                field=errors[0]["field"] if errors else None)
    detail = exc.detail or HTTPStatus(status).phrase
    if status == 404 and detail == "Not Found":
        detail = i18n.text("not_found", lang, path=request.url.path)
    if status == 405:
        detail = i18n.text("method", lang, method=request.method, path=request.url.path)
    if status == 413:
        detail = i18n.text("too_large", lang)
    if status == 401 and lang == i18n.VI:
        detail = i18n.text("unauthorized", lang)
    return problem_response(status, detail, request=request, headers=exc.headers)


def handle_undecodable(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    lang = i18n.language(request)
    detail = i18n.text("not_utf8", lang) if isinstance(exc, UnicodeDecodeError) \
        else i18n.text("not_json", lang, error=exc)
    return problem_response(400, detail, request=request)


def is_unique_violation(exc: BaseException, constraint: str | None = None) -> bool:
    """A unique constraint refused a row (PostgreSQL), or an integrity constraint did (SQLite); with `constraint`,
    only when the error names it (e.g. "code_key": the constraint's or the column's name)."""
    if not isinstance(exc, (sqlite3.IntegrityError, asyncpg.exceptions.UniqueViolationError)):
        return False
    return constraint is None or constraint in f"{getattr(exc, 'constraint_name', '') or ''} {exc}"


def handle_integrity(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    """A unique or foreign-key constraint refused a write (e.g. two identical submits at the same moment):
    the transaction rolled back, nothing was written."""
    log.info("integrity error", path=request.url.path, error=str(exc)[:200])
    return problem_response(409, "the change conflicts with an existing record (it may have just been submitted "
                                 "twice); nothing was written", request=request)


def handle_data_error(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    """PostgreSQL refused a value (a NUL character, a text longer than its column, ...) that input validation let
    through: the statement failed, its transaction rolled back, nothing was written."""
    log.warning("data error", path=request.url.path, error=str(exc)[:200])
    return problem_response(400, "a value cannot be stored (it contains a NUL character or is too long); nothing "
                                 "was written", request=request)


def handle_too_deep(request: Request, exc: RecursionError) -> Response[dict[str, Any]]:
    """JSON nested deeper than the decoder's limit (about 1,000 levels)."""
    log.info("request body nested too deeply", path=request.url.path)
    return problem_response(400, i18n.text("too_deep", i18n.language(request)), request=request)


def handle_unexpected(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error", path=request.url.path, method=request.method)
    return problem_response(500, i18n.text("unexpected", i18n.language(request)), request=request)


EXCEPTION_HANDLERS = {
    ProblemError: handle_problem,
    HTTPException: handle_http_exception,
    UnicodeDecodeError: handle_undecodable,
    msgspec.DecodeError: handle_undecodable,
    sqlite3.IntegrityError: handle_integrity,
    asyncpg.exceptions.IntegrityConstraintViolationError: handle_integrity,
    asyncpg.exceptions.DataError: handle_data_error,
    RecursionError: handle_too_deep,
    Exception: handle_unexpected,
}
