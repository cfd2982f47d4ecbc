"""HTTP rules every route shares: JSON bodies are JSON (415 otherwise) and typed strictly, responses are not cached
and not sniffed.

- `check_json_body` (the app's `before_request`, after authentication and the tenancy guard, before the body is
  parsed): on a route whose `data` is JSON, a body sent with another `Content-Type` answers 415; the body is
  decoded strictly against the route's type (`{"active": 0}` or `"1"` for a number are refused: 400 naming the
  field; Litestar alone would coerce them), and nesting deeper than the decoder's limit answers 400.
- `security_headers` (the app's `before_send`): every response gets `X-Content-Type-Options: nosniff`; every response under
  `/api/` gets `Cache-Control: no-store` unless the route set its own (tokens, `/me`, lists and exports must not
  stay in shared or browser caches); a `Content-Type` whose charset Litestar repeated keeps one.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.types import Message, Scope

from core.errors import BadRequest, UnsupportedMediaType

_JSON_TYPES: dict[Any, Any] = {}  # handler -> its data annotation, or None when it takes no JSON body


def _json_data_type(handler: Any) -> Any:
    if handler in _JSON_TYPES:
        return _JSON_TYPES[handler]
    found = None
    param = handler.parsed_fn_signature.parameters.get("data")
    if param is not None:
        media = getattr(param.kwarg_definition, "media_type", None)
        if media in (None, RequestEncodingType.JSON):
            found = param.annotation
    _JSON_TYPES[handler] = found
    return found


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def check_json_body(request: Request) -> None:
    annotation = _json_data_type(request.route_handler)
    if annotation is None:
        return None
    body = await request.body()
    if not body:
        return None
    content_type = request.headers.get("content-type", "")
    if not _is_json(content_type):
        raise UnsupportedMediaType(
            f"this route takes a JSON body: send it with `Content-Type: application/json` "
            f"(got {content_type.split(';', 1)[0] or 'none'!r})", field="Content-Type")
    try:
        msgspec.json.decode(body, type=annotation, strict=True)
    except RecursionError as exc:
        raise BadRequest("the JSON body is nested too deeply") from exc
    except msgspec.ValidationError as exc:
        raise ValidationException(detail=str(exc), extra=[{"key": "data", "message": str(exc), "source": "body"}]) \
            from exc
    except (msgspec.DecodeError, TypeError, ValueError):
        return None  # malformed JSON, or a type msgspec cannot check alone: Litestar's own parsing answers
    return None


async def security_headers(message: Message, scope: Scope) -> None:
    """The app's `before_send` hook: it sees every response, those of exception handlers and of the authentication
    middleware (401) included."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Content-Type-Options"] = "nosniff"
    if scope.get("path", "").startswith("/api/") and "cache-control" not in headers:
        headers["Cache-Control"] = "no-store"
    content_type = headers.get("content-type")
    if content_type and content_type.lower().count("charset=") > 1:
        headers["Content-Type"] = _one_charset(content_type)


def _one_charset(content_type: str) -> str:
    """`text/csv; charset=utf-8; charset=utf-8` (Litestar appends a charset to text types that carry one) -> one."""
    parts = [p.strip() for p in content_type.split(";") if p.strip()]
    seen: set[str] = set()
    kept = []
    for part in parts:
        key = part.split("=", 1)[0].strip().lower() if "=" in part else part.lower()
        if key in seen:
            continue
        seen.add(key)
        kept.append(part)
    return "; ".join(kept)
