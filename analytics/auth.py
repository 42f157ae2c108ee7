"""Who may use the Analytics and Console tabs: the role check every handler and route calls.

Contract (used by every Gradio handler and API route behind the Analytics and Console tabs):

- ``access_mode(store) -> "open" | "accounts"``: "open" while the users table is empty, "accounts" once any
  account exists (then it never goes back for the life of the process).
- ``require_lead(request, store) -> Principal``: call it FIRST in every handler, with the handler's
  ``request: gr.Request`` (or a Starlette/FastAPI ``Request``). It returns the signed-in lead or admin, or raises
  ``AccessDenied`` (``.status`` 401 when nobody valid is signed in, 403 when signed in without the role;
  ``str(exc)`` is a message fit for a person). Credentials are the ``athena_session`` cookie set by ``/login``
  or an ``Authorization: Basic`` header. In open mode it returns ``Principal("local", "admin", open_mode=True)``
  when the request's Host is a loopback name (localhost, 127.x, ::1; tests with Starlette's TestClient should
  use ``base_url="http://127.0.0.1"``), which stops DNS-rebinding pages from using an open local server.
  ``request=None`` (an in-process call, never possible through Gradio's HTTP API) is allowed in open mode only.
  ``store`` may be omitted inside the app, where the ``/login`` routes put the auth service on every request.
- ``require_admin(request, store)``: the same for admin-only actions (managing accounts).
- ``Principal.username`` is what audit records name as the actor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select

from analytics import accounts
from analytics.throttle import Throttle
from settings import ROOT, Settings, load_settings
from store import Store
from store.schema import users

log = logging.getLogger(__name__)

COOKIE_NAME = "athena_session"
SCOPE_KEY = "athena.auth"
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class AccessDenied(Exception):
    """The request may not do this; `status` is the HTTP status (401, 403 or 429) and str() says why."""

    def __init__(self, message: str, status: int = 401, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class StartupRefused(RuntimeError):
    """The server must not start with these settings; the message says why and what to do, in one line."""


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    open_mode: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


OPEN_PRINCIPAL = Principal("local", "admin", open_mode=True)


def is_loopback(host: str) -> bool:
    """True for localhost names and loopback addresses (127.0.0.0/8, ::1), with or without brackets."""
    name = (host or "").strip().lower().strip("[]")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


def _host_of(host_header: str) -> str:
    value = (host_header or "").strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


# ---- mode
class _ModeCache:
    """Remembers per Store that accounts exist (accounts are disabled, never deleted, so it never flips back)."""

    def __init__(self) -> None:
        self._seen: weakref.WeakSet[Store] = weakref.WeakSet()
        self._lock = threading.Lock()

    def mode(self, store: Store) -> Literal["open", "accounts"]:
        with self._lock:
            if store in self._seen:
                return "accounts"
        with store.read() as conn:
            exists = conn.execute(select(func.count()).select_from(users)).scalar_one() > 0
        if exists:
            with self._lock:
                self._seen.add(store)
            return "accounts"
        return "open"


_modes = _ModeCache()


def access_mode(store: Store) -> Literal["open", "accounts"]:
    """ "open" while no account exists (loopback only), "accounts" once any does."""
    return _modes.mode(store)


def check_bind(host: str, store: Store) -> None:
    """Refuse to serve a non-loopback address while no account exists (StartupRefused, one line)."""
    if is_loopback(host) or access_mode(store) == "accounts":
        return
    raise StartupRefused(
        f"refusing to listen on {host} without accounts: anyone who can reach it could read every interview. "
        "Set ATHENA_ADMIN_PASSWORD (or run: python -m analytics.users add NAME --role admin), "
        "or set ATHENA_HOST=127.0.0.1 for open local use."
    )


# ---- the service
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def session_secret_path(store: Store) -> Path:
    """Where a generated cookie-signing key is kept: next to the SQLite file, else in data/."""
    folder = store.sqlite_path.resolve().parent if store.sqlite_path is not None else ROOT / "data"
    return folder / ".athena_session_secret"


def load_or_create_secret(path: Path) -> bytes:
    """Read the key file, or create it (mode 0600) with 32 random bytes; safe when two processes race."""
    try:
        data = path.read_bytes().strip()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    log.info("generated a cookie-signing key", extra={"path": str(path)})
    return key


class Auth:
    """Sign-in, session cookies, HTTP Basic credentials and login throttling for one Store."""

    def __init__(self, store: Store, settings: Settings | None = None):
        settings = settings or load_settings({}, env_file=Path("/nonexistent/.env"))
        self.store = store
        self.session_seconds = int(settings.session_hours) * 3600
        self.throttle = Throttle(int(settings.login_max_attempts), float(settings.login_window_s))
        secret = settings.session_secret
        self._key = secret.encode() if secret else load_or_create_secret(session_secret_path(store))
        self._basic_ok: OrderedDict[str, float] = OrderedDict()  # HMAC of credentials -> expiry
        self._lock = threading.Lock()

    # -- passwords
    def login(self, username: str, password: str, client_ip: str) -> Principal:
        """Check a user name and password, throttled per user name and per IP; AccessDenied when refused."""
        name = (username or "").strip().lower()[:128]
        keys = [f"user:{name}", f"ip:{client_ip}"]
        wait = self.throttle.retry_after(keys)
        if wait is not None:
            log.warning("sign-in throttled", extra={"account": name, "client": client_ip})
            raise AccessDenied(
                f"Too many failed sign-ins. Try again in {wait} s.", status=429, retry_after=wait
            )
        with self.store.read() as conn:
            row = accounts.user_row(conn, name)
        ok = accounts.verify_password(row["password_hash"] if row is not None else None, password or "")
        if not ok or row is None or row["disabled"]:
            self.throttle.fail(keys)
            log.warning("sign-in failed", extra={"account": name, "client": client_ip})
            raise AccessDenied("Wrong user name or password.", status=401)
        self.throttle.clear(keys[0])
        return Principal(str(row["username"]), str(row["role"]))

    # -- cookies
    def issue_cookie(self, principal: Principal, now: float | None = None) -> str:
        now = time.time() if now is None else now
        with self.store.read() as conn:
            row = accounts.user_row(conn, principal.username)
        if row is None:
            raise AccessDenied("No such account.", status=401)
        payload = {
            "u": row["username"],
            "exp": int(now) + self.session_seconds,
            "pv": accounts.password_fingerprint(row["password_hash"]),
            "n": secrets.token_hex(8),
        }
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._sign(body)}"

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, b"athena-session-v1." + body.encode(), hashlib.sha256).digest())

    def principal_from_cookie(self, value: str | None, now: float | None = None) -> Principal | None:
        """The account a session cookie stands for, or None if it is forged, expired or no longer valid."""
        if not value or len(value) > 4096 or value.count(".") != 1:
            return None
        body, signature = value.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            username, expires, version = str(payload["u"]), int(payload["exp"]), str(payload["pv"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < (time.time() if now is None else now):
            return None
        with self.store.read() as conn:
            row = accounts.user_row(conn, username)
        if row is None or row["disabled"]:
            return None
        if not hmac.compare_digest(version, accounts.password_fingerprint(row["password_hash"])):
            return None
        return Principal(str(row["username"]), str(row["role"]))

    # -- HTTP Basic
    def principal_from_basic(self, header: str, client_ip: str) -> Principal | None:
        """Check an `Authorization: Basic ...` header (throttled like a sign-in); None if it is not Basic."""
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            return None
        try:
            username, sep, password = (
                base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
            )
        except (ValueError, UnicodeDecodeError):
            raise AccessDenied("Malformed Basic credentials.", status=401) from None
        if not sep:
            raise AccessDenied("Malformed Basic credentials.", status=401)
        with self.store.read() as conn:
            row = accounts.user_row(conn, username)
        token = ""
        if row is not None and not row["disabled"]:
            token = hmac.new(
                self._key, f"{row['username']}\0{password}\0{row['password_hash']}".encode(), hashlib.sha256
            ).hexdigest()
            with self._lock:
                expiry = self._basic_ok.get(token)
                if expiry is not None and expiry > time.monotonic():
                    return Principal(str(row["username"]), str(row["role"]))
        principal = self.login(username, password, client_ip)  # slow path: argon2 + throttling
        if not token:  # the account appeared between the two reads; do not cache
            return principal
        with self._lock:
            self._basic_ok[token] = time.monotonic() + 60
            while len(self._basic_ok) > 512:
                self._basic_ok.popitem(last=False)
        return principal

    # -- requests
    def authenticate(self, request: Any) -> Principal | None:
        """The principal behind a request (cookie or Basic; the open principal in open mode), or None."""
        if request is None:
            return OPEN_PRINCIPAL if access_mode(self.store) == "open" else None
        headers = _headers(request)
        if access_mode(self.store) == "open":
            host = _host_of(headers.get("host", ""))
            if is_loopback(host):
                return OPEN_PRINCIPAL
            raise AccessDenied(
                "Open mode answers only on localhost. Create an account to serve other addresses.", status=403
            )
        basic = self.principal_from_basic(headers.get("authorization", ""), _client_ip(request))
        if basic is not None:
            return basic
        return self.principal_from_cookie(_cookies(request).get(COOKIE_NAME))

    def require_lead(self, request: Any) -> Principal:
        principal = self.authenticate(request)
        if principal is None:
            raise AccessDenied("Sign in as a team lead or admin to use this.", status=401)
        if principal.role not in ("lead", "admin"):
            raise AccessDenied("This needs a team lead or admin account.", status=403)
        return principal

    def require_admin(self, request: Any) -> Principal:
        principal = self.require_lead(request)
        if not principal.is_admin:
            raise AccessDenied("Only an admin can manage accounts.", status=403)
        return principal


def _headers(request: Any) -> dict[str, str]:
    headers = getattr(request, "headers", None) or {}
    return {str(k).lower(): str(v) for k, v in dict(headers).items()}


def _cookies(request: Any) -> dict[str, str]:
    cookies = getattr(request, "cookies", None)
    if cookies:
        return {str(k): str(v) for k, v in dict(cookies).items()}
    from http.cookies import SimpleCookie

    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(_headers(request).get("cookie", ""))
    except Exception:  # a malformed Cookie header is just no cookie
        return {}
    return {k: m.value for k, m in jar.items()}


def _client_ip(request: Any) -> str:
    client = getattr(request, "client", None)
    host = getattr(client, "host", None) if client is not None else None
    return str(host or "unknown")


# ---- one service per Store
_services: weakref.WeakKeyDictionary[Store, Auth] = weakref.WeakKeyDictionary()
_services_lock = threading.Lock()


def auth_for(store: Store, settings: Settings | None = None) -> Auth:
    """The Store's auth service: made with `settings` the first time (build_app does that), then reused."""
    with _services_lock:
        service = _services.get(store)
        if service is None:
            service = Auth(store, settings)
            _services[store] = service
        return service


def _service(request: Any, store: Store | None) -> Auth:
    if store is not None:
        return auth_for(store)
    scope = getattr(request, "scope", None)
    if scope is None and request is not None:
        inner = getattr(request, "request", None)  # gr.Request wraps the Starlette request
        scope = getattr(inner, "scope", None)
    service = scope.get(SCOPE_KEY) if isinstance(scope, dict) else None
    if not isinstance(service, Auth):
        raise AccessDenied("Sign-in is not configured on this server.", status=401)
    return service


def require_lead(request: Any, store: Store | None = None) -> Principal:
    """The signed-in lead or admin behind `request`; raises AccessDenied (401/403/429) otherwise."""
    return _service(request, store).require_lead(request)


def require_admin(request: Any, store: Store | None = None) -> Principal:
    """The signed-in admin behind `request`; raises AccessDenied otherwise."""
    return _service(request, store).require_admin(request)
