"""Operations at the HTTP edge: /health, /ready, /metrics, security headers, body limits, API rate limits,
stream and error metrics, and the lifespan (scheduled backups; on shutdown, interviews checkpointed as resumable).

`install_ops(api, settings, store, interviews)` must run before Gradio is mounted at "".
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics.auth import Throttle, auth_for, is_loopback
from ops.backup import BackupScheduler
from ops.health import Readiness
from ops.metrics import CONTENT_TYPE, Metrics, observe_database, observe_engine
from settings import Settings
from store import Store

log = logging.getLogger(__name__)

RATE_LIMITED_PREFIXES = ("/api/", "/interview/", "/login")
STREAM_PATH_SUFFIXES = ("/queue/data", "/websocket/offer")


def content_security_policy(frame_ancestors: str) -> str:
    """A CSP the Gradio UI works under: its inline bootstrap script and styles, blobs for audio, same-origin
    connections only, no plugins, no framing except by `frame_ancestors`."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
            "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
            "font-src 'self' data: https://fonts.gstatic.com",
            "img-src 'self' data: blob:",
            "media-src 'self' data: blob: mediastream:",
            "connect-src 'self' data: blob:",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


@dataclass
class Ops:
    """What install_ops set up, for the app and for tests."""

    metrics: Metrics
    readiness: Readiness
    scheduler: BackupScheduler

    def checkpoint_running(self, engine: Any, reason: str = "server shutdown") -> list[int]:
        """Close the interviews this process is running as interrupted, so they resume where they stopped."""
        closed = []
        for session_id in self.metrics.active_sessions():
            try:
                engine.abandon(session_id, reason)
                closed.append(session_id)
            except Exception:  # one bad session must not stop the others being saved
                log.exception("could not checkpoint an interview", extra={"session_id": session_id})
        if closed:
            log.info("interviews checkpointed for shutdown", extra={"sessions": closed})
        return closed


def _json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _TooLarge(Exception):
    pass


class EdgeMiddleware:
    """Pure ASGI (so streaming responses stay streams): headers, limits, rate limits and metrics."""

    def __init__(self, app: ASGIApp, settings: Settings, store: Store, metrics: Metrics):
        self.app = app
        self.store = store
        self.metrics = metrics
        self.max_body = int(settings.max_request_mb) * 1024 * 1024
        rate = int(settings.api_rate_limit)
        self.throttle = Throttle(rate, 60.0) if rate > 0 else None
        self.csp = content_security_policy(settings.frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            gauge = self.metrics.streams_active.labels(kind="websocket")
            gauge.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                gauge.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self._reply(
                scope,
                send,
                _json_error(413, f"The request body is larger than {self.max_body // (1024 * 1024)} MB."),
            )
            return
        if self.throttle is not None and path.startswith(RATE_LIMITED_PREFIXES):
            wait = await self._rate_limited(scope, headers)
            if wait is not None:
                self.metrics.error("http.rate_limited")
                await self._reply(
                    scope,
                    send,
                    _json_error(
                        429, f"Too many requests; try again in {wait} s.", {"Retry-After": str(wait)}
                    ),
                )
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge()
            return message

        started = False
        stream_gauge = None
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            nonlocal started, stream_gauge
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                raw = list(message.get("headers", []))
                present = {k.lower() for k, _ in raw}
                for name, value in self._security_headers(https):
                    if name.encode() not in present:
                        raw.append((name.encode(), value.encode()))
                message = {**message, "headers": raw}
                ctype = next((v for k, v in raw if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/event-stream"):
                    stream_gauge = self.metrics.streams_active.labels(kind="sse")
                    stream_gauge.inc()
                self.metrics.http_requests.labels(route=_route_group(path), status=f"{status // 100}xx").inc()
                if status >= 500:
                    self.metrics.error("http.5xx")
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _TooLarge:
            if not started:
                await self._reply(
                    scope,
                    send,
                    _json_error(413, f"The request body is larger than {self.max_body // (1024 * 1024)} MB."),
                )
        except Exception:
            self.metrics.error("http.unhandled")
            raise
        finally:
            if stream_gauge is not None:
                stream_gauge.dec()

    def _security_headers(self, https: bool) -> list[tuple[str, str]]:
        out = [
            ("content-security-policy", self.csp),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
            ("permissions-policy", "microphone=(self), camera=(), geolocation=()"),
        ]
        if "frame-ancestors 'none'" in self.csp:
            out.append(("x-frame-options", "DENY"))
        if https:
            out.append(("strict-transport-security", "max-age=31536000; includeSubDomains"))
        return out

    async def _rate_limited(self, scope: Scope, headers: dict[str, str]) -> int | None:
        assert self.throttle is not None
        client = scope.get("client")
        keys = [f"ip:{client[0] if client else 'unknown'}"]
        user = await run_in_threadpool(self._user_key, headers)
        if user:
            keys.append(user)
        wait = self.throttle.retry_after(keys)
        if wait is None:
            self.throttle.fail(keys)  # the Throttle counts events in a sliding window: here, requests
        return wait

    def _user_key(self, headers: dict[str, str]) -> str | None:
        """The signed-in account (from a valid session cookie), or a hash of the Basic credentials presented."""
        auth = auth_for(self.store)
        from analytics.auth import COOKIE_NAME

        cookie = _cookie(headers.get("cookie", ""), COOKIE_NAME)
        if cookie:
            principal = auth.principal_from_cookie(cookie)
            if principal is not None:
                return f"user:{principal.username}"
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            return "basic:" + hashlib.sha256(authorization.encode()).hexdigest()[:24]
        return None

    @staticmethod
    async def _reply(scope: Scope, send: Send, response: Response) -> None:
        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, no_body, send)


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip('"') or None
    return None


def _route_group(path: str) -> str:
    """A low-cardinality label for a path."""
    for prefix in (
        "/api/",
        "/interview/",
        "/gradio_api/",
        "/login",
        "/logout",
        "/health",
        "/ready",
        "/metrics",
    ):
        if path.startswith(prefix):
            return prefix.strip("/")
    return "ui"


class _AccessLogRedactor(logging.Filter):
    """Drop query strings from uvicorn's access log lines: they can carry interview references."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            path = args[2]
            if isinstance(path, str):
                args[2] = path.split("?", 1)[0]
                record.args = tuple(args)
        return True


def _install_access_log_redaction() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _AccessLogRedactor) for f in access.filters):
        access.addFilter(_AccessLogRedactor())


def metrics_allowed(request: Request, settings: Settings) -> bool:
    mode, token = settings.metrics, settings.metrics_token
    if mode == "off":
        return False
    presented = request.headers.get("authorization", "")
    if token and hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
        return True
    if mode == "on":
        return not token
    client = request.client.host if request.client else ""
    return is_loopback(client)


def install_ops(api: FastAPI, settings: Settings, store: Store, interviews: Any) -> Ops:
    """Add /health, /ready and /metrics, the edge middleware, and the lifespan hooks to `api`."""
    metrics = Metrics()
    observe_engine(interviews.engine, metrics)
    interviews.openai_latency = lambda operation, seconds: metrics.openai_latency.labels(
        operation=operation
    ).observe(seconds)
    observe_database(store.engine, metrics)
    readiness = Readiness(settings, store, bank_size=len(interviews.bank.questions))
    ops = Ops(metrics=metrics, readiness=readiness, scheduler=BackupScheduler(store, settings))
    _install_access_log_redaction()

    @api.get("/health", include_in_schema=False)
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    @api.get("/ready", include_in_schema=False)
    def ready() -> JSONResponse:
        ok, body = readiness.check()
        return JSONResponse(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})

    @api.get("/metrics", include_in_schema=False)
    def prometheus(request: Request) -> Response:
        if not metrics_allowed(request, settings):
            return _json_error(404, "Not found.")
        return Response(metrics.exposition(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    api.add_middleware(EdgeMiddleware, settings=settings, store=store, metrics=metrics)

    previous = api.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with previous(app) as state:
            ops.scheduler.start()
            try:
                yield state
            finally:
                readiness.draining = True
                ops.scheduler.stop()
                await run_in_threadpool(ops.checkpoint_running, interviews.engine)

    api.router.lifespan_context = lifespan
    api.state.athena_ops = ops
    log.debug("ops installed", extra={"metrics": settings.metrics, "rate_limit": settings.api_rate_limit})
    return ops
