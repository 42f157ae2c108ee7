"""Accounts, roles, sessions, throttling, the open-mode rules, the sign-in pages and the accounts CLI."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from analytics import accounts
from analytics.auth import (
    COOKIE_NAME,
    AccessDenied,
    Auth,
    Principal,
    StartupRefused,
    Throttle,
    access_mode,
    auth_for,
    check_bind,
    is_loopback,
    require_admin,
    require_lead,
    session_secret_path,
)
from analytics.users import run as users_cli
from settings import load_settings
from store import Store
from store.schema import audit_log, users

ROOT = Path(__file__).resolve().parent.parent


def fake_request(
    host: str = "127.0.0.1:7860",
    cookie: str | None = None,
    authorization: str | None = None,
    client: str = "10.0.0.9",
) -> Any:
    headers = {"host": host}
    if authorization:
        headers["authorization"] = authorization
    return SimpleNamespace(
        headers=headers, cookies={COOKIE_NAME: cookie} if cookie else {}, client=SimpleNamespace(host=client)
    )


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def lead(any_store: Store) -> accounts.Account:
    return accounts.create_account(any_store, "Lead.One", "lead-password", "lead", actor="test")


# ---- passwords and accounts
def test_passwords_are_argon2_and_verify() -> None:
    hashed = accounts.hash_password("correct horse")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert accounts.verify_password(hashed, "correct horse")
    assert not accounts.verify_password(hashed, "wrong horse")
    assert not accounts.verify_password("not-a-hash", "correct horse")
    assert not accounts.verify_password(None, "correct horse")


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("", "password123", "lead", "A user name is 1 to 64 characters"),
        ("bad name", "password123", "lead", "A user name is 1 to 64 characters"),
        ("x" * 65, "password123", "lead", "A user name is 1 to 64 characters"),
        ("-dash", "password123", "lead", "A user name is 1 to 64 characters"),
        ("ok", "short", "lead", "A password needs at least 8 characters"),
        ("ok", "p" * 1025, "lead", "A password can have at most 1024 characters"),
        ("ok", "password123", "candidate", "A role is one of admin, lead, not 'candidate'"),
    ],
)
def test_bad_account_input_says_why(
    sqlite_store: Store, name: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(accounts.AccountError) as err:
        accounts.create_account(sqlite_store, name, password, role, actor="test")
    assert str(err.value).startswith(message)


def test_accounts_are_case_insensitive_unique_and_audited(any_store: Store, lead: accounts.Account) -> None:
    assert lead.username == "lead.one" and lead.role == "lead" and not lead.disabled
    with pytest.raises(accounts.AccountError, match="There is already an account named lead.one"):
        accounts.create_account(any_store, "LEAD.ONE", "other-password", actor="test")
    accounts.set_disabled(any_store, "lead.one", True, actor="admin1")
    accounts.set_password(any_store, "Lead.One", "new-password", actor="admin1")
    with any_store.read() as conn:
        actions = [
            (r.actor, r.action, r.target) for r in conn.execute(select(audit_log).order_by(audit_log.c.id))
        ]
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert actions == [
        ("test", "account.create", "lead.one"),
        ("admin1", "account.disable", "lead.one"),
        ("admin1", "account.password", "lead.one"),
    ]
    assert "new-password" not in stored and accounts.verify_password(stored, "new-password")


def test_the_last_active_admin_cannot_be_disabled_or_demoted(sqlite_store: Store) -> None:
    accounts.create_account(sqlite_store, "boss", "boss-password", "admin", actor="test")
    with pytest.raises(accounts.AccountError, match="last active admin"):
        accounts.set_disabled(sqlite_store, "boss", True, actor="test")
    with pytest.raises(accounts.AccountError, match="last active admin"):
        accounts.set_role(sqlite_store, "boss", "lead", actor="test")
    accounts.create_account(sqlite_store, "boss2", "boss-password", "admin", actor="test")
    assert accounts.set_disabled(sqlite_store, "boss", True, actor="test").disabled


def test_admin_bootstrap_from_the_setting(any_store: Store) -> None:
    assert accounts.ensure_admin(any_store, "") is False
    assert access_mode(any_store) == "open"
    assert accounts.ensure_admin(any_store, "admin-password") is True
    assert accounts.ensure_admin(any_store, "another-password") is False  # an admin exists: nothing changes
    [admin] = accounts.list_accounts(any_store)
    assert (admin.username, admin.role) == ("admin", "admin")
    assert Auth(any_store).login("admin", "admin-password", "1.2.3.4") == Principal("admin", "admin")


def test_admin_bootstrap_refuses_a_short_password(sqlite_store: Store) -> None:
    with pytest.raises(accounts.AccountError, match="ATHENA_ADMIN_PASSWORD: A password needs at least 8"):
        accounts.ensure_admin(sqlite_store, "short")


# ---- mode and the role check
def test_open_mode_until_an_account_exists(any_store: Store) -> None:
    assert access_mode(any_store) == "open"
    principal = require_lead(fake_request(), any_store)
    assert principal.open_mode and principal.is_admin
    assert require_lead(None, any_store).open_mode  # in-process call
    accounts.create_account(any_store, "someone", "password123", actor="test")
    assert access_mode(any_store) == "accounts"
    with pytest.raises(AccessDenied) as err:
        require_lead(fake_request(), any_store)
    assert err.value.status == 401 and str(err.value) == "Sign in as a team lead or admin to use this."
    with pytest.raises(AccessDenied):
        require_lead(None, any_store)


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:7860", "10.0.0.5:7860", "attacker.localhost.evil.com"]
)
def test_open_mode_answers_only_to_loopback_host_names(sqlite_store: Store, host: str) -> None:
    with pytest.raises(AccessDenied) as err:
        require_lead(fake_request(host=host), sqlite_store)
    assert err.value.status == 403 and "Open mode answers only on localhost" in str(err.value)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.5.5", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("app.localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_session_cookie_round_trip_and_invalidation(any_store: Store, lead: accounts.Account) -> None:
    auth = Auth(any_store)
    cookie = auth.issue_cookie(Principal("lead.one", "lead"))
    assert require_lead(fake_request(cookie=cookie), any_store) == Principal("lead.one", "lead")
    body, signature = cookie.split(".")
    for forged in (f"{body}.{signature[:-2]}AA", f"{body[:-2]}AA.{signature}", "garbage", "a.b.c", ""):
        assert auth.principal_from_cookie(forged) is None
    assert auth.principal_from_cookie(cookie, now=time.time() + auth.session_seconds + 5) is None  # expired
    accounts.set_password(any_store, "lead.one", "changed-password", actor="test")
    assert auth.principal_from_cookie(cookie) is None  # a new password ends old sessions
    fresh = auth.issue_cookie(Principal("lead.one", "lead"))
    accounts.set_disabled(any_store, "lead.one", True, actor="test")
    assert auth.principal_from_cookie(fresh) is None  # so does disabling the account


def test_a_cookie_signed_with_another_key_is_refused(
    any_store: Store, lead: accounts.Account, tmp_path: Path
) -> None:
    other = Auth(any_store, load_settings({"ATHENA_SESSION_SECRET": "x" * 40}, env_file=tmp_path / "n.env"))
    cookie = other.issue_cookie(Principal("lead.one", "lead"))
    assert Auth(any_store).principal_from_cookie(cookie) is None
    assert other.principal_from_cookie(cookie) == Principal("lead.one", "lead")


def test_generated_session_key_is_private_and_stable(sqlite_store: Store) -> None:
    Auth(sqlite_store)
    path = session_secret_path(sqlite_store)
    assert path.parent == sqlite_store.sqlite_path.parent
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    key = path.read_bytes()
    Auth(sqlite_store)
    assert path.read_bytes() == key and len(key) >= 32


def test_basic_credentials(any_store: Store, lead: accounts.Account) -> None:
    assert (
        require_lead(fake_request(authorization=basic("LEAD.one", "lead-password")), any_store).username
        == "lead.one"
    )
    for header in (
        basic("lead.one", "wrong"),
        basic("nobody", "lead-password"),
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ):
        with pytest.raises(AccessDenied) as err:
            require_lead(fake_request(authorization=header), any_store)
        assert err.value.status == 401


def test_admin_only_actions(any_store: Store, lead: accounts.Account) -> None:
    accounts.create_account(any_store, "boss", "boss-password", "admin", actor="test")
    with pytest.raises(AccessDenied) as err:
        require_admin(fake_request(authorization=basic("lead.one", "lead-password")), any_store)
    assert err.value.status == 403 and str(err.value) == "Only an admin can manage accounts."
    assert require_admin(fake_request(authorization=basic("boss", "boss-password")), any_store).is_admin


def test_require_lead_finds_the_service_on_the_request_scope(
    any_store: Store, lead: accounts.Account
) -> None:
    auth = auth_for(any_store)
    request = fake_request(authorization=basic("lead.one", "lead-password"))
    request.scope = {"athena.auth": auth}
    assert require_lead(request).username == "lead.one"
    with pytest.raises(AccessDenied, match="Sign-in is not configured"):
        require_lead(fake_request())


# ---- throttling
def test_sign_in_is_throttled_per_user_and_per_ip(any_store: Store, lead: accounts.Account) -> None:
    auth = Auth(any_store)
    for _ in range(5):
        with pytest.raises(AccessDenied) as err:
            auth.login("lead.one", "wrong", "10.0.0.1")
        assert err.value.status == 401
    with pytest.raises(AccessDenied) as err:
        auth.login("lead.one", "lead-password", "10.0.0.2")  # right password, other IP: the user is throttled
    assert err.value.status == 429 and "Too many failed sign-ins" in str(err.value) and err.value.retry_after
    with pytest.raises(AccessDenied) as err:
        auth.login("someone-else", "whatever", "10.0.0.1")  # other user, same IP: the IP is throttled
    assert err.value.status == 429


def test_throttle_window_slides() -> None:
    throttle = Throttle(max_failures=3, window_s=60)
    throttle.fail(["k"], now=0)
    throttle.fail(["k"], now=10)
    assert throttle.retry_after(["k"], now=20) is None
    throttle.fail(["k"], now=20)
    assert throttle.retry_after(["k"], now=30) == 31
    assert throttle.retry_after(["k"], now=61) is None  # the first failure left the window
    throttle.clear("k")
    assert throttle.retry_after(["k"], now=62) is None


def test_throttle_memory_is_bounded() -> None:
    throttle = Throttle(max_failures=1, window_s=60, max_keys=100)
    for i in range(1000):
        throttle.fail([f"ip:{i}"], now=1)
    assert len(throttle._failures) == 100


# ---- the start-up rule
def test_non_loopback_bind_needs_accounts(sqlite_store: Store) -> None:
    check_bind("127.0.0.1", sqlite_store)
    check_bind("localhost", sqlite_store)
    with pytest.raises(StartupRefused) as err:
        check_bind("0.0.0.0", sqlite_store)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("refusing to listen on 0.0.0.0 without accounts")
    accounts.create_account(sqlite_store, "boss", "boss-password", "admin", actor="test")
    check_bind("0.0.0.0", sqlite_store)


def test_app_refuses_to_start_on_a_public_address_without_accounts(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "ATHENA_HOST": "0.0.0.0",
        "ATHENA_ADMIN_PASSWORD": "",
        "ATHENA_LOCAL_VOICE": "false",
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("athena:")]
    assert lines == [lines[0]] and lines[0].startswith(
        "athena: refusing to listen on 0.0.0.0 without accounts"
    )
    assert "Traceback" not in result.stderr


# ---- the sign-in pages
@pytest.fixture
def web(settings: Any) -> Any:
    from app import build_app

    app = build_app(settings.replace(local_voice=False))
    accounts.create_account(app.store, "lead.one", "lead-password", "lead", actor="test")
    with TestClient(app.api, base_url="http://127.0.0.1") as client:
        yield client
    app.close()


def test_sign_in_sets_a_safe_cookie_and_sign_out_clears_it(web: TestClient) -> None:
    page = web.get("/login?next=/somewhere")
    assert page.status_code == 200 and 'name="next" value="/somewhere"' in page.text
    response = web.post(
        "/login",
        data={"username": "lead.one", "password": "lead-password", "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE_NAME}=") and "httponly" in cookie and "samesite=lax" in cookie
    assert web.get("/api/whoami").json() == {"user": "lead.one", "role": "lead", "mode": "accounts"}
    web.get("/logout")
    assert web.get("/api/whoami").status_code == 401


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x"]
)
def test_sign_in_never_redirects_off_site(web: TestClient, target: str) -> None:
    response = web.post(
        "/login",
        data={"username": "lead.one", "password": "lead-password", "next": target},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_wrong_password_page_and_throttling(web: TestClient) -> None:
    for _ in range(5):
        response = web.post("/login", data={"username": "lead.one", "password": "nope"})
        assert response.status_code == 401 and "Wrong user name or password." in response.text
    response = web.post("/login", data={"username": "lead.one", "password": "lead-password"})
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0


def test_sign_in_from_another_site_is_refused(web: TestClient) -> None:
    response = web.post(
        "/login",
        data={"username": "lead.one", "password": "lead-password"},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403 and COOKIE_NAME not in response.headers.get("set-cookie", "")


def test_login_body_over_the_limit_gets_413(web: TestClient) -> None:
    response = web.post(
        "/login",
        content=b"username=" + b"a" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


# ---- the CLI
def cli(store: Store, *args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = users_cli(["--database-url", store.url, *args], stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_manages_accounts(any_store: Store) -> None:
    assert cli(any_store, "list")[1].startswith("No accounts")
    assert cli(any_store, "add", "Boss", "--role", "admin", "--password-stdin", stdin="boss-password\n") == (
        0,
        "Created boss (admin).\n",
        "",
    )
    assert cli(any_store, "add", "lead.two", "--password-stdin", stdin="lead-password\n")[0] == 0
    assert cli(any_store, "disable", "lead.two") == (0, "lead.two is now disabled.\n", "")
    code, out, _ = cli(any_store, "list")
    assert code == 0 and [line.split("\t")[:3] for line in out.splitlines()] == [
        ["boss", "admin", "active"],
        ["lead.two", "lead", "disabled"],
    ]
    assert cli(any_store, "enable", "lead.two")[0] == 0
    assert cli(any_store, "passwd", "lead.two", "--password-stdin", stdin="another-password\n")[0] == 0
    assert Auth(any_store).login("lead.two", "another-password", "1.1.1.1").username == "lead.two"
    assert cli(any_store, "role", "lead.two", "admin") == (0, "lead.two is now admin.\n", "")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "x", "--password-stdin"), "short\n", "users: A password needs at least 8 characters\n"),
        (("disable", "ghost"), "", "users: There is no account named ghost\n"),
        (("add", "x"), "", "users: No terminal to ask for the password on; use --password-stdin\n"),
    ],
)
def test_cli_errors_are_one_line(
    sqlite_store: Store, args: tuple[str, ...], stdin: str, message: str
) -> None:
    code, out, err = cli(sqlite_store, *args, stdin=stdin)
    assert (code, out, err) == (1, "", message)


def test_cli_runs_as_a_module(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "analytics.users", "add", "boss", "--role", "admin", "--password-stdin"],
        cwd=ROOT,
        env=env,
        input="boss-password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout == "Created boss (admin).\n", result.stderr
