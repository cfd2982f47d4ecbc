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
    _LEVEL[0] = level
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


_LEVEL = [logging.INFO]  # the configured level: the request line is built only when INFO passes


def on_app_init(app_config: AppConfig) -> AppConfig:
    """Puts core's one request middleware outermost (`request_middleware`)."""
    app_config.middleware.insert(0, request_middleware)
    return app_config


def request_middleware(app: ASGIApp) -> ASGIApp:
    """Core's per-request work in one ASGI layer (one send wrapper, one frame), outermost:

    - the row-level security binding of the request (`core.db.request_binding`, filled by the tenancy guard; it
      ends with the request, so nothing of one request's tenant reaches the next one on the same task);
    - the log context: a request id (from X-Request-ID or new) bound to every log line of the request and echoed
      back in `X-Request-ID`, and one `request` line at INFO when it ends;
    - the Prometheus counters by route template (`core.metrics.observe_request`), refused requests included."""
    from core.db import request_binding
    from core.metrics import observe_request

    log = structlog.get_logger("isogov.http")
    clear, bind = structlog.contextvars.clear_contextvars, structlog.contextvars.bind_contextvars

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = incoming if incoming and incoming.isprintable() else uuid.uuid4().hex
        echo = (b"x-request-id", request_id.encode())
        clear()
        bind(request_id=request_id)
        started = time.perf_counter()
        code = 500

        async def send_wrapper(message):  # type: ignore[no-untyped-def]
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
                message["headers"] = [*message.get("headers", ()), echo]
            await send(message)

        try:
            with request_binding():
                await app(scope, receive, send_wrapper)
        except Exception as exc:  # answered by the exception handlers outside (e.g. 401 from authentication)
            code = getattr(exc, "status_code", 500)
            raise
        finally:
            elapsed = time.perf_counter() - started
            observe_request(scope.get("method", "GET"), scope.get("path_template") or "<unmatched>", code, elapsed)
            if _LEVEL[0] <= logging.INFO:  # the request line only when it would be written
                log.info("request", method=scope.get("method"), path=scope.get("path"), status=code,
                         ms=round(elapsed * 1000, 1))
            clear()

    return middleware
