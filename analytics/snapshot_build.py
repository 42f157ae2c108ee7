"""Reads the columns the analytics snapshot needs from the app database, in a separate process.

    python -m analytics.snapshot_build < request.json      # {"source": DuckSource.to_dict(), "out": "x.duckdb"}

Why a separate process: DuckDB's sqlite scanner carries its own copy of SQLite. Two copies of SQLite in one
process do not see each other's POSIX locks, so when DuckDB's copy closes the database file it silently drops
the app's own locks on it, and another process (a second replica, a CLI, the console worker) may then reset the
WAL index under the app: the corruption hazard SQLite documents ("multiple copies of SQLite linked into the same
application"). Here DuckDB is the only SQLite in the process, so locking works; it reads the source read-only
and writes three plain tables (employees, sessions, answers) to a fresh DuckDB file that the app then loads. It
also keeps a 1-2 s scan of a large database off the app's GIL.

Only non-private tables are read, by explicit column lists. Prints one JSON line: {"ok": true, "rows": {...}} or
{"ok": false, "error": "..."}.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from analytics.child import child_main
from analytics.duck import SOURCE_CATALOG, DuckSource, attach_source, quote_ident

QUESTION_KEY_CHARS = 120  # questions without a bank id are keyed by the start of their text


def build(source: DuckSource, out: Path) -> dict[str, int]:
    """Write employees, sessions and answers (the shapes analytics.snapshot_sql loads) to a new DuckDB file."""
    con = duckdb.connect(str(out), config={"autoinstall_known_extensions": False,
                                           "autoload_known_extensions": False})  # fmt: skip
    try:
        attach_source(con, source)
        schema = "main" if source.kind == "sqlite" else source.pg_schema
        src = f"{SOURCE_CATALOG}.{quote_ident(schema)}"
        con.execute(
            f"CREATE TABLE employees AS SELECT id AS employee_id, name, department, role FROM {src}.employees"
        )
        con.execute(
            "CREATE TABLE sessions AS SELECT id AS session_id, employee_id, start_time, end_time, status, "
            f"overall_score, updated_at FROM {src}.interview_sessions"
        )
        con.execute(
            "CREATE TABLE answers AS SELECT r.id AS response_id, r.session_id, r.score, "
            f"COALESCE(q.question_ref, left(q.question_text, {QUESTION_KEY_CHARS})) AS question_key, q.category, "
            f"q.difficulty, q.kind FROM {src}.interview_responses r "
            f"LEFT JOIN {src}.interview_questions q ON q.id = r.question_id"
        )
        con.execute(f"DETACH {SOURCE_CATALOG}")
        counts = {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
                  for t in ("employees", "sessions", "answers")}  # fmt: skip
        con.execute("CHECKPOINT")
        return counts
    finally:
        con.close()


def main() -> int:
    """Child-process entry: build the snapshot file named in the request."""
    return child_main(lambda source, request: {"rows": build(source, Path(request["out"]))})


if __name__ == "__main__":
    sys.exit(main())
