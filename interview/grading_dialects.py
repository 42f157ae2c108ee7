"""Read an answer written in a common SQL dialect and produce the DuckDB SQL that runs it faithfully.

sqlglot reads the answer (interview.grading_readers adds parse-time fixes), interview.grading_rewrites fixes
the semantics sqlglot leaves behind when it targets DuckDB, and this module adds a friendly read-only check
(the sandbox worker's check is the real boundary) and the list of DuckDB texts to try, best first.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

import sqlglot
import sqlglot.errors
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel

from interview.grading_readers import READERS
from interview.grading_rewrites import rewrite
from interview.sandbox import QueryRejected
from interview.sandbox_worker import QUERY_FIRST_WORDS, first_word

logger = logging.getLogger(__name__)

SUPPORTED_DIALECTS = ("duckdb", "postgres", "mysql", "sqlite", "tsql", "oracle", "snowflake", "bigquery")
DIALECT_NAMES = {
    "duckdb": "DuckDB",
    "postgres": "PostgreSQL",
    "mysql": "MySQL",
    "sqlite": "SQLite",
    "tsql": "SQL Server (T-SQL)",
    "oracle": "Oracle",
    "snowflake": "Snowflake",
    "bigquery": "BigQuery",
}
MAX_SQL_CHARS = 50_000
# First words of statements that are not queries, across the supported engines: refused with their name.
STATEMENT_WORDS = frozenset({
    "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "CREATE", "DROP", "ALTER", "TRUNCATE",
    "RENAME", "COPY", "ATTACH", "DETACH", "INSTALL", "LOAD", "PRAGMA", "SET", "RESET", "CALL", "EXPORT",
    "IMPORT", "EXPLAIN", "ANALYZE", "VACUUM", "CHECKPOINT", "BEGIN", "COMMIT", "ROLLBACK", "START", "END",
    "ABORT", "SAVEPOINT", "RELEASE", "PREPARE", "EXECUTE", "EXEC", "DEALLOCATE", "USE", "GRANT", "REVOKE",
    "COMMENT", "DECLARE", "LOCK", "UNLOCK", "SHUTDOWN", "KILL", "OPTIMIZE", "DO", "HANDLER", "FLUSH",
    "BACKUP", "RESTORE", "DBCC", "BULK", "UNLOAD", "PUT", "GET", "REMOVE", "LIST", "UNDROP"
})  # fmt: skip
_QUERY_NODES = (exp.Query, exp.Subquery, exp.Values)
_WRITE_NODES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Copy)


@dataclass(frozen=True)
class Translation:
    candidates: tuple[str, ...]  # DuckDB SQL texts to try in order; the first that runs is used
    parse_error: str = ""  # sqlglot's complaint when it could not read the answer in its dialect


# ---------------------------------------------------------------- statement checks


def _keyword(sql: str, tree: exp.Expression | None) -> str:
    word = first_word(sql)
    if word and word not in QUERY_FIRST_WORDS:
        return word
    if tree is not None:
        return tree.key.upper()
    return word or "This statement"


def check_statement(sql: str, dialect: str) -> None:
    """Refuse, with a friendly message, anything but one read-only query (the worker checks again)."""
    if not sql.strip() or not first_word(sql):
        raise QueryRejected("The answer is empty: write a single SELECT query.")
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRejected(
            f"The query is too long ({len(sql):,} characters; the limit is {MAX_SQL_CHARS:,})."
        )
    word = first_word(sql)
    if word in STATEMENT_WORDS:
        raise QueryRejected(f"{word} is not allowed: answers must be read-only SELECT queries.")


def _check_tree(sql: str, statements: list[exp.Expression]) -> None:
    if len(statements) > 1:
        raise QueryRejected(f"Only a single SELECT statement is allowed; found {len(statements)} statements.")
    tree = statements[0]
    if not isinstance(tree, _QUERY_NODES) and (
        first_word(sql) not in QUERY_FIRST_WORDS or isinstance(tree, _WRITE_NODES)  # PIVOT, SUMMARIZE... pass
    ):
        raise QueryRejected(
            f"{_keyword(sql, tree)} is not allowed: answers must be read-only SELECT queries."
        )
    for node in tree.walk():
        if isinstance(node, _WRITE_NODES):
            raise QueryRejected(
                f"{node.key.upper()} is not allowed: answers must be read-only SELECT queries."
            )
        if isinstance(node, exp.Select) and node.args.get("into"):
            raise QueryRejected(
                "SELECT ... INTO is not allowed: it creates a table; answers must be read-only."
            )


def _parse(sql: str, reader: str | type[Dialect]) -> list[exp.Expression]:
    return [e for e in sqlglot.parse(sql, read=reader) if e is not None]


# ---------------------------------------------------------------- entry point


def translate(sql: str, dialect: str, schema: Mapping[str, Mapping[str, str]] | None = None) -> Translation:
    """DuckDB texts for an answer, best first; raises QueryRejected for anything but one read-only query."""
    if dialect not in SUPPORTED_DIALECTS:
        raise ValueError(f"Unsupported dialect '{dialect}'; choose one of {', '.join(SUPPORTED_DIALECTS)}.")
    sql = sql.lstrip("\ufeff")  # a byte-order mark pasted from an editor
    check_statement(sql, dialect)
    schema_key = json.dumps(schema or {}, sort_keys=True)
    return _translate_cached(sql, dialect, schema_key)


@functools.lru_cache(maxsize=512)
def _translate_cached(sql: str, dialect: str, schema_key: str) -> Translation:
    schema = json.loads(schema_key)
    if dialect == "duckdb":
        try:
            statements = _parse(sql, "duckdb")
        except (sqlglot.errors.SqlglotError, RecursionError):
            return Translation((sql,))  # DuckDB syntax sqlglot does not know: DuckDB itself decides
        if statements:
            _check_tree(sql, statements)
        return Translation((sql,))
    candidates: list[str] = []
    parse_error = ""
    for n, reader in enumerate(READERS[dialect]):
        if n and "||" not in sql:
            break  # the other readings only differ in what `||` means
        try:
            statements = _parse(sql, reader)
        except (sqlglot.errors.SqlglotError, RecursionError) as exc:
            parse_error = parse_error or _first_line(exc)
            continue
        if not statements:
            raise QueryRejected("The answer is empty: write a single SELECT query.")
        _check_tree(sql, statements)
        tree = statements[0]
        try:
            fixed = rewrite(tree, dialect, schema, reader)
            text = fixed.sql(dialect="duckdb", unsupported_level=ErrorLevel.IGNORE)
        except (sqlglot.errors.SqlglotError, RecursionError) as exc:
            parse_error = parse_error or _first_line(exc)
            continue
        if text not in candidates:
            candidates.append(text)
    if sql not in candidates:
        candidates.append(sql)  # DuckDB accepts much PostgreSQL-style SQL as written
    return Translation(tuple(candidates), parse_error)


def _first_line(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
