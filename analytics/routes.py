"""HTTP routes for leads: the sign-in page, sign-out, and `POST /api/query` (the SQL console as JSON).

`install_routes(api, settings, store)` must run before Gradio is mounted at "" (routes added later would be
shadowed by the mount). It also installs a tiny ASGI middleware that puts the auth service on every request's
scope, so `require_lead(request)` works without a store inside the app.
"""

from __future__ import annotations

import html
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from analytics.auth import COOKIE_NAME, SCOPE_KEY, AccessDenied, Auth, access_mode, auth_for
from analytics.console import ConsoleError, console_for
from settings import Settings
from store import Store

log = logging.getLogger(__name__)

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
QUERY_PATH = "/api/query"
WHOAMI_PATH = "/api/whoami"


class BodyTooLarge(Exception):
    pass


class _AuthScope:
    """ASGI middleware: every request carries the auth service under scope["athena.auth"]."""

    def __init__(self, app: ASGIApp, auth: Auth):
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope[SCOPE_KEY] = self.auth
        await self.app(scope, receive, send)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or BodyTooLarge as soon as it passes `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge()
        except ValueError:
            raise BodyTooLarge() from None
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _denied(exc: AccessDenied) -> JSONResponse:
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="Athena", charset="UTF-8"'
    if exc.retry_after:
        headers["Retry-After"] = str(exc.retry_after)
    return _error(exc.status, str(exc), headers)


def same_origin(request: Request) -> bool:
    """False when a browser says the request comes from another site (Origin header naming another host)."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == (request.headers.get("host") or "").lower()


def safe_next(value: str | None) -> str:
    """A local path to go to after signing in; anything else (other sites, odd schemes) becomes "/"."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or "\n" in value:
        return "/"
    parts = urlsplit(value)
    return "/" if parts.scheme or parts.netloc else value


def login_page(*, error: str = "", next_path: str = "/", open_mode: bool = False, username: str = "") -> str:
    notice = ""
    if open_mode:
        notice = (
            "<p class='note'>No accounts exist yet, so Athena runs in <b>open mode</b> on this computer only. "
            "Create an admin with <code>python -m analytics.users add NAME --role admin</code> or start with "
            "<code>ATHENA_ADMIN_PASSWORD</code> set.</p>"
        )
    err = f"<p class='error' role='alert'>{html.escape(error)}</p>" if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Athena</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f6f7f9;margin:0;display:flex;min-height:100vh;
align-items:center;justify-content:center}}
form{{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;width:20rem}}
h1{{font-size:1.3rem;margin-top:0}} label{{display:block;margin:.8rem 0 .2rem}}
input{{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}}
button{{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#2b59c3;color:#fff;border:0;
border-radius:4px;cursor:pointer}} .error{{color:#b00020}} .note{{font-size:.9rem;color:#444}}
</style></head><body>
<form method="post" action="{LOGIN_PATH}" id="login-form">
<h1>Athena · team leads</h1>{notice}{err}
<input type="hidden" name="next" value="{html.escape(next_path)}">
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required value="{html.escape(username)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-submit">Sign in</button>
<p class="note"><a href="/">Back to Athena</a></p>
</form></body></html>"""


def install_routes(api: FastAPI, settings: Settings, store: Store) -> Auth:
    """Add /login, /logout, /api/query and /api/whoami to `api`; returns the auth service."""
    auth = auth_for(store, settings)
    limit = int(settings.api_max_body_bytes)
    api.add_middleware(_AuthScope, auth=auth)

    def client_ip(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    @api.get(LOGIN_PATH, include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        page = login_page(
            next_path=safe_next(request.query_params.get("next")), open_mode=access_mode(store) == "open"
        )
        return HTMLResponse(page, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})

    @api.post(LOGIN_PATH, include_in_schema=False)
    async def login_submit(request: Request) -> Response:
        if not same_origin(request):
            return HTMLResponse(
                login_page(error="Sign-in from another site is not allowed."), status_code=403
            )
        try:
            body = await read_body(request, limit)
        except BodyTooLarge:
            return _error(413, f"The request body is larger than {limit} bytes.")
        from urllib.parse import parse_qs

        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        username, password = form.get("username", ""), form.get("password", "")
        next_path = safe_next(form.get("next"))
        try:
            principal = auth.login(username, password, client_ip(request))
        except AccessDenied as exc:
            page = login_page(
                error=str(exc),
                next_path=next_path,
                username=username[:64],
                open_mode=access_mode(store) == "open",
            )
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            return HTMLResponse(page, status_code=exc.status, headers=headers)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            auth.issue_cookie(principal),
            max_age=auth.session_seconds,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        log.info("signed in", extra={"account": principal.username, "client": client_ip(request)})
        return response

    def logout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    api.add_api_route(LOGOUT_PATH, logout, methods=["GET", "POST"], include_in_schema=False)

    @api.get(WHOAMI_PATH, include_in_schema=False)
    def whoami(request: Request) -> JSONResponse:
        try:
            principal = auth.require_lead(request)
        except AccessDenied as exc:
            return _denied(exc)
        return JSONResponse(
            {
                "user": principal.username,
                "role": principal.role,
                "mode": "open" if principal.open_mode else "accounts",
            }
        )

    @api.post(QUERY_PATH, include_in_schema=False)
    async def query(request: Request) -> JSONResponse:
        try:
            principal = auth.require_lead(request)
        except AccessDenied as exc:
            return _denied(exc)
        if not same_origin(request):
            return _error(403, "Requests from another site are not allowed.")
        try:
            body = await read_body(request, limit)
        except BodyTooLarge:
            return _error(413, f"The request body is larger than {limit} bytes.")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _error(
                415, 'Send JSON: Content-Type: application/json and a body like {"sql": "SELECT 1"}.'
            )
        try:
            payload: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _error(400, 'The body is not valid JSON; send {"sql": "SELECT ..."}.')
        if not isinstance(payload, dict) or not isinstance(payload.get("sql"), str) or set(payload) - {"sql"}:
            return _error(400, 'Send exactly one field, "sql", holding the query as text.')
        from starlette.concurrency import run_in_threadpool

        try:
            result = await run_in_threadpool(console_for(store, settings).run, payload["sql"])
        except ConsoleError as exc:
            return _error(exc.status, str(exc))
        log.info("api query", extra={"account": principal.username, "rows": len(result.rows)})
        return JSONResponse(result.as_json(), headers={"Cache-Control": "no-store"})

    return auth
