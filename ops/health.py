"""Liveness and readiness: `/health` says the process answers; `/ready` says it can run interviews now."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from settings import Settings
from store import Store
from store.migrations import LATEST_VERSION

log = logging.getLogger(__name__)


@dataclass
class Readiness:
    """Whether this process should receive traffic; `draining` is set while it shuts down."""

    settings: Settings
    store: Store
    bank_size: int
    draining: bool = False
    started: float = field(default_factory=time.monotonic)

    def disk_path(self) -> Path:
        sqlite = self.store.sqlite_path
        return sqlite.parent if sqlite is not None else Path.cwd()

    def check(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {
            "database": self._database(),
            "interviewer": self._interviewer(),
            "disk": self._disk(),
        }
        if self.draining:
            checks["shutdown"] = {"ok": False, "detail": "shutting down: finishing running interviews"}
        ok = all(c["ok"] for c in checks.values())
        return ok, {"status": "ready" if ok else "not ready", "checks": checks}

    def _database(self) -> dict[str, Any]:
        began = time.perf_counter()
        try:
            with self.store.read() as conn:
                conn.execute(text("SELECT 1"))
            version = self.store.schema_version()
        except SQLAlchemyError as exc:
            log.warning("readiness: database unreachable", extra={"error": type(exc).__name__})
            return {"ok": False, "detail": f"{self.store.where} is not reachable"}
        latency_ms = round((time.perf_counter() - began) * 1000, 1)
        if version != LATEST_VERSION:
            return {
                "ok": False,
                "detail": f"schema version {version}, expected {LATEST_VERSION}",
                "latency_ms": latency_ms,
            }
        return {
            "ok": True,
            "backend": self.store.dialect,
            "schema_version": version,
            "latency_ms": latency_ms,
        }

    def _interviewer(self) -> dict[str, Any]:
        if self.bank_size <= 0:
            return {"ok": False, "detail": "the question bank is empty"}
        if self.settings.realtime_enabled:
            return {"ok": True, "brain": "realtime", "model": self.settings.realtime_model}
        return {"ok": True, "brain": "keyless", "local_voice": bool(self.settings.local_voice)}

    def _disk(self) -> dict[str, Any]:
        path = self.disk_path()
        try:
            free_mb = shutil.disk_usage(path).free // (1024 * 1024)
        except OSError as exc:
            return {"ok": False, "detail": f"cannot read free space of {path}: {exc.strerror}"}
        wanted = int(self.settings.min_free_disk_mb)
        out: dict[str, Any] = {"ok": free_mb >= wanted, "free_mb": int(free_mb), "min_free_mb": wanted}
        if not out["ok"]:
            out["detail"] = f"only {free_mb} MB free at {path}"
        return out
