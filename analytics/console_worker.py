"""SQL console worker process: runs one checked, read-only statement at a time over the app database.

`analytics.console` starts it as `python -I console_worker.py` with a scrubbed environment and talks to it with
length-prefixed JSON frames on stdin/stdout (JSON, not pickle: nothing this process sends is executed). The
first frame carries the limits; each request names the snapshot file to run on (`analytics.console_snapshot`:
the exposed tables only, opened read-only with no extension loaded, external access off and the configuration
locked; this process never sees the app database or its credentials). Before DuckDB touches any user SQL the
process caps its data segment (so a huge value fails with an out-of-memory error instead of exhausting the
machine) and the size of any file it writes (nothing); the parent kills it when a statement overruns the time
limit by more than a grace period, and starts a fresh one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
import os
import resource
import signal
import struct
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")
MAX_FRAME = 256 << 20


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError("frame too large")
    data = stream.read(size)
    if len(data) < size:
        return None
    return json.loads(data)


def write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    data = json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def jsonable(value: Any, max_chars: int) -> tuple[Any, bool]:
    """A JSON-safe version of one result value, and whether it had to be shortened."""
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, str) and len(value) > max_chars:
            return value[:max_chars] + "…", True
        return value, False
    if isinstance(value, float):
        return (value if math.isfinite(value) else None), False
    if isinstance(value, decimal.Decimal):
        return (
            float(value) if value.is_finite() and len(value.as_tuple().digits) <= 15 else str(value)
        ), False
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(), False
    if isinstance(value, dt.timedelta | uuid.UUID):
        return str(value), False
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        text = "\\x" + raw[: max_chars // 2].hex()
        return text, len(raw) > max_chars // 2
    if isinstance(value, list | tuple):
        out, cut = [], False
        for item in value[:max_chars]:
            item_value, item_cut = jsonable(item, max_chars)
            out.append(item_value)
            cut = cut or item_cut
        return out, cut or len(value) > max_chars
    if isinstance(value, dict):
        out_map, cut = {}, False
        for key, item in list(value.items())[:max_chars]:
            item_value, item_cut = jsonable(item, max_chars)
            out_map[str(key)] = item_value
            cut = cut or item_cut
        return out_map, cut or len(value) > max_chars
    text = str(value)
    return (text[:max_chars] + "…", True) if len(text) > max_chars else (text, False)


def _apply_limits(memory_mb: int) -> None:
    data = int(memory_mb) << 20
    resource.setrlimit(resource.RLIMIT_DATA, (data, data))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class _Runner:
    """One locked DuckDB connection (reopened when the snapshot changes) and the timer that interrupts it."""

    def __init__(self, threads: int, memory_limit: str):
        self.threads = threads
        self.memory_limit = memory_limit
        self.con: Any = None
        self.path = ""
        self._lock = threading.Lock()
        self._running = False

    def use(self, path: str) -> None:
        if path == self.path and self.con is not None:
            return
        from analytics.console_snapshot import open_snapshot

        con = open_snapshot(Path(path), threads=self.threads, memory_limit=self.memory_limit)
        with self._lock:
            old, self.con, self.path = self.con, con, path
        if old is not None:
            old.close()

    def _interrupt(self) -> None:
        with self._lock:
            if self._running:
                self.con.interrupt()

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        import duckdb

        from analytics.console_guard import Rejected, check
        from analytics.duck import DuckError

        try:
            self.use(str(request["snapshot"]))
        except DuckError as exc:
            return {"ok": False, "kind": "unavailable", "error": str(exc)}
        sql = request.get("sql")
        timeout_s = float(request["timeout_s"])
        max_rows = int(request["max_rows"])
        max_chars = int(request["max_cell_chars"])
        started = time.perf_counter()
        timer = threading.Timer(timeout_s, self._interrupt)
        with self._lock:
            self._running = True
        timer.start()
        try:
            checked = check(self.con, sql, None)  # type: ignore[arg-type]
            cursor = self.con.execute(checked.run_sql)
            columns = [str(d[0]) for d in (cursor.description or [])]
            fetched = cursor.fetchmany(max_rows + 1) if columns else []
        except Rejected as exc:
            return {"ok": False, "kind": "rejected", "error": str(exc)}
        except duckdb.InterruptException:
            return {"ok": False, "kind": "timeout", "error": ""}
        except duckdb.OutOfMemoryException:
            return {"ok": False, "kind": "memory", "error": ""}
        except MemoryError:
            return {"ok": False, "kind": "memory", "error": ""}
        except duckdb.Error as exc:
            text = str(exc).strip()
            return {"ok": False, "kind": "sql", "error": text.splitlines()[0] if text else type(exc).__name__}
        finally:
            with self._lock:
                self._running = False
            timer.cancel()
        elapsed_ms = (time.perf_counter() - started) * 1000
        truncated = len(fetched) > max_rows
        rows = []
        for row in fetched[:max_rows]:
            out = []
            for value in row:
                safe, cut = jsonable(value, max_chars)
                truncated = truncated or cut
                out.append(safe)
            rows.append(out)
        with contextlib.suppress(duckdb.Error):  # drop the rest of a streaming result now, not later
            self.con.execute("SELECT 1").fetchall()
        return {
            "ok": True,
            "columns": columns,
            "rows": rows,
            "truncated": truncated,
            "elapsed_ms": round(elapsed_ms, 2),
        }


def main() -> int:
    # Frames go through a private copy of fd 1; fd 1 itself now points at stderr, so nothing DuckDB or Python
    # prints can corrupt the parent's pipe.
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    hello = read_frame(stdin)
    if hello is None:
        return 1
    root = str(hello["root"])
    if root not in sys.path:
        sys.path.insert(0, root)
    _apply_limits(int(hello["memory_mb"]))
    try:
        import duckdb  # noqa: F401  (import now, at start, rather than inside a statement's time limit)

        import analytics.console_guard  # noqa: F401
        import analytics.console_snapshot  # noqa: F401
    except Exception as exc:  # report and stop: the parent says what went wrong
        write_frame(
            stdout, {"ready": False, "error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
        )
        return 1
    runner = _Runner(int(hello["threads"]), f"{max(64, int(hello['memory_mb']) // 2)}MB")
    write_frame(stdout, {"ready": True, "pid": os.getpid()})
    while True:
        try:
            request = read_frame(stdin)
        except ValueError:
            return 1
        if request is None:
            return 0
        try:
            reply = runner.run(request)
        except MemoryError:
            reply = {"ok": False, "kind": "memory", "error": ""}
        try:
            write_frame(stdout, reply)
        except (ValueError, OverflowError, MemoryError):
            write_frame(stdout, {"ok": False, "kind": "memory", "error": ""})


if __name__ == "__main__":
    sys.exit(main())
