"""Semantic fixes to a parsed answer so that DuckDB runs it the way its own engine would.

Integer division (postgres, sqlite, tsql), NULL handling of CONCAT (mysql, bigquery, snowflake) and of `||`
(oracle), `+` on strings (tsql), sized string casts, FLOAT/DECIMAL precision, DAYOFWEEK numbering, APPLY joins,
schema-qualified table names, ROWNUM and DUAL (oracle), TOP ... PERCENT and TOP/FETCH ... WITH TIES. Column
types come from the dataset's schema, through sqlglot's qualify + annotate_types on a copy of the tree.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping

import sqlglot.errors
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

logger = logging.getLogger(__name__)

_MAX_TYPED_NODES = 4_000  # beyond this, schema types are not worked out (sqlglot's qualify gets slow)
_TEXT_TYPES = {
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.NVARCHAR,
    exp.DataType.Type.CHAR,
    exp.DataType.Type.NCHAR,
    exp.DataType.Type.TEXT,
}
_INTEGER_DIVISION = {"postgres", "sqlite", "tsql"}
_SUNDAY_IS_ONE = {"mysql", "bigquery"}  # DAYOFWEEK numbers Sunday 1 there, 0 in DuckDB
_CONCAT_PROPAGATES_NULL = {"mysql", "bigquery", "snowflake"}


@functools.lru_cache(maxsize=64)
def _mapping_schema(schema_key: str, reader: str | type[Dialect]) -> MappingSchema:
    """sqlglot's view of a dataset schema (building it parses every type: worth caching)."""
    return MappingSchema(_schema_types(json.loads(schema_key)), dialect=reader, normalize=True)


def _needs_types(tree: exp.Expression, dialect: str) -> bool:
    """Whether a rewrite depends on column types (working them out costs sqlglot a qualify pass)."""
    for node in tree.walk():
        if isinstance(node, exp.Div) and dialect in _INTEGER_DIVISION:
            if not any(
                isinstance(side, exp.Literal) and side.is_number and not side.is_int
                for side in node.args.values()
            ):
                return True
        elif (isinstance(node, exp.Add) and dialect == "tsql") or (
            isinstance(node, exp.DateTrunc) and dialect == "oracle"
        ):
            return True
    return False


def _schema_types(schema: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, exp.DataType]]:
    types: dict[str, dict[str, exp.DataType]] = {}
    for table, columns in schema.items():
        for column, type_name in columns.items():
            try:
                parsed = exp.DataType.build(type_name, dialect="duckdb")
            except (sqlglot.errors.SqlglotError, ValueError):
                parsed = exp.DataType.build("UNKNOWN")
            types.setdefault(table, {})[column] = parsed
    return types


def _types(
    tree: exp.Expression, schema: Mapping[str, Mapping[str, str]], reader: str | type[Dialect]
) -> dict[int, exp.DataType]:
    """Annotate a qualified copy of the tree and return the types of the original nodes, by node id."""
    nodes = 0
    for node in tree.walk():
        node.meta["athena_id"] = id(node)
        nodes += 1
    copy = tree.copy()
    try:
        if nodes > _MAX_TYPED_NODES:
            raise ValueError("too large to qualify")  # literal types only: qualify is slow on huge queries
        mapping = _mapping_schema(json.dumps(schema, sort_keys=True), reader)
        qualified = qualify(
            copy, schema=mapping, dialect=reader, validate_qualify_columns=False, quote_identifiers=False
        )
        annotate_types(qualified, schema=mapping, dialect=reader)
    except Exception:  # sqlglot's optimizer raises many kinds of errors on odd but valid SQL
        logger.debug("could not qualify an answer; using literal types only", exc_info=True)
        if nodes > _MAX_TYPED_NODES:
            return {}
        try:
            qualified = annotate_types(tree.copy(), dialect=reader)
        except Exception:
            return {}
    types: dict[int, exp.DataType] = {}
    for node in qualified.walk():
        key = node.meta.get("athena_id")
        if key is not None and node.type is not None and key not in types:
            types[key] = node.type
    return types


def _is(node: exp.Expression, types: dict[int, exp.DataType], kinds: set[exp.DataType.Type]) -> bool:
    if isinstance(node, exp.Paren):
        return _is(node.this, types, kinds)
    found = types.get(id(node))
    return found is not None and found.this in kinds


def _is_text(node: exp.Expression, types: dict[int, exp.DataType]) -> bool:
    if isinstance(node, exp.Paren):
        return _is_text(node.this, types)
    if node.is_string or isinstance(node, exp.DPipe | exp.Concat | exp.ConcatWs):
        return True
    return _is(node, types, _TEXT_TYPES)


# ---------------------------------------------------------------- semantic rewrites


def _rename_function(node: exp.Anonymous, dialect: str) -> None:
    """Functions sqlglot passes through unchanged that DuckDB names or defines differently."""
    name = str(node.this).upper()
    args = node.expressions
    if name == "TRUNCATE" and dialect == "mysql" and len(args) == 2:
        node.replace(exp.Anonymous(this="TRUNC", expressions=args))
    elif name == "JULIANDAY" and dialect == "sqlite" and len(args) == 1:
        julian = exp.Anonymous(this="JULIAN", expressions=[exp.cast(args[0], "TIMESTAMP")])
        node.replace(exp.Paren(this=exp.Sub(this=julian, expression=exp.Literal.number(0.5))))
    elif name == "TOTAL" and dialect == "sqlite" and len(args) == 1:
        total = exp.Coalesce(
            this=exp.cast(exp.Sum(this=args[0]), "DOUBLE"), expressions=[exp.Literal.number(0.0)]
        )
        node.replace(total)


# DECIMAL without precision: exact numbers in PostgreSQL/Oracle/SQLite (read as DOUBLE here: DuckDB's default
# DECIMAL(18,3) would round), whole numbers in SQL Server (18,0) and MySQL (10,0), BigQuery's NUMERIC (38,9).
_BARE_DECIMAL = {"postgres": "DOUBLE", "oracle": "DOUBLE", "sqlite": "DOUBLE", "tsql": "DECIMAL(18, 0)",
                 "mysql": "DECIMAL(10, 0)", "bigquery": "DECIMAL(38, 9)"}  # fmt: skip


def _number_type(node: exp.DataType, dialect: str) -> None:
    """FLOAT/REAL mean 8-byte floats in most engines (DuckDB's are 4-byte); DECIMAL's default precision varies."""
    if node.this == exp.DataType.Type.FLOAT:
        node.replace(exp.DataType.build("DOUBLE"))
    elif node.this == exp.DataType.Type.DECIMAL and not node.expressions and dialect in _BARE_DECIMAL:
        node.replace(exp.DataType.build(_BARE_DECIMAL[dialect], dialect="duckdb"))


def _apply_join(join: exp.Join) -> None:
    """T-SQL CROSS APPLY / OUTER APPLY -> CROSS JOIN LATERAL / LEFT JOIN LATERAL ... ON TRUE."""
    lateral = join.this
    cross_apply = lateral.args.get("cross_apply")
    if cross_apply is None:
        return
    lateral.set("cross_apply", None)
    if cross_apply:
        join.set("kind", "CROSS")
    else:
        join.set("side", "LEFT")
        join.set("on", exp.true())


def _unqualify_table(table: exp.Table, schema_tables: set[str]) -> None:
    """dbo.employees, `project.dataset.employees`: the practice tables live in DuckDB's main schema."""
    if table.args.get("db") is None or not isinstance(table.this, exp.Identifier):
        return
    if table.name.lower() in schema_tables and table.args["db"].name.lower() not in ("main", "memory"):
        table.set("db", None)
        table.set("catalog", None)


def _alias_function_column(table: exp.Table) -> None:
    """PostgreSQL: in `generate_series(...) AS g` the alias also names the column."""
    alias = table.args.get("alias")
    if (
        isinstance(table.this, exp.Anonymous | exp.Func)
        and isinstance(alias, exp.TableAlias)
        and alias.this is not None
        and not alias.columns
    ):
        alias.set("columns", [exp.to_identifier(alias.name)])


def _rewrite(
    tree: exp.Expression, dialect: str, types: dict[int, exp.DataType], schema_tables: set[str] | None = None
) -> exp.Expression:
    schema_tables = schema_tables or set()
    integer = set(exp.DataType.INTEGER_TYPES)
    numeric = set(exp.DataType.NUMERIC_TYPES)
    nodes = list(tree.walk(bfs=False))[::-1]  # reversed pre-order: children before their parents
    for node in nodes:
        if node.parent is None and node is not tree:
            continue  # detached by an earlier replacement
        if isinstance(node, exp.Div):
            if (
                dialect in _INTEGER_DIVISION
                and _is(node.left, types, integer)
                and _is(node.right, types, integer)
            ):
                node.replace(exp.IntDiv(this=node.left, expression=node.right))
            else:
                node.set("typed", False)
        elif isinstance(node, exp.Add) and dialect == "tsql":
            if _is_text(node.left, types) or _is_text(node.right, types):
                node.replace(exp.DPipe(this=node.left, expression=node.right, safe=True))
        elif (
            isinstance(node, exp.Concat)
            and not isinstance(node, exp.ConcatWs)
            and dialect in _CONCAT_PROPAGATES_NULL
            and not node.args.get("coalesce")
        ):
            parts = [p if _is_text(p, types) else exp.cast(p, "TEXT") for p in node.expressions]
            if parts:
                chained = parts[0]
                for part in parts[1:]:
                    chained = exp.DPipe(this=chained, expression=part, safe=True)
                node.replace(exp.Paren(this=chained) if len(parts) > 1 else chained)
        elif isinstance(node, exp.DPipe) and dialect == "oracle":
            node.replace(exp.Concat(expressions=[node.left, node.right], safe=True, coalesce=True))
        elif isinstance(node, exp.DateTrunc) and dialect == "oracle" and _is(node.this, types, numeric):
            node.replace(exp.Anonymous(this="TRUNC", expressions=[node.this]))
        elif isinstance(node, exp.Cast | exp.TryCast | exp.Convert):
            _shorten_sized_cast(node)
        elif (
            _is_rownum(node)
            and dialect == "oracle"
            and (not isinstance(node.parent, exp.Binary) or node.find_ancestor(exp.Where) is None)
        ):
            node.replace(exp.Window(this=exp.RowNumber()))
        elif isinstance(node, exp.Anonymous):
            _rename_function(node, dialect)
        elif isinstance(node, exp.DataType):
            _number_type(node, dialect)
        elif (
            isinstance(node, exp.DayOfWeek)
            and dialect in _SUNDAY_IS_ONE
            or (
                isinstance(node, exp.Extract)
                and dialect in _SUNDAY_IS_ONE
                and node.this.name.upper() in ("DAYOFWEEK", "DOW", "WEEKDAY")
            )
        ):
            node.replace(exp.Paren(this=exp.Add(this=node.copy(), expression=exp.Literal.number(1))))
        elif isinstance(node, exp.Join) and isinstance(node.this, exp.Lateral):
            _apply_join(node)
        elif isinstance(node, exp.Table):
            _unqualify_table(node, schema_tables)
            if dialect == "postgres":
                _alias_function_column(node)
    for select in list(tree.find_all(exp.Select)):
        if dialect == "oracle":
            _oracle_rownum_limit(select)
            _drop_dual(select)
        _with_ties(select)
        _top_percent(select)
    return tree


def _shorten_sized_cast(node: exp.Cast | exp.TryCast | exp.Convert) -> None:
    """CAST(x AS VARCHAR(n)) keeps n characters in most engines; DuckDB ignores the length."""
    target = node.this if isinstance(node, exp.Convert) else node.args.get("to")
    if not isinstance(target, exp.DataType) or target.this not in _TEXT_TYPES or not target.expressions:
        return
    size = target.expressions[0]
    size = size.this if isinstance(size, exp.DataTypeParam) else size
    if not (isinstance(size, exp.Literal) and size.is_int):
        return
    unsized = exp.DataType(this=target.this)
    if isinstance(node, exp.Convert):
        node.set("this", unsized)
    else:
        node.set("to", unsized)
    placeholder = exp.null()
    node.replace(placeholder)
    placeholder.replace(exp.Left(this=node, expression=exp.Literal.number(int(size.name))))


def _oracle_rownum_limit(select: exp.Select) -> None:
    """WHERE ... AND ROWNUM <= n  ->  WHERE ... LIMIT n (Oracle numbers rows after the other filters)."""
    where = select.args.get("where")
    if where is None:
        return
    conditions = list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
    kept, limit = [], None
    for cond in conditions:
        n = _rownum_bound(cond)
        if n is None:
            kept.append(cond)
        else:
            limit = n if limit is None else min(limit, n)
    if limit is None:
        return
    select.set("where", exp.Where(this=exp.and_(*kept)) if kept else None)
    existing = select.args.get("limit")
    if isinstance(existing, exp.Limit) and existing.expression.is_int:
        limit = min(limit, int(existing.expression.name))
    select.set("limit", exp.Limit(expression=exp.Literal.number(max(0, limit))))


def _is_rownum(node: exp.Expression) -> bool:
    return isinstance(node, exp.Column) and node.name.upper() == "ROWNUM" and not node.table


def _rownum_bound(cond: exp.Expression) -> int | None:
    if not isinstance(cond, exp.Binary):
        return None
    left, right = cond.left, cond.right
    kind: type[exp.Expression] = type(cond)
    if _is_rownum(right) and not _is_rownum(left):
        left, right = right, left
        flipped: dict[type[exp.Expression], type[exp.Expression]] = {
            exp.GTE: exp.LTE, exp.GT: exp.LT, exp.LTE: exp.GTE, exp.LT: exp.GT
        }  # fmt: skip
        kind = flipped.get(kind, kind)
    if not _is_rownum(left) or not (isinstance(right, exp.Literal) and right.is_int):
        return None
    n = int(right.name)
    if kind is exp.LTE:
        return n
    if kind is exp.LT:
        return n - 1
    if kind is exp.EQ and n == 1:
        return 1
    return None


def _drop_dual(select: exp.Select) -> None:
    source = select.args.get("from")
    if (
        source is not None
        and isinstance(source.this, exp.Table)
        and source.this.name.upper() == "DUAL"
        and not source.this.db
        and not select.args.get("joins")
    ):
        select.set("from", None)


def _top_percent(select: exp.Select) -> None:
    """TOP n PERCENT -> the first CEILING(n% of the rows), like SQL Server."""
    limit = select.args.get("limit")
    if not isinstance(limit, exp.Limit):
        return
    options = limit.args.get("limit_options")
    if (
        not isinstance(options, exp.LimitOptions)
        or not options.args.get("percent")
        or options.args.get("with_ties")
    ):
        return
    count = limit.expression
    order = select.args.get("order")
    window = exp.Window(this=exp.RowNumber(), order=order.copy() if order is not None else None)
    total = exp.Window(this=exp.Count(this=exp.Star()))
    share = exp.Ceil(
        this=exp.Div(this=exp.Mul(this=total, expression=count.copy()), expression=exp.Literal.number(100.0))
    )
    condition: exp.Expression = exp.LTE(this=window, expression=share)
    existing = select.args.get("qualify")
    if existing is not None:
        condition = exp.and_(existing.this, condition)
    select.set("qualify", exp.Qualify(this=condition))
    select.set("limit", None)


def _with_ties(select: exp.Select) -> None:
    """TOP n WITH TIES / FETCH FIRST n ROWS WITH TIES -> QUALIFY RANK() OVER (ORDER BY ...) <= n."""
    limit = select.args.get("limit")
    if not isinstance(limit, exp.Limit | exp.Fetch):
        return
    options = limit.args.get("limit_options")
    if not (isinstance(options, exp.LimitOptions) and options.args.get("with_ties")):
        return
    count = limit.expression if isinstance(limit, exp.Limit) else limit.args.get("count")
    order = select.args.get("order")
    options.set("with_ties", None)
    if count is None or order is None or select.args.get("offset") is not None:
        return
    projections = select.selects
    keys = []
    for ordered in order.expressions:
        key = ordered.this
        if isinstance(key, exp.Literal) and key.is_int and 0 < int(key.name) <= len(projections):
            key = projections[int(key.name) - 1].unalias()
        copy = ordered.copy()
        copy.set("this", key.copy())
        keys.append(copy)
    rank = exp.Window(this=exp.Anonymous(this="RANK"), order=exp.Order(expressions=keys))
    condition: exp.Expression = exp.LTE(this=rank, expression=count.copy())
    existing = select.args.get("qualify")
    if existing is not None:
        condition = exp.and_(existing.this, condition)
    select.set("qualify", exp.Qualify(this=condition))
    select.set("limit", None)


def rewrite(
    tree: exp.Expression, dialect: str, schema: Mapping[str, Mapping[str, str]], reader: str | type[Dialect]
) -> exp.Expression:
    """Apply the semantic fixes in place (types from the schema) and return the tree."""
    types = _types(tree, schema, reader) if _needs_types(tree, dialect) else {}
    return _rewrite(tree, dialect, types, {t.lower() for t in schema})
