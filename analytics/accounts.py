"""Accounts of team leads and admins: argon2 password hashes, create/disable/enable/passwd/list, the admin
bootstrap from ATHENA_ADMIN_PASSWORD, and an audit record for every change."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, RowMapping, func, insert, select, update

from store import Store
from store.repo import utcnow
from store.schema import audit_log, users

log = logging.getLogger(__name__)

ROLES = ("admin", "lead")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.@-]{0,63}")
_hasher = PasswordHasher()  # argon2id with the library's recommended (RFC 9106 low-memory) parameters


@functools.cache
def _dummy_hash() -> str:
    """A real hash of a random password: checking against it when a user does not exist costs as much time
    as a real check, so response times do not tell which user names exist."""
    return _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """An account operation cannot be done; the message says why, fit for a person."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    disabled: bool
    created_at: datetime | None

    @classmethod
    def from_row(cls, row: RowMapping) -> Account:
        return cls(
            id=int(row["id"]),
            username=str(row["username"]),
            role=str(row["role"]),
            disabled=bool(row["disabled"]),
            created_at=row["created_at"],
        )


def normalise_username(username: str) -> str:
    """User names are case-insensitive: stored and compared in lower case."""
    name = (username or "").strip().lower()
    if not _USERNAME.fullmatch(name):
        raise AccountError(
            "A user name is 1 to 64 characters: letters, digits and . _ @ - (starting with a letter or digit)"
        )
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"A password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"A password can have at most {MAX_PASSWORD} characters")
    return password


def check_role(role: str) -> str:
    value = (role or "").strip().lower()
    if value not in ROLES:
        raise AccountError(f"A role is one of {', '.join(ROLES)}, not {role!r}")
    return value


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing or malformed hash takes as long and says False."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password or "") and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_fingerprint(password_hash: str) -> str:
    """A short value that changes when the password does (sessions signed before a change stop working)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def record_audit(conn: Connection, actor: str, action: str, target: str | None, detail: Any = None) -> None:
    """Append one audit record inside the caller's transaction."""
    detail_text = (
        None if detail is None else json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    )
    conn.execute(
        insert(audit_log).values(at=utcnow(), actor=actor, action=action, target=target, detail=detail_text)
    )


# ---- reading
def user_row(conn: Connection, username: str) -> RowMapping | None:
    """The users row for this name (including the password hash), or None."""
    try:
        name = normalise_username(username)
    except AccountError:
        return None
    return conn.execute(select(users).where(users.c.username == name)).mappings().first()


def list_accounts(store: Store) -> list[Account]:
    with store.read() as conn:
        rows = conn.execute(select(users).order_by(users.c.username)).mappings()
        return [Account.from_row(r) for r in rows]


def count_accounts(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


# ---- changing
def create_account(store: Store, username: str, password: str, role: str = "lead", *, actor: str) -> Account:
    name = normalise_username(username)
    role = check_role(role)
    password_hash = hash_password(password)
    with store.write() as conn:
        if user_row(conn, name) is not None:
            raise AccountError(f"There is already an account named {name}")
        conn.execute(
            insert(users).values(
                username=name, password_hash=password_hash, role=role, disabled=False, created_at=utcnow()
            )
        )
        record_audit(conn, actor, "account.create", name, {"role": role})
        row = user_row(conn, name)
    assert row is not None
    log.info("account created", extra={"account": name, "role": role, "actor": actor})
    return Account.from_row(row)


def _require(conn: Connection, username: str) -> RowMapping:
    row = user_row(conn, username)
    if row is None:
        raise AccountError(f"There is no account named {username.strip().lower()}")
    return row


def _active_admins(conn: Connection) -> int:
    stmt = select(func.count()).select_from(users).where(users.c.role == "admin", users.c.disabled.is_(False))
    return int(conn.execute(stmt).scalar_one())


def set_disabled(store: Store, username: str, disabled: bool, *, actor: str) -> Account:
    """Disable (sign-ins and existing sessions stop working) or enable an account."""
    with store.write() as conn:
        row = _require(conn, username)
        if disabled and row["role"] == "admin" and not row["disabled"] and _active_admins(conn) <= 1:
            raise AccountError("This is the last active admin; create or enable another admin first")
        conn.execute(update(users).where(users.c.id == row["id"]).values(disabled=disabled))
        record_audit(conn, actor, "account.disable" if disabled else "account.enable", row["username"])
        row = _require(conn, username)
    log.info("account changed", extra={"account": row["username"], "disabled": disabled, "actor": actor})
    return Account.from_row(row)


def set_password(store: Store, username: str, password: str, *, actor: str) -> Account:
    """Set a new password; sessions signed with the old one stop working."""
    password_hash = hash_password(password)
    with store.write() as conn:
        row = _require(conn, username)
        conn.execute(update(users).where(users.c.id == row["id"]).values(password_hash=password_hash))
        record_audit(conn, actor, "account.password", row["username"])
        row = _require(conn, username)
    log.info("account password changed", extra={"account": row["username"], "actor": actor})
    return Account.from_row(row)


def set_role(store: Store, username: str, role: str, *, actor: str) -> Account:
    role = check_role(role)
    with store.write() as conn:
        row = _require(conn, username)
        if row["role"] == "admin" and role != "admin" and not row["disabled"] and _active_admins(conn) <= 1:
            raise AccountError("This is the last active admin; create or enable another admin first")
        conn.execute(update(users).where(users.c.id == row["id"]).values(role=role))
        record_audit(conn, actor, "account.role", row["username"], {"role": role})
        row = _require(conn, username)
    return Account.from_row(row)


def ensure_admin(store: Store, password: str) -> bool:
    """Create the `admin` account with `password` when no admin exists yet; True if it was created.

    An empty password does nothing. A too-short one raises AccountError naming ATHENA_ADMIN_PASSWORD.
    """
    if not password:
        return False
    try:
        check_password(password)
    except AccountError as exc:
        raise AccountError(f"ATHENA_ADMIN_PASSWORD: {exc}") from None
    with store.read() as conn:
        has_admin = conn.execute(
            select(func.count()).select_from(users).where(users.c.role == "admin")
        ).scalar_one()
        taken = user_row(conn, "admin") is not None
    if has_admin:
        return False
    if taken:
        raise AccountError(
            "ATHENA_ADMIN_PASSWORD is set but the user name admin belongs to a lead; "
            "create an admin with python -m analytics.users add NAME --role admin"
        )
    create_account(store, "admin", password, "admin", actor="system:ATHENA_ADMIN_PASSWORD")
    return True
