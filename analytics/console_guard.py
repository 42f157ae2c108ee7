"""What a console statement may do, decided on DuckDB's own parse tree and plan (never by pattern matching).

`check(con, sql)` returns the `Checked` statement to run or raises `Rejected` with a message for a person:

1. DuckDB splits the text into statements: exactly one, and it must be a SELECT-type statement (SELECT, WITH,
   VALUES, FROM-first, DESCRIBE, SHOW, SUMMARIZE, table-function PRAGMAs such as table_info) or EXPLAIN of one.
2. Its parse tree (`json_serialize_sql`) is walked: every table it names must be an exposed view, a CTE or a
   catalog view that shows names only; every table function must be on an allow-list; a few scalar functions
   (settings, sequences, logging, sleeping) are refused; the attached source catalog cannot be named.
3. DuckDB's plan for it (`EXPLAIN (FORMAT json)`) must scan no table but the exposed ones, from no file but the
   app database: a second, independent check of what would actually be read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

from analytics.duck import SOURCE_CATALOG, exposed_tables
from store.schema import PRIVATE_TABLES

MAX_SQL_CHARS = 20_000

READ_ONLY_KINDS = "SELECT, WITH, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE and PRAGMA table_info"

# Table functions that read no file, no other database and no table rows by name.
ALLOWED_TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "repeat", "json_each", "json_tree",
    "duckdb_columns", "duckdb_constraints", "duckdb_indexes", "duckdb_schemas", "duckdb_tables",
    "duckdb_types", "duckdb_views", "duckdb_functions", "duckdb_keywords",
    "pragma_table_info", "pragma_show", "pragma_version", "pragma_platform", "pragma_collations",
    "pg_timezone_names", "icu_calendar_names",
})  # fmt: skip
# Views in DuckDB's system catalog that list names and definitions, never rows of other tables.
SYSTEM_VIEWS = frozenset({
    "duckdb_columns", "duckdb_constraints", "duckdb_indexes", "duckdb_schemas", "duckdb_tables",
    "duckdb_types", "duckdb_views", "sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema",
})  # fmt: skip
CATALOG_SCHEMAS = {
    "information_schema": frozenset({
        "character_sets", "check_constraints", "columns", "constraint_column_usage", "constraint_table_usage",
        "key_column_usage", "referential_constraints", "schemata", "tables", "table_constraints", "views",
    }),
    "pg_catalog": frozenset({
        "pg_am", "pg_attrdef", "pg_attribute", "pg_class", "pg_collation", "pg_constraint", "pg_depend",
        "pg_description", "pg_enum", "pg_index", "pg_indexes", "pg_namespace", "pg_proc", "pg_tables", "pg_type",
        "pg_views",
    }),
}  # fmt: skip
# Scalar functions refused: they read settings, touch sequences or logs, or only waste the time limit.
DENIED_FUNCTIONS = frozenset({
    "current_setting", "getvariable", "getenv", "nextval", "currval", "write_log", "sleep_ms", "pg_sleep",
    "json_execute_serialized_sql", "query", "query_table",
})  # fmt: skip
FILE_FUNCTION_PREFIXES = ("read_", "parquet_", "sniff_", "glob", "sqlite_", "postgres_", "iceberg", "delta")
SHOW_TARGETS = frozenset({"tables", "__show_tables_expanded", "databases"})


class Rejected(Exception):
    """The statement may not run in the console; str() says why, fit for a person."""


@dataclass(frozen=True)
class Checked:
    """A statement that passed: `run_sql` is what to execute, `inner` the SELECT whose plan was checked."""

    run_sql: str
    inner: str
    kind: str  # "select" | "explain" | "explain analyze"


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _private_message(name: str) -> str:
    return f"{name} is private: credentials and audit records cannot be read from the console."


def _tables_hint() -> str:
    return "Tables you can query: " + ", ".join(exposed_tables()) + "."


def _check_table(node: dict[str, Any], cte_names: set[str]) -> None:
    catalog = str(node.get("catalog_name") or "").lower()
    schema = str(node.get("schema_name") or "").lower()
    name = str(node.get("table_name") or "").lower()
    shown = ".".join(p for p in (catalog, schema, name) if p)
    if SOURCE_CATALOG in (catalog, schema):
        if name in PRIVATE_TABLES:
            raise Rejected(_private_message(name))
        raise Rejected(
            f"Query the tables by their own names (FROM {name or 'employees'}), not through "
            f"{SOURCE_CATALOG}. {_tables_hint()}"
        )
    if not catalog and not schema and name in cte_names:
        return
    if name in PRIVATE_TABLES:
        raise Rejected(_private_message(name))
    exposed = set(exposed_tables())
    if (catalog, schema) in {("", ""), ("", "main"), ("temp", ""), ("", "temp"), ("temp", "main")}:
        if name in exposed or ((catalog, schema) in {("", ""), ("", "main")} and name in SYSTEM_VIEWS):
            return
    elif (catalog, schema) in {("system", "main"), ("", "system")}:
        if name in SYSTEM_VIEWS:
            return
    elif catalog in ("", "system") and schema in CATALOG_SCHEMAS and name in CATALOG_SCHEMAS[schema]:
        return
    if "/" in name or "." in name or "\\" in name:
        raise Rejected(f"Reading files is not allowed in the console ({shown}).")
    raise Rejected(f"There is no table {shown} you can query here. {_tables_hint()}")


def _check_function_name(node: dict[str, Any], table_function: bool) -> None:
    name = str(node.get("function_name") or "").lower()
    qualifier = [str(node.get(k) or "").lower() for k in ("catalog", "schema")]
    if any(q and q not in ("system", "main", "pg_catalog") for q in qualifier):
        raise Rejected(f"Call functions by their plain names, not {'.'.join([*qualifier, name]).strip('.')}.")
    if table_function:
        if name in ALLOWED_TABLE_FUNCTIONS:
            return
        if name.startswith(FILE_FUNCTION_PREFIXES):
            raise Rejected(f"{name}() reads files or other databases, which the console does not allow.")
        raise Rejected(f"The table function {name}() is not available in the console.")
    if name in DENIED_FUNCTIONS:
        raise Rejected(f"The function {name}() is not available in the console.")


def check_tree(tree: dict[str, Any]) -> None:
    """Walk one statement's parse tree (json_serialize_sql output) and raise Rejected on anything not allowed."""
    cte_names = set()
    for node in _walk(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map") or []:
                cte_names.add(str(entry.get("key") or "").lower())
    for node in _walk(tree):
        kind = node.get("type")
        if kind == "BASE_TABLE":
            _check_table(node, cte_names)
        elif kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            _check_function_name(function, table_function=True)
        elif kind == "SHOW_REF" and node.get("query") is None and node.get("show_type") != "SHOW_FROM":
            target = str(node.get("table_name") or "").strip('"').lower()
            if target not in SHOW_TARGETS:
                raise Rejected(f"SHOW {target} is not available in the console.")
        elif node.get("class") == "FUNCTION" and kind != "TABLE_FUNCTION":
            _check_function_name(node, table_function=False)


def check_plan(plan: Any, source_file: str | None) -> None:
    """Raise Rejected if the physical plan scans anything but the exposed tables of the app database."""
    exposed = set(exposed_tables())
    for node in _walk(plan):
        info = node.get("extra_info")
        if not isinstance(info, dict):
            continue
        table = info.get("Table")
        if isinstance(table, str) and table.strip().lower().split(".")[-1] not in exposed:
            name = table.strip().lower().split(".")[-1]
            raise Rejected(
                _private_message(name)
                if name in PRIVATE_TABLES
                else f"The console cannot read {table}. {_tables_hint()}"
            )
        file = info.get("File")
        if isinstance(file, str) and (source_file is None or file != source_file):
            raise Rejected("Reading files is not allowed in the console.")


# ---- the EXPLAIN prefix
def _skip_blank(text: str, i: int) -> int:
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise Rejected("A /* comment is not closed.")
            i = end + 2
        else:
            break
    return i


def _word(text: str, i: int) -> tuple[str, int]:
    j = i
    while j < len(text) and (text[j].isalnum() or text[j] == "_"):
        j += 1
    return text[i:j].lower(), j


def split_explain(sql: str) -> tuple[str, str]:
    """("explain" | "explain analyze", inner statement text) for an EXPLAIN statement."""
    i = _skip_blank(sql, 0)
    word, i = _word(sql, i)
    if word != "explain":
        raise Rejected("Write EXPLAIN or EXPLAIN ANALYZE in front of a SELECT.")
    i = _skip_blank(sql, i)
    kind = "explain"
    nxt, j = _word(sql, i)
    if nxt in ("analyze", "analyse"):
        kind, i = "explain analyze", _skip_blank(sql, j)
    if sql.startswith("(", i):
        raise Rejected("EXPLAIN options are not supported here; use EXPLAIN or EXPLAIN ANALYZE.")
    return kind, sql[i:]


# ---- the whole check
def _single_statement(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    # The locked connection's parser, not duckdb.extract_statements: parsing IMPORT DATABASE reads files, and
    # the module-level function would do that on DuckDB's unrestricted default connection.
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise Rejected(_duck_message(exc)) from None
    if not statements:
        raise Rejected("Type a query first, e.g. SELECT * FROM employees LIMIT 10.")
    if len(statements) > 1:
        if any(not s.query.strip() for s in statements):
            raise Rejected("This statement expands to several (PIVOT needs an explicit IN (...) list here).")
        raise Rejected(f"Run one statement at a time (found {len(statements)}).")
    return statements[0]


def _duck_message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _parse_tree(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    raw = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    tree: dict[str, Any] = (
        json.loads(raw[0]) if raw else {"error": True, "error_message": "the statement could not be read"}
    )
    if tree.get("error"):
        raise Rejected(
            f"The console runs {READ_ONLY_KINDS} only ({tree.get('error_message', 'not a query')})."
        )
    statements: list[dict[str, Any]] = tree.get("statements") or []
    if len(statements) != 1:
        raise Rejected(f"Run one statement at a time (found {len(statements)}).")
    return statements[0]


def check(con: duckdb.DuckDBPyConnection, sql: str, source_file: str | None) -> Checked:
    """Decide whether `sql` may run on `con` (a locked connection with the views); Rejected if not."""
    if not isinstance(sql, str):
        raise Rejected("The query must be text.")
    if len(sql) > MAX_SQL_CHARS:
        raise Rejected(f"The query is too long ({len(sql):,} characters; at most {MAX_SQL_CHARS:,}).")
    if "\x00" in sql:
        raise Rejected("The query contains a NUL character.")
    statement = _single_statement(con, sql)
    kind = statement.type
    if kind == duckdb.StatementType.SELECT:
        inner, mode = statement.query, "select"
    elif kind == duckdb.StatementType.EXPLAIN:
        mode, inner = split_explain(statement.query)
        nested = _single_statement(con, inner)
        if nested.type != duckdb.StatementType.SELECT:
            raise Rejected(f"EXPLAIN works on a SELECT here, not on {nested.type.name}.")
        inner = nested.query
    else:
        raise Rejected(
            f"The console is read-only: {kind.name} statements are not allowed. It runs {READ_ONLY_KINDS}."
        )
    check_tree(_parse_tree(con, inner))
    try:
        plan_rows = con.execute("EXPLAIN (FORMAT json) " + inner).fetchall()
    except duckdb.InterruptException:
        raise
    except duckdb.Error as exc:
        raise Rejected(_duck_message(exc)) from None
    for row in plan_rows:
        try:
            check_plan(json.loads(row[1]), source_file)
        except (ValueError, TypeError, IndexError):
            raise Rejected("The console could not check this query's plan.") from None
    run_sql = (
        inner
        if mode == "select"
        else ("EXPLAIN ANALYZE " if mode == "explain analyze" else "EXPLAIN ") + inner
    )
    return Checked(run_sql=run_sql, inner=inner, kind=mode)
