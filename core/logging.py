"""Structured logs (structlog): one line per event, carrying request id, tenant and user where known."""

from __future__ import annotations

import logging
import sys
import time
import uuid

import structlog
from litestar.config.app import AppConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from core.settings import Settings


def configure_logging(settings: Settings) -> None:
    level = getattr(logging, settings.log_level, logging.INFO)
    renderer = structlog.processors.JSONRenderer() if settings.log_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "isogov_json", False)]:
        root.removeHandler(handler)
    if not settings.log_json:
        logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
        return
    # production: the lines of libraries (arq, uvicorn, piccolo) become JSON objects too, with the bound context
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processor=structlog.processors.JSONRenderer(),
        foreign_pre_chain=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                           structlog.stdlib.add_logger_name, structlog.processors.TimeStamper(fmt="iso", utc=True)],
    ))
    handler.isogov_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def on_app_init(app_config: AppConfig) -> AppConfig:
    """Puts the request context middleware outermost, so the user bound by authentication stays on the lines."""
    app_config.middleware.insert(0, request_context_middleware)
    return app_config


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Binds a request id (from X-Request-ID or new) to every log line of the request and echoes it back."""
    log = structlog.get_logger("isogov.http")

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = incoming if incoming and incoming.isprintable() else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = {"code": 0}

        async def send_wrapper(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        except Exception as exc:  # answered by the exception handlers outside (e.g. 401 from authentication)
            status["code"] = getattr(exc, "status_code", 500)
            raise
        finally:
            log.info("request", method=scope.get("method"), path=scope.get("path"), status=status["code"],
                     ms=round((time.perf_counter() - started) * 1000, 1))
            structlog.contextvars.clear_contextvars()

    return middleware
