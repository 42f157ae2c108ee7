"""Online, consistent backups and restores of Athena's database.

SQLite: the backup API copies a consistent snapshot while interviews keep writing, and restores page by page
into the live file under its write lock. PostgreSQL: `pg_dump --format=custom` (one snapshot, so consistent while
the app runs) and `pg_restore --clean`; both must be installed (Debian: postgresql-client) and at least as new
as the server.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from store import migrations
from store.db import Store, StoreError, normalise_url

log = logging.getLogger(__name__)

PG_TIMEOUT_S = 3600


class BackupError(StoreError):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    method: str  # "sqlite-backup-api" | "pg_dump"
    bytes: int


def backup(store: Store, dest: Path) -> BackupResult:
    """Write a consistent copy of the store's database to `dest` (a file; refuses to overwrite one)."""
    dest = Path(dest)
    if dest.exists():
        raise BackupError(f"{dest} already exists; choose a new file name (backups never overwrite).")
    if not dest.parent.is_dir():
        raise BackupError(f"The folder {dest.parent} does not exist.")
    partial = dest.with_name(dest.name + ".partial")
    try:
        method = _sqlite_backup(store, partial) if store.dialect == "sqlite" else _pg_dump(store, partial)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    size = dest.stat().st_size
    log.info(
        "backup written", extra={"path": str(dest), "method": method, "bytes": size, "database": store.where}
    )
    return BackupResult(dest, method, size)


def restore(store: Store, src: Path) -> str:
    """Replace the store's database contents with the backup in `src`; returns the method used."""
    src = Path(src)
    if not src.is_file():
        raise BackupError(f"There is no backup file {src}.")
    method = _sqlite_restore(store, src) if store.dialect == "sqlite" else _pg_restore(store, src)
    store.engine.dispose()  # pooled connections may cache the old schema
    log.info("backup restored", extra={"path": str(src), "method": method, "database": store.where})
    return method


# ---- SQLite
def _sqlite_backup(store: Store, dest: Path) -> str:
    path = store.sqlite_path
    assert path is not None
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(dest)
    try:
        source.backup(target, pages=1024)  # in steps, so writers are never held up for long
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"The backup failed its integrity check: {check}")
    except sqlite3.Error as exc:
        raise BackupError(f"Cannot back up {store.where}: {exc}") from None
    finally:
        target.close()
        source.close()
    return "sqlite-backup-api"


def _sqlite_restore(store: Store, src: Path) -> str:
    try:
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{src} is damaged (it fails SQLite's integrity check).")
            _check_version(_sqlite_versions(source), src)
            path = store.sqlite_path
            assert path is not None
            target = sqlite3.connect(path, timeout=30)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{src} is not an Athena SQLite backup: {exc}") from None
    return "sqlite-backup-api"


def _sqlite_versions(conn: sqlite3.Connection) -> dict[int, str]:
    has = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
    ).fetchone()
    if not has:
        return {}
    return {int(v): str(n) for v, n in conn.execute("SELECT version, name FROM schema_migrations")}


def _check_version(applied: dict[int, str], src: Path) -> None:
    if not applied:
        raise BackupError(f"{src} holds no Athena database (it has no schema_migrations table).")
    try:
        migrations.check_not_newer(applied, str(src))
    except migrations.MigrationError as exc:
        raise BackupError(str(exc)) from None


# ---- PostgreSQL
def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client tools (Debian: postgresql-client) "
            "at least as new as the server."
        )
    return found


def libpq_args(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without its password, and the environment that carries the password."""
    parsed = make_url(normalise_url(url))
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} took longer than {PG_TIMEOUT_S} s and was stopped.") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        raise BackupError(f"{what} failed: {lines[-1] if lines else f'exit code {done.returncode}'}")


def _pg_dump(store: Store, dest: Path) -> str:
    url, env = libpq_args(store.url)
    _run(
        [
            pg_tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={dest}",
            f"--dbname={url}",
        ],
        env,
        "pg_dump",
    )
    return "pg_dump"


def _pg_restore(store: Store, src: Path) -> str:
    url, env = libpq_args(store.url)
    restore_tool = pg_tool("pg_restore")
    listing = subprocess.run([restore_tool, "--list", str(src)], capture_output=True, text=True, check=False)
    if listing.returncode != 0 or "schema_migrations" not in listing.stdout:
        raise BackupError(f"{src} is not an Athena PostgreSQL backup (made with `python -m store backup`).")
    store.engine.dispose()
    _run(
        [
            restore_tool,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={url}",
            str(src),
        ],
        env,
        "pg_restore",
    )
    return "pg_restore"
