"""The SQL console: run one read-only statement over the app database, within a time limit and a row cap.

`console_for(store, settings).run(sql) -> ConsoleResult` or `ConsoleError` (`.status` 400 for a statement the
console refuses or that fails, 503 when the console cannot serve; `str()` is the message for the user).
Statements run in worker processes (`analytics.console_worker`) on the console's copy of the app database
(`analytics.console_snapshot`: the exposed tables only, refreshed when the data changes): each worker checks the
statement on DuckDB's parse tree and plan (`analytics.console_guard`), runs it read-only with external access
off and the configuration locked, interrupts it at the time limit and caps its memory; the parent kills a
worker that does not answer within a grace period after the limit and starts a fresh one. Refreshing the copy
is not counted against a statement's time limit.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.console_snapshot import ConsoleSnapshots
from analytics.console_worker import MAX_FRAME
from analytics.duck import DuckError
from interview.sandbox import FrameTooLarge, PipeClosed, read_frame, write_frame
from settings import ROOT, Settings
from store import Store

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).resolve().parent / "console_worker.py"
MAX_CELL_CHARS = 10_000
KILL_GRACE_S = 1.0
SNAPSHOT_OPEN_S = 5.0
START_TIMEOUT_S = 30.0


class ConsoleError(Exception):
    """A console statement was refused or failed; str() says why, `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class ConsoleResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    elapsed_ms: float
    sql: str = field(default="", repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "truncated": self.truncated,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


@dataclass(frozen=True)
class ConsoleLimits:
    timeout_s: float = 2.0
    max_rows: int = 1000
    memory_mb: int = 1024
    workers: int = 2
    max_cell_chars: int = MAX_CELL_CHARS

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleLimits:
        return cls(
            timeout_s=float(settings.console_timeout_s),
            max_rows=int(settings.console_max_rows),
            memory_mb=int(settings.console_memory_mb),
        )


class _WorkerGone(Exception):
    pass


class _Worker:
    """One console worker process and its pipes."""

    def __init__(self, workdir: Path, limits: ConsoleLimits):
        env = {
            "PATH": os.defpath,
            "HOME": str(workdir),
            "LC_ALL": "C.UTF-8",
            "TMPDIR": str(workdir),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            env=env,
            cwd=str(workdir),
            close_fds=True,
            start_new_session=True,
        )
        self.snapshot = ""  # the copy of the database this worker has open
        threads = max(1, min(4, os.cpu_count() or 1))
        self._send(
            {
                "root": str(ROOT),
                "memory_mb": limits.memory_mb,
                "threads": threads,
            }
        )
        hello = self._receive(time.monotonic() + START_TIMEOUT_S)
        if hello is None or not hello.get("ready"):
            self.kill()
            reason = (hello or {}).get("error") or "it did not start"
            raise ConsoleError(f"The SQL console is unavailable: {reason}", status=503)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process that ignores SIGKILL
            log.error("console worker did not exit", extra={"pid": self.proc.pid})
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()

    def _send(self, message: dict[str, Any]) -> None:
        import json

        assert self.proc.stdin is not None
        try:
            write_frame(self.proc.stdin, json.dumps(message).encode())
        except (BrokenPipeError, OSError):
            raise _WorkerGone() from None

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        import json

        assert self.proc.stdout is not None
        try:
            body = read_frame(self.proc.stdout.fileno(), deadline, MAX_FRAME)
        except (PipeClosed, FrameTooLarge):
            raise _WorkerGone() from None
        if body is None:
            return None
        message = json.loads(body)
        return message if isinstance(message, dict) else None

    def run(self, request: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        """The worker's reply, or None when it missed the deadline (the caller kills it)."""
        self._send(request)
        return self._receive(deadline)


class Console:
    """Runs console statements for one Store on a small set of worker processes (started on first use)."""

    def __init__(self, store: Store, limits: ConsoleLimits | None = None):
        self.limits = limits or ConsoleLimits()
        self._workdir = Path(tempfile.mkdtemp(prefix="athena-console-"))
        self.snapshots = ConsoleSnapshots(store, self._workdir)
        self._idle: list[_Worker] = []
        self._slots = threading.BoundedSemaphore(self.limits.workers)
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def _worker(self) -> Iterator[_Worker]:
        if not self._slots.acquire(timeout=self.limits.timeout_s + KILL_GRACE_S + 5):
            raise ConsoleError("The SQL console is busy; try again in a moment.", status=503)
        worker: _Worker | None = None
        try:
            with self._lock:
                if self._closed:
                    raise ConsoleError("The SQL console is shut down.", status=503)
                while self._idle and worker is None:
                    candidate = self._idle.pop()
                    if candidate.alive():
                        worker = candidate
                    else:
                        candidate.kill()
            if worker is None:
                worker = _Worker(self._workdir, self.limits)
            yield worker
        finally:
            if worker is not None:
                with self._lock:
                    if worker.alive() and not self._closed:
                        self._idle.append(worker)
                    else:
                        worker.kill()
            self._slots.release()

    def run(self, sql: str) -> ConsoleResult:
        if not isinstance(sql, str) or not sql.strip():
            raise ConsoleError("Type a query first, e.g. SELECT * FROM employees LIMIT 10.")
        limits = self.limits
        try:
            snapshot = self.snapshots.current()
        except (DuckError, TimeoutError) as exc:
            raise ConsoleError(
                f"The SQL console cannot read the database right now: {exc}", status=503
            ) from None
        request = {
            "snapshot": str(snapshot),
            "sql": sql,
            "timeout_s": limits.timeout_s,
            "max_rows": limits.max_rows,
            "max_cell_chars": limits.max_cell_chars,
        }
        started = time.monotonic()
        with self._worker() as worker:
            # Opening a new copy of the database is not part of the statement: allow for it.
            opening = SNAPSHOT_OPEN_S if worker.snapshot != request["snapshot"] else 0.0
            deadline = time.monotonic() + limits.timeout_s + KILL_GRACE_S + opening
            worker.snapshot = str(request["snapshot"])
            try:
                reply = worker.run(request, deadline)
            except _WorkerGone:
                reply = {"ok": False, "kind": "crashed", "error": ""}
            if reply is None:
                log.warning("console statement overran; worker killed", extra={"pid": worker.proc.pid})
                worker.kill()
                reply = {"ok": False, "kind": "timeout", "error": ""}
            elif reply.get("kind") in ("crashed", "memory"):
                worker.kill()  # start clean after a crash or an allocation failure
        if reply.get("ok"):
            result = ConsoleResult(
                columns=list(reply["columns"]),
                rows=list(reply["rows"]),
                truncated=bool(reply["truncated"]),
                elapsed_ms=float(reply["elapsed_ms"]),
                sql=sql,
            )
            log.info(
                "console statement",
                extra={
                    "rows": len(result.rows),
                    "truncated": result.truncated,
                    "elapsed_ms": result.elapsed_ms,
                },
            )
            return result
        kind = reply.get("kind")
        total = time.monotonic() - started
        log.info("console statement refused", extra={"kind": kind, "elapsed_s": round(total, 3)})
        if kind == "timeout":
            raise ConsoleError(
                f"The query ran longer than {limits.timeout_s:g} s and was stopped. Narrow it down "
                "(a WHERE clause, fewer joins) or aggregate it."
            )
        if kind == "memory":
            raise ConsoleError(
                f"The query needed more than the console's {limits.memory_mb} MB of memory and was "
                "stopped. Aggregate it or select fewer or shorter values."
            )
        if kind == "crashed":
            raise ConsoleError(
                "The query stopped the console's worker; it has been restarted. Simplify the query "
                "and try again."
            )
        if kind == "unavailable":
            raise ConsoleError(
                f"The SQL console cannot read the database right now: {reply.get('error')}", status=503
            )
        raise ConsoleError(str(reply.get("error") or "The query failed."))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()
        self.snapshots.close()
        shutil.rmtree(self._workdir, ignore_errors=True)


_consoles: weakref.WeakKeyDictionary[Store, Console] = weakref.WeakKeyDictionary()
_consoles_lock = threading.Lock()


def console_for(store: Store, settings: Settings | None = None) -> Console:
    """The Store's console: made with `settings`' limits the first time, then reused."""
    with _consoles_lock:
        console = _consoles.get(store)
        if console is None or console._closed:
            console = Console(store, ConsoleLimits.from_settings(settings) if settings is not None else None)
            _consoles[store] = console
            weakref.finalize(store, console.close)
        return console


def close_console(store: Store) -> None:
    with _consoles_lock:
        console = _consoles.pop(store, None)
    if console is not None:
        console.close()
