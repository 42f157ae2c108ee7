"""Scheduled backups with retention, and the transcript retention purge, in one background thread.

Several app processes on one PostgreSQL take turns through an advisory lock, and a backup is skipped while the
newest one in the folder is younger than the interval, so replicas and restarts do not pile up backups.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, text

from settings import Settings
from store import Store, StoreError
from store.backup import backup
from store.privacy import purge_transcripts

log = logging.getLogger(__name__)

NAME = re.compile(r"^athena-(\d{8}T\d{6}Z)\.(db|dump)$")
LOCK_KEY = 7428362


def backup_name(store: Store, now: datetime) -> str:
    return f"athena-{now.strftime('%Y%m%dT%H%M%SZ')}.{'db' if store.dialect == 'sqlite' else 'dump'}"


def existing_backups(folder: Path) -> list[Path]:
    """Scheduled backups in `folder`, oldest first (other files are left alone)."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if NAME.match(p.name)), key=lambda p: p.name)


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` scheduled backups; returns the deleted files."""
    old = existing_backups(folder)[:-keep] if keep > 0 else []
    for path in old:
        path.unlink(missing_ok=True)
    return old


class BackupScheduler:
    """Backs up every `backup_interval_hours` into `backup_dir`, keeping `backup_keep`; purges old transcripts."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.folder = Path(settings.backup_dir) if settings.backup_dir else None
        self.interval_s = float(settings.backup_interval_hours) * 3600
        self.keep = int(settings.backup_keep)
        self.retention_days = int(settings.transcript_retention_days)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.folder is not None or self.retention_days > 0

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name="athena-backups", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(min(self.interval_s, 24 * 3600) if self.folder else 24 * 3600)

    def run_once(self, now: datetime | None = None) -> Path | None:
        """One round: purge old transcripts, then back up if due and prune. Never raises."""
        now = now or datetime.now(UTC)
        made: Path | None = None
        try:
            with self._turn() as mine:
                if not mine:
                    return None
                if self.retention_days > 0:
                    purge_transcripts(self.store, self.retention_days, actor="retention")
                if self.folder is not None and self._due(now):
                    made = backup(self.store, self.folder / backup_name(self.store, now)).path
                    prune(self.folder, self.keep)
        except (StoreError, OSError) as exc:
            log.error("scheduled backup failed", extra={"error": str(exc)})
        return made

    def _due(self, now: datetime) -> bool:
        assert self.folder is not None
        backups = existing_backups(self.folder)
        if not backups:
            return True
        match = NAME.match(backups[-1].name)
        assert match is not None
        newest = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return (now - newest).total_seconds() >= self.interval_s * 0.95

    def _turn(self) -> _Turn:
        return _Turn(self.store)


class _Turn:
    """Context manager: True when this process may run the round (PostgreSQL: holds an advisory lock)."""

    def __init__(self, store: Store):
        self.store = store
        self.conn: Connection | None = None

    def __enter__(self) -> bool:
        if self.store.dialect != "postgresql":
            return True
        conn = self.store.engine.connect()
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar())
        conn.commit()
        if got:
            self.conn = conn
        else:
            conn.close()
        return got

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self.conn.commit()
            self.conn.close()
            self.conn = None
