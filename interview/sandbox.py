"""Run untrusted SQL in worker processes: DuckDB read-only, external access off, time, memory and row caps.

Each worker (interview/sandbox_worker.py) is a separate Python process with an address-space limit and no
right to write files; it opens dataset files read-only with the DuckDB configuration locked, allows one
SELECT per request, interrupts queries at their time limit, and is killed and replaced if it does not
answer in time or dies. The parent only unpickles plain standard-library values from it.
"""

from __future__ import annotations

import atexit
import datetime as dt
import decimal
import io
import json
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

WORKER_PATH = Path(__file__).with_name("sandbox_worker.py")
HEADER = struct.Struct(">I")  # a frame: its length, big-endian, then the bytes
_MAX_FRAME = 256 * 1024 * 1024
_START_TIMEOUT_S = 20.0


class SandboxError(Exception):
    """A query was refused or stopped; the message is fit to show the person who wrote it."""

    kind = "error"


class QueryRejected(SandboxError):
    """Not a single read-only SELECT, or it reaches outside the dataset."""

    kind = "rejected"


class QuerySyntaxError(SandboxError):
    kind = "syntax"


class QueryFailed(SandboxError):
    """DuckDB could not bind or run the query (unknown column, bad cast, division by zero...)."""

    kind = "failed"


class QueryTimeout(SandboxError):
    kind = "timeout"


class QueryTooLarge(SandboxError):
    """The query needed more memory than allowed or returned too much data."""

    kind = "too_large"


class SandboxUnavailable(SandboxError):
    """The worker process could not be started."""

    kind = "unavailable"


@dataclass(frozen=True)
class SandboxLimits:
    memory_limit_mb: int = 256  # DuckDB memory_limit
    threads: int = 1  # DuckDB threads per worker
    address_space_mb: int = 1024  # RLIMIT_AS of the worker process
    max_result_bytes: int = 16 * 1024 * 1024  # rows converted to Python, all values together
    kill_grace_s: float = 1.0  # after the time limit, how long the worker may take to stop by itself


@dataclass
class RawResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    elapsed_ms: float
    sql: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class _SafeUnpickler(pickle.Unpickler):
    """Unpickle only the plain value types the worker sends back."""

    _ALLOWED = {
        ("decimal", "Decimal"): decimal.Decimal,
        ("datetime", "date"): dt.date,
        ("datetime", "datetime"): dt.datetime,
        ("datetime", "time"): dt.time,
        ("datetime", "timedelta"): dt.timedelta,
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}") from None


def _error_for(kind: str, message: str, timeout_s: float, limits: SandboxLimits) -> SandboxError:
    if kind == "timeout":
        return QueryTimeout(f"The query took longer than {timeout_s:g} s and was stopped.")
    if kind == "memory":
        return QueryTooLarge(
            f"The query used more memory than allowed ({limits.memory_limit_mb} MB) and was stopped."
        )
    if kind == "too_large":
        mb = limits.max_result_bytes / (1024 * 1024)
        return QueryTooLarge(
            f"The result is too large (more than {mb:g} MB); return fewer or shorter values."
        )
    if kind == "rejected":
        if message.startswith("external:"):
            return QueryRejected(
                "Reading files or other external resources is not allowed: answers may only query the question's tables."
            )
        return QueryRejected(message)
    if kind == "syntax":
        return QuerySyntaxError(_tidy(message))
    if kind == "crashed":
        return QueryTooLarge("The query stopped the sandbox (it most likely needed too much memory).")
    return QueryFailed(_tidy(message))


def _tidy(message: str) -> str:
    """Keep DuckDB's message and its LINE pointer, drop the rest of a long explanation."""
    lines = [line.rstrip() for line in message.strip().splitlines()]
    kept: list[str] = []
    for line in lines:
        if not line and kept and kept[-1] == "":
            continue
        kept.append(line)
        if len(kept) >= 6:
            break
    text = "\n".join(kept).strip()
    return text[:800] if text else "The query failed."


class PipeClosed(Exception):
    """The worker's end of the pipe closed."""


class FrameTooLarge(Exception):
    """The worker announced a frame over the size limit."""


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    """Send one length-prefixed frame to a worker process (the sandbox's and the SQL console's)."""
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()


def read_frame(fd: int, deadline: float, max_size: int) -> bytes | None:
    """One length-prefixed frame's payload from a worker's pipe, or None when the deadline (monotonic) passes
    first. Raises PipeClosed when the pipe closes and FrameTooLarge for a frame over `max_size` bytes."""
    header = _read_exact(fd, HEADER.size, deadline)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > max_size:
        raise FrameTooLarge(f"{size} bytes")
    return _read_exact(fd, size, deadline)


def _read_exact(fd: int, size: int, deadline: float) -> bytes | None:
    buffer = bytearray()
    while len(buffer) < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, min(1 << 20, size - len(buffer)))
        if not chunk:
            raise PipeClosed
        buffer += chunk
    return bytes(buffer)


class _WorkerDied(Exception):
    """The worker's pipe closed: it crashed or was killed."""


class _Worker:
    """One worker process; not thread-safe (the pool hands it to one thread at a time)."""

    def __init__(self, cache_dir: Path, limits: SandboxLimits) -> None:
        self.cache_dir = cache_dir
        self.limits = limits
        self.proc: subprocess.Popen[bytes] | None = None
        self.duckdb_version = ""
        self._pending: deque[tuple[str, float]] = deque()  # queued (sql, timeout_s), oldest first

    def _start(self) -> None:
        settings = {
            "cache_dir": str(self.cache_dir),
            "memory_limit_mb": self.limits.memory_limit_mb,
            "threads": self.limits.threads,
            "address_space_mb": self.limits.address_space_mb,
        }
        env = {"PATH": os.defpath, "HOME": str(self.cache_dir), "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0"}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(WORKER_PATH), json.dumps(settings)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                close_fds=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise SandboxUnavailable(f"The SQL sandbox could not start: {exc}") from exc
        try:
            hello = self._receive(time.monotonic() + _START_TIMEOUT_S)
        except (_WorkerDied, OSError, pickle.UnpicklingError, EOFError):
            hello = None
        if hello is None or not hello.get("ok"):
            detail = (hello or {}).get("message", "no answer")
            self.kill()
            raise SandboxUnavailable(f"The SQL sandbox could not start: {detail}")
        self.duckdb_version = hello.get("duckdb", "")
        logger.debug("sandbox worker started", extra={"pid": self.proc.pid})

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        self._pending.clear()
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with suppress(OSError):
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with suppress(OSError):
                    stream.close()

    def close(self) -> None:
        """Ask the worker to exit by closing its input; kill it if it lingers."""
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        write_frame(self.proc.stdin, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """Read one frame before the deadline; None if the worker overran it, _WorkerDied if its pipe closed."""
        assert self.proc is not None and self.proc.stdout is not None
        try:
            payload = read_frame(self.proc.stdout.fileno(), deadline, _MAX_FRAME)
        except PipeClosed:
            raise _WorkerDied from None
        except FrameTooLarge:
            return None
        if payload is None:
            return None
        message = _SafeUnpickler(io.BytesIO(payload)).load()
        return message if isinstance(message, dict) else None

    def run(
        self, db_path: Path, sql: str, *, timeout_s: float, max_rows: int, check: bool = True
    ) -> RawResult:
        """Run one query and wait for its result."""
        self.submit(db_path, sql, timeout_s=timeout_s, max_rows=max_rows, check=check)
        return self.collect()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def submit(self, db_path: Path, sql: str, *, timeout_s: float, max_rows: int, check: bool = True) -> None:
        """Queue a query; the worker runs queued queries in order while the caller does other work."""
        if not self.alive():
            self._pending.clear()
            self._start()
        request = {
            "op": "run",
            "db": str(db_path),
            "sql": sql,
            "timeout_s": timeout_s,
            "max_rows": max_rows,
            "max_bytes": self.limits.max_result_bytes,
            "check": check,
        }
        try:
            self._send(request)
        except BrokenPipeError:
            if self._pending:  # queries already queued were lost with it
                self.kill()
                raise _error_for("crashed", "", timeout_s, self.limits) from None
            self.kill()  # died while idle (e.g. killed by the OOM killer): nothing had run
            self._start()
            self._send(request)
        self._pending.append((sql, timeout_s))

    def collect(self) -> RawResult:
        """The result of the oldest queued query (its error raised as a SandboxError)."""
        if not self._pending:
            raise SandboxUnavailable("No query is waiting for a result.")
        sql, timeout_s = self._pending.popleft()
        died = False
        try:
            # The worker started this query at the latest when the previous result came back: its own timer
            # interrupts it at timeout_s; the deadline here only catches a worker that does not stop.
            response = self._receive(time.monotonic() + timeout_s + self.limits.kill_grace_s)
        except _WorkerDied:
            response, died = None, True
        except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
            logger.warning("sandbox worker protocol failure", extra={"error": str(exc)})
            response, died = None, True
        if response is None:
            self.kill()
            if died:
                logger.warning("sandbox worker died during a query")
                raise _error_for("crashed", "", timeout_s, self.limits)
            logger.info("sandbox worker killed after overrunning its time limit")
            raise _error_for("timeout", "", timeout_s, self.limits)
        if not response.get("ok"):
            raise _error_for(
                str(response.get("kind")), str(response.get("message", "")), timeout_s, self.limits
            )
        return RawResult(
            columns=list(response["columns"]),
            types=list(response["types"]),
            rows=[tuple(r) for r in response["rows"]],
            truncated=bool(response["truncated"]),
            elapsed_ms=float(response["elapsed_ms"]),
            sql=sql,
        )

    def discard(self) -> None:
        """Drop queued queries nobody will collect: kill the worker (it is restarted on next use)."""
        if self._pending:
            self.kill()


class SandboxPool:
    """A small pool of worker processes shared by the threads of one process."""

    def __init__(self, cache_dir: Path, limits: SandboxLimits | None = None, max_workers: int = 2) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.cache_dir = Path(cache_dir)
        self.limits = limits or SandboxLimits()
        self.max_workers = max_workers
        self._idle: list[_Worker] = []
        self._count = 0
        self._closed = False
        self._cond = threading.Condition()
        atexit.register(self.close)

    @contextmanager
    def worker(self) -> Iterator[_Worker]:
        """Borrow one worker for a series of queries (e.g. all datasets of one grading)."""
        with self._cond:
            while True:
                if self._closed:
                    raise SandboxUnavailable("The SQL sandbox has been shut down.")
                if self._idle:
                    worker = self._idle.pop()
                    break
                if self._count < self.max_workers:
                    worker = _Worker(self.cache_dir, self.limits)
                    self._count += 1
                    break
                self._cond.wait()
        try:
            yield worker
        finally:
            worker.discard()
            with self._cond:
                if self._closed:
                    worker.close()
                else:
                    self._idle.append(worker)
                self._cond.notify()

    def run(
        self, db_path: Path, sql: str, *, timeout_s: float, max_rows: int, check: bool = True
    ) -> RawResult:
        with self.worker() as worker:
            return worker.run(db_path, sql, timeout_s=timeout_s, max_rows=max_rows, check=check)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            worker.close()
