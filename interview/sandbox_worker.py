"""Sandbox worker process: runs one read-only SELECT at a time on a DuckDB dataset file, inside OS limits.

`interview.sandbox` starts it as `python -I sandbox_worker.py '<json settings>'` and talks to it with
length-prefixed pickle frames on stdin/stdout. The worker is the containment boundary for untrusted SQL:
its address space, file writes and open files are capped with setrlimit before DuckDB is imported, every
dataset is opened read-only with external access off and the configuration locked, and the parent kills it
when a query overruns its time limit. Only the standard library and duckdb are imported here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import os
import pickle
import resource
import signal
import struct
import sys
import threading
import time
import uuid
from typing import Any

_HEADER = struct.Struct(">I")

# Table functions an answer may use: generators and catalog views. Everything else (file readers, query(),
# logging/profiling switches, checkpoints, scans of host objects) is refused before the query runs.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "json_each",
        "json_tree",
        "repeat",
        "pragma_table_info",
        "pragma_show",
    }
)
ALLOWED_TABLE_FUNCTION_PREFIX = "duckdb_"
DENIED_TABLE_FUNCTIONS = frozenset(
    {"duckdb_logs", "duckdb_logs_parsed", "duckdb_secrets", "duckdb_temporary_files"}
)
DENIED_SCALAR_FUNCTIONS = frozenset({"write_log", "sleep_ms", "setseed", "json_execute_serialized_sql"})
MAX_OPEN_DATABASES = 32
# DuckDB rewrites some statements (PRAGMA x -> SELECT * FROM pragma_x()) before reporting their type, so the
# first word of the text itself must also start a query.
QUERY_FIRST_WORDS = frozenset(
    {"SELECT", "WITH", "FROM", "VALUES", "TABLE", "SUMMARIZE", "DESCRIBE", "SHOW", "PIVOT", "UNPIVOT"}
)


def _apply_limits(settings: dict[str, Any]) -> None:
    """Cap the process before any untrusted work: address space, file size (no writes at all), fds, cores."""
    address_space = int(settings["address_space_mb"]) << 20
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 256 if hard == resource.RLIM_INFINITY else min(256, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    signal.signal(
        signal.SIGXFSZ, signal.SIG_IGN
    )  # a write past the limit fails with EFBIG instead of killing us
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop


def _read_frame(stream: Any) -> Any | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return pickle.loads(payload)


def _write_frame(stream: Any, message: dict[str, Any]) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _plain(value: Any) -> Any:
    """Turn a DuckDB result value into plain standard-library types the parent accepts."""
    if value is None or isinstance(value, bool | int | float | str | decimal.Decimal):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return value.replace(tzinfo=None) if isinstance(value, dt.time) else value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, int | float | str) else k: _plain(v) for k, v in value.items()}
    return str(value)


def _size(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value) + 8
    if isinstance(value, list):
        return 16 + sum(_size(v) for v in value)
    if isinstance(value, dict):
        return 16 + sum(_size(k) + _size(v) for k, v in value.items())
    return 8


_PLAIN_TYPES = frozenset({type(None), bool, int, float, decimal.Decimal, dt.date, dt.timedelta})


def _convert_row(raw: tuple[Any, ...]) -> tuple[tuple[Any, ...], int]:
    """A result row as plain values, with its approximate size in bytes (fast path for common types)."""
    size = 16
    out = []
    for value in raw:
        kind = type(value)
        if kind is str:
            size += len(value) + 8
        elif kind in _PLAIN_TYPES:
            size += 8
        else:
            value = _plain(value)
            size += _size(value)
        out.append(value)
    return tuple(out), size


def _function_names(node: Any, table: set[str], scalar: set[str]) -> None:
    """Collect the table and scalar function names of a json_serialize_sql tree."""
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE" and any(c in str(node.get("table_name", "")) for c in "/\\.:"):
            table.add("<file>")
        if node.get("type") == "TABLE_FUNCTION" and isinstance(node.get("function"), dict):
            table.add(str(node["function"].get("function_name", "")).lower())
            for child in node["function"].get("children", []):
                _function_names(child, table, scalar)
            for key, child in node.items():
                if key != "function":
                    _function_names(child, table, scalar)
            return
        if node.get("class") in ("FUNCTION", "WINDOW", "AGGREGATE") and "function_name" in node:
            scalar.add(str(node["function_name"]).lower())
        for child in node.values():
            _function_names(child, table, scalar)
    elif isinstance(node, list):
        for child in node:
            _function_names(child, table, scalar)


def first_word(sql: str) -> str:
    """The first keyword of a statement, skipping blanks, comments and opening parentheses."""
    i, n = 0, len(sql)
    while i < n:
        if sql[i].isspace() or sql[i] == "(":
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            break
    j = i
    while j < n and (sql[j].isalnum() or sql[j] == "_"):
        j += 1
    return sql[i:j].upper() or sql[i : i + 1]


class Rejected(Exception):
    """The statement is not a single read-only SELECT on the dataset."""


class Worker:
    def __init__(self, settings: dict[str, Any]) -> None:
        import duckdb  # imported only after the limits are in place

        self.duckdb = duckdb
        self.settings = settings
        self.root = os.path.realpath(settings["cache_dir"])
        self.connections: dict[str, Any] = {}
        self.checked: dict[str, str | None] = {}  # SQL text -> rejection message (None: allowed)

    def _open(self, path: str) -> Any:
        """Open a dataset read-only, no spilling to disk, then switch off external access and lock the settings."""
        con = self.duckdb.connect(
            path,
            read_only=True,
            config={
                "temp_directory": "",  # no spilling: a query that outgrows memory_limit fails instead
                "memory_limit": f"{int(self.settings['memory_limit_mb'])}MB",
                "threads": int(self.settings["threads"]),
            },
        )
        try:
            for statement in (
                "SET enable_external_access = false",
                "SET autoload_known_extensions = false",
                "SET autoinstall_known_extensions = false",
                "SET allow_community_extensions = false",
                "SET allow_persistent_secrets = false",
                "SET lock_configuration = true",
            ):
                con.execute(statement)
        except BaseException:
            con.close()
            raise
        return con

    def connection(self, path: str) -> Any:
        real = os.path.realpath(path)
        if os.path.dirname(real) != self.root or not real.endswith(".duckdb"):
            raise Rejected("The dataset is not in the grading cache.")
        con = self.connections.get(real)
        if con is None:
            if len(self.connections) >= MAX_OPEN_DATABASES:
                oldest = next(iter(self.connections))
                self.connections.pop(oldest).close()
            con = self._open(real)
            self.connections[real] = con
        return con

    def check_once(self, cursor: Any, sql: str) -> None:
        """check(), remembering the outcome per SQL text (a grading runs the same SQL on several datasets)."""
        if sql in self.checked:
            message = self.checked[sql]
            if message is not None:
                raise Rejected(message)
            return
        try:
            self.check(cursor, sql)
        except Rejected as exc:
            self._remember(sql, str(exc))
            raise
        self._remember(sql, None)

    def _remember(self, sql: str, message: str | None) -> None:
        if len(self.checked) >= 256:
            self.checked.pop(next(iter(self.checked)))
        self.checked[sql] = message

    def check(self, cursor: Any, sql: str) -> None:
        """Allow exactly one SELECT statement that calls no file-reading or state-changing function."""
        statements = self.duckdb.extract_statements(sql)
        if len(statements) != 1:
            if first_word(sql) in ("PIVOT", "UNPIVOT") and len(statements) == 2:
                raise Rejected(
                    "PIVOT needs the values to pivot on here: write PIVOT ... ON column IN (value, ...)."
                )
            raise Rejected(f"Only a single SELECT statement is allowed; found {len(statements)} statements.")
        statement = statements[0]
        keyword = first_word(sql)
        if statement.type != self.duckdb.StatementType.SELECT or keyword not in QUERY_FIRST_WORDS:
            keyword = keyword or str(statement.type).rsplit(".", 1)[-1]
            raise Rejected(f"{keyword} is not allowed: answers must be read-only SELECT queries.")
        serialized = json.loads(cursor.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
        if serialized.get("error"):
            return  # a SELECT the serializer does not cover (SHOW, SUMMARIZE...): the read-only sandbox still holds
        tables: set[str] = set()
        scalars: set[str] = set()
        _function_names(serialized.get("statements", []), tables, scalars)
        if "<file>" in tables:
            raise Rejected("Reading files is not allowed: answers may only query the question's tables.")
        for name in sorted(tables):
            allowed = name in ALLOWED_TABLE_FUNCTIONS or name.startswith(ALLOWED_TABLE_FUNCTION_PREFIX)
            if not allowed or name in DENIED_TABLE_FUNCTIONS:
                raise Rejected(
                    f"The table function {name}() is not allowed: answers may only query the question's tables."
                )
        for name in sorted(scalars & DENIED_SCALAR_FUNCTIONS):
            raise Rejected(f"The function {name}() is not allowed in answers.")

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        con = self.connection(request["db"])
        cursor = con.cursor()
        timed_out = threading.Event()

        def interrupt() -> None:
            timed_out.set()
            with contextlib.suppress(Exception):  # the query may have just finished
                cursor.interrupt()

        timer = threading.Timer(float(request["timeout_s"]), interrupt)
        timer.daemon = True
        timer.start()
        try:
            if request.get("check", True):
                self.check_once(cursor, request["sql"])
            cursor.execute(request["sql"])
            description = cursor.description or []
            columns = [d[0] for d in description]
            types = [str(d[1]) for d in description]
            rows, truncated = self._fetch(cursor, int(request["max_rows"]), int(request["max_bytes"]))
        except Rejected as exc:
            return {"ok": False, "kind": "rejected", "message": str(exc)}
        except self.duckdb.InterruptException:
            return {"ok": False, "kind": "timeout", "message": ""}
        except (self.duckdb.OutOfMemoryException, MemoryError):
            return {"ok": False, "kind": "memory", "message": ""}
        except _TooLarge:
            return {"ok": False, "kind": "too_large", "message": ""}
        except self.duckdb.PermissionException as exc:
            return {"ok": False, "kind": "rejected", "message": "external:" + str(exc)}
        except self.duckdb.ParserException as exc:
            return {"ok": False, "kind": "syntax", "message": str(exc)}
        except self.duckdb.Error as exc:
            if timed_out.is_set():
                return {"ok": False, "kind": "timeout", "message": ""}
            return {"ok": False, "kind": "failed", "message": str(exc)}
        finally:
            timer.cancel()
            with contextlib.suppress(Exception):
                cursor.close()
        if timed_out.is_set():
            return {"ok": False, "kind": "timeout", "message": ""}
        elapsed_ms = (time.perf_counter() - started) * 1000
        return {
            "ok": True,
            "columns": columns,
            "types": types,
            "rows": rows,
            "truncated": truncated,
            "elapsed_ms": elapsed_ms,
        }

    @staticmethod
    def _fetch(cursor: Any, max_rows: int, max_bytes: int) -> tuple[list[tuple[Any, ...]], bool]:
        """Fetch at most max_rows (+1 to detect truncation) within a byte budget, sizing batches by row size."""
        rows: list[tuple[Any, ...]] = []
        used = 0
        batch = 1
        while len(rows) <= max_rows:
            chunk = cursor.fetchmany(min(batch, max_rows + 1 - len(rows)))
            if not chunk:
                break
            for raw in chunk:
                row, size = _convert_row(raw)
                used += size
                if used > max_bytes:
                    raise _TooLarge
                rows.append(row)
            per_row = max(1, used // max(1, len(rows)))
            batch = max(1, min(1024, (max_bytes - used) // per_row))
        truncated = len(rows) > max_rows
        return rows[:max_rows], truncated


class _TooLarge(Exception):
    pass


def main() -> None:
    settings = json.loads(sys.argv[1])
    _apply_limits(settings)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the parent's pipe
    try:
        worker = Worker(settings)
        _write_frame(stdout, {"ok": True, "ready": True, "duckdb": worker.duckdb.__version__})
    except BaseException as exc:  # report a failed start instead of dying silently
        _write_frame(stdout, {"ok": False, "kind": "start", "message": f"{type(exc).__name__}: {exc}"})
        return
    while True:
        request = _read_frame(stdin)
        if request is None:
            return
        try:
            if request.get("op") == "ping":
                response: dict[str, Any] = {"ok": True}
            else:
                response = worker.run(request)
        except MemoryError:
            response = {"ok": False, "kind": "memory", "message": ""}
        except Rejected as exc:
            response = {"ok": False, "kind": "rejected", "message": str(exc)}
        except Exception as exc:
            response = {"ok": False, "kind": "failed", "message": f"{type(exc).__name__}: {exc}"}
        try:
            _write_frame(stdout, response)
        except MemoryError:
            _write_frame(stdout, {"ok": False, "kind": "memory", "message": ""})


if __name__ == "__main__":
    main()
