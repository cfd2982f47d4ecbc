"""The API documentation at `/schema`: rendered offline and describing what the routes really answer.

- The page (Swagger UI) loads its scripts and styles from isogov itself (`/schema/assets/...`, the files of the
  `swagger-ui-bundle` package), never from a public CDN that government networks often block.
- `complete_schema` finishes the generated OpenAPI document: every operation lists the problem responses it can
  give (400, 401, 403, 404, 409, 413, 415, 422, 429 as `application/problem+json` with the `Problem` schema),
  public routes (`/health`, `/ready`, `/metrics`, sign-in, password reset) need no token, file downloads are
  binary, and request objects refuse unknown properties (`additionalProperties: false`, as the API does).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from litestar import Response, get
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType as MediaType, Operation, Reference, Schema
from litestar.openapi.spec import OpenAPIResponse

from core.errors import NotFound

ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js", "favicon-32x32.png")
ASSET_PATH = "/schema/assets"


def _assets_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def render_plugin() -> SwaggerRenderPlugin:
    return SwaggerRenderPlugin(
        path="/", js_url=f"{ASSET_PATH}/swagger-ui-bundle.js", css_url=f"{ASSET_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSET_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSET_PATH}/favicon-32x32.png'>")


@get(f"{ASSET_PATH}/{{name:str}}", summary="Scripts and styles of the documentation page", exclude_from_auth=True,
     include_in_schema=False, sync_to_thread=False)
def schema_asset(name: str) -> Response[bytes]:
    if name not in ASSETS:
        raise NotFound(f"no documentation asset {name!r}")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("javascript"):
        media_type = "application/javascript" if name.endswith(".js") else media_type
    return Response((_assets_dir() / name).read_bytes(), media_type=media_type,
                    headers={"Cache-Control": "public, max-age=86400"})


PUBLIC = {"/health", "/ready", "/metrics", "/api/v1/auth/login", "/api/v1/auth/password-reset",
          "/api/v1/auth/password-reset/confirm"}
PROBLEMS = {
    "400": "Bad input: the `field` names what is wrong",
    "401": "No valid `Authorization: Bearer <token>`",
    "403": "The role may not do this",
    "404": "Not found (or another province's)",
    "409": "Conflicts with the current state",
    "413": "The body is larger than the route accepts",
    "415": "The body is not JSON (or not multipart for uploads)",
    "422": "Well-formed but breaks a rule",
    "429": "Too many attempts; see Retry-After",
}
PROBLEM_SCHEMA = Schema(
    type="object",  # type: ignore[arg-type]
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type="string"), "title": Schema(type="string"),  # type: ignore[arg-type]
        "status": Schema(type="integer"), "detail": Schema(type="string"),  # type: ignore[arg-type]
        "instance": Schema(type="string"), "field": Schema(type="string"),  # type: ignore[arg-type]
        "errors": Schema(type="array", items=Schema(type="object")),  # type: ignore[arg-type]
    },
    description="RFC 9457 problem details",
)
BINARY = ("text/csv", "application/vnd.openxmlformats", "application/octet-stream", "application/pdf",
          "application/vnd.openxmlformats-officedocument", "image/")


FILE_TYPES = {".csv": "text/csv", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              ".pdf": "application/pdf", "/content": "application/octet-stream"}


def _file_type(path: str) -> str | None:
    return next((media for suffix, media in FILE_TYPES.items() if path.endswith(suffix)), None)


def _operations(schema: OpenAPI) -> list[tuple[str, str, Operation]]:
    found = []
    for path, item in (schema.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch", "options", "head"):
            operation = getattr(item, method, None)
            if operation is not None:
                found.append((path, method, operation))
    return found


def _close_objects(schema: Any, components: dict[str, Any], seen: set[int]) -> None:
    """additionalProperties: false on the objects a request body may hold (msgspec forbids unknown fields)."""
    if isinstance(schema, Reference):
        name = schema.ref.rsplit("/", 1)[-1]
        target = components.get(name)
        if target is not None and id(target) not in seen:
            seen.add(id(target))
            _close_objects(target, components, seen)
        return
    if not isinstance(schema, Schema):
        return
    if schema.properties is not None and schema.additional_properties is None:
        schema.additional_properties = False
    for child in [*(schema.properties or {}).values(), *(schema.one_of or []), *(schema.any_of or []),
                  *(schema.all_of or []), schema.items]:
        if child is not None:
            _close_objects(child, components, seen)


def complete_schema(schema: OpenAPI) -> OpenAPI:
    components = schema.components
    if components.schemas is None:
        components.schemas = {}
    components.schemas["Problem"] = PROBLEM_SCHEMA
    problem = Reference(ref="#/components/schemas/Problem")
    for path, method, operation in _operations(schema):
        responses = operation.responses if operation.responses is not None else {}
        operation.responses = responses
        public = path in PUBLIC or path.startswith("/schema")
        if public:
            operation.security = []
        for status, description in PROBLEMS.items():
            if status in ("413", "415") and operation.request_body is None:
                continue
            if status in responses or (public and status in ("401", "403")):
                if status in responses and isinstance(responses[status], OpenAPIResponse):
                    responses[status].content = {"application/problem+json": MediaType(schema=problem)}
                continue
            responses[status] = OpenAPIResponse(description=description,
                                                content={"application/problem+json": MediaType(schema=problem)})
        file_type = _file_type(path)
        for status, response in list(responses.items()):
            if not isinstance(response, OpenAPIResponse) or not status.startswith("2") or not response.content:
                continue
            if file_type and set(response.content) == {"application/json"}:  # a Response[bytes] named by its path
                response.content = {file_type: MediaType(schema=Schema(type="string", format="binary"))}  # type: ignore[arg-type]
            for media, content in response.content.items():
                if media.startswith(BINARY):
                    content.schema = Schema(type="string", format="binary")  # type: ignore[arg-type]
        body = operation.request_body
        if body is not None and not isinstance(body, Reference):
            for media, content in (body.content or {}).items():
                if media.startswith("application/json") and content.schema is not None:
                    _close_objects(content.schema, components.schemas, set())
    return schema
