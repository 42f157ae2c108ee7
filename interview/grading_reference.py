"""How to run a reference query so that its result says what an answer must match, including row order.

The outermost ORDER BY decides whether order matters. Its keys are resolved to output columns (ordinals,
aliases, repeated expressions); keys that are not output columns are appended to the reference as hidden
columns, so that rows tied on the keys can be told apart from rows in the wrong order. With ORDER BY ...
LIMIT/OFFSET, the reference is also run without the limit to find the rows tied at the cut.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
import sqlglot.errors
from sqlglot import exp

from interview.compare import Expected, expected_from
from interview.grading_datasets import GradingError
from interview.sandbox import RawResult, SandboxError

logger = logging.getLogger(__name__)

HIDDEN_PREFIX = "__athena_key_"


@dataclass(frozen=True)
class OrderKey:
    index: int | None = None  # position of the output column that holds the key
    name: str | None = None  # output column name, resolved against the result (after SELECT *)
    hidden: int | None = None  # position among the hidden key columns appended to the query


@dataclass(frozen=True)
class ReferencePlan:
    sql: str  # what to run for the expected rows; may end with `hidden` key columns
    hidden: int = 0
    order: str = "none"  # "none", "keys" (ties on the keys are free) or "exact" (row positions)
    keys: tuple[OrderKey, ...] = ()
    full_sql: str | None = None  # the query without LIMIT/OFFSET, with the same hidden keys
    order_text: str = ""  # e.g. "ORDER BY total DESC" for messages
    plain_sql: str = ""  # the reference as written


def _is_star(projection: exp.Expression) -> bool:
    return isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    )


def _resolve(key: exp.Expression, projections: list[exp.Expression]) -> OrderKey | None:
    star_seen = False
    if isinstance(key, exp.Literal) and key.is_int:
        return OrderKey(index=int(key.name) - 1)
    for i, projection in enumerate(projections):
        if _is_star(projection):
            star_seen = True
            continue
        same = projection.unalias() == key or (
            isinstance(key, exp.Column)
            and not key.table
            and projection.alias_or_name.lower() == key.name.lower()
        )
        if same:
            return OrderKey(name=projection.alias_or_name) if star_seen else OrderKey(index=i)
    if star_seen and isinstance(key, exp.Column):
        return OrderKey(name=key.name)
    return None


@functools.lru_cache(maxsize=1024)
def plan_reference(sql: str, order_matters: bool | None) -> ReferencePlan:
    """Decide how to run a (DuckDB) reference query and what its row order means."""
    plain = ReferencePlan(sql=sql, plain_sql=sql)
    if order_matters is False:
        return plain
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except (sqlglot.errors.SqlglotError, RecursionError):
        statements = []
    if len(statements) != 1:
        logger.info(
            "reference not analysed for ORDER BY; order is %s", "exact" if order_matters else "ignored"
        )
        return ReferencePlan(sql=sql, order="exact", plain_sql=sql) if order_matters else plain
    tree = statements[0]
    node = tree
    while isinstance(node, exp.Subquery):
        node = node.this
    order = node.args.get("order") if isinstance(node, exp.Query) else None
    if not isinstance(order, exp.Order) or not order.expressions:
        return ReferencePlan(sql=sql, order="exact", plain_sql=sql) if order_matters else plain
    order_text = "ORDER BY " + ", ".join(o.sql(dialect="duckdb") for o in order.expressions)
    projections = list(node.selects) if isinstance(node, exp.Query) else []
    keys: list[OrderKey] = []
    hidden_exprs: list[exp.Expression] = []
    for ordered in order.expressions:
        key = ordered.this if isinstance(ordered, exp.Ordered) else ordered
        resolved = _resolve(key, projections)
        if resolved is None:
            resolved = OrderKey(hidden=len(hidden_exprs))
            hidden_exprs.append(key)
        keys.append(resolved)
    run_sql = sql
    if hidden_exprs:
        if not isinstance(node, exp.Select) or node.args.get("distinct"):
            return ReferencePlan(sql=sql, order="exact", order_text=order_text, plain_sql=sql)
        for h, key in enumerate(hidden_exprs):
            node.append("expressions", exp.alias_(key.copy(), f"{HIDDEN_PREFIX}{h}", quoted=True))
        run_sql = tree.sql(dialect="duckdb")
    full_sql = None
    if node.args.get("limit") is not None or node.args.get("offset") is not None:
        node.set("limit", None)
        node.set("offset", None)
        full_sql = tree.sql(dialect="duckdb")
    return ReferencePlan(
        sql=run_sql,
        hidden=len(hidden_exprs),
        order="keys",
        keys=tuple(keys),
        full_sql=full_sql,
        order_text=order_text,
        plain_sql=sql,
    )


def _key_sources(plan: ReferencePlan, columns: list[str]) -> list[int] | None:
    """Positions (in the raw result row) of each ORDER BY key; None if a key cannot be found."""
    sources = []
    for key in plan.keys:
        if key.index is not None and 0 <= key.index < len(columns):
            sources.append(key.index)
        elif key.name is not None:
            matches = [i for i, c in enumerate(columns) if c.lower() == key.name.lower()]
            if len(matches) != 1:
                return None
            sources.append(matches[0])
        elif key.hidden is not None:
            sources.append(len(columns) + key.hidden)
        else:
            return None
    return sources


def expected_result(run: Callable[[str], RawResult], plan: ReferencePlan, dataset: str) -> Expected:
    """Run the reference as planned (with `run`, on one dataset) and build what answers are compared with."""
    try:
        raw = run(plan.sql)
    except SandboxError as exc:
        if plan.sql == plan.plain_sql:
            raise GradingError(f"The reference query does not run on dataset '{dataset}': {exc}") from exc
        logger.warning(
            "reference with order keys failed; requiring its exact order", extra={"error": str(exc)}
        )
        exact = ReferencePlan(
            sql=plan.plain_sql, plain_sql=plan.plain_sql, order="exact", order_text=plan.order_text
        )
        return expected_result(run, exact, dataset)
    width = len(raw.columns) - plan.hidden
    if width < 1:
        raise GradingError(f"The reference query returns no columns on dataset '{dataset}'.")
    columns, rows = raw.columns[:width], [r[:width] for r in raw.rows]
    order = plan.order
    sources = _key_sources(plan, columns) if order == "keys" else None
    if order == "keys" and sources is None:
        order = "exact"
    keys = full_rows = full_keys = None
    if sources is not None:
        keys = [tuple(r[i] for i in sources) for r in raw.rows]
        if plan.full_sql:
            try:
                full = run(plan.full_sql)
                full_rows = [r[:width] for r in full.rows]
                full_keys = [tuple(r[i] for i in sources) for r in full.rows]
            except SandboxError as exc:
                logger.warning(
                    "reference without its LIMIT failed; no ties at the cut", extra={"error": str(exc)}
                )
    expected = expected_from(
        columns,
        rows,
        keys=keys,
        order=order,
        full_rows=full_rows,
        full_keys=full_keys,
        order_text=plan.order_text,
    )
    expected.truncated = raw.truncated
    if raw.truncated:
        logger.warning("reference result truncated", extra={"dataset": dataset, "rows": len(rows)})
    return expected
