"""The Analytics tab's questions of the data, with filters by department, role and date range.

They run on the DuckDB snapshot (analytics.snapshot; tables in analytics.snapshot_sql): `sessions` has one row
per interview with its answers' count and score sum, `facts` one row per scored answer with a question code,
both carrying the employee's department and role. Every function takes a cursor and returns a small pandas frame
or a dict; the evidence behind one interview lives in analytics.evidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import duckdb
import pandas as pd

PASS_MARK = 0.5  # an answer scoring below this counts as failed in "observed difficulty"
MAX_FILTER_VALUES = 200


class FilterError(ValueError):
    """A filter value the Analytics tab cannot use; the message says which and what is allowed."""


def _as_date(value: Any, name: str) -> date | None:
    """A date from a date, datetime, timestamp (seconds) or ISO string; None for empty."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise FilterError(f"The {name} date is not a valid date.")
        return datetime.fromtimestamp(value).date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise FilterError(
                f"The {name} date must look like 2025-03-31, not {value.strip()[:40]!r}."
            ) from None
    raise FilterError(f"The {name} date must be a date such as 2025-03-31.")


def _as_names(values: Any, name: str) -> tuple[str, ...]:
    if values is None or values == "":
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Sequence) or any(not isinstance(v, str) for v in values):
        raise FilterError(f"The {name} filter must be a list of names.")
    if len(values) > MAX_FILTER_VALUES:
        raise FilterError(f"The {name} filter accepts at most {MAX_FILTER_VALUES} values.")
    return tuple(sorted({v.strip() for v in values if v.strip()}))


@dataclass(frozen=True)
class Filters:
    """Which interviews the charts cover; empty means everything. Dates are inclusive and apply to the start
    of each interview."""

    departments: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None

    @classmethod
    def parse(cls, departments: Any = None, roles: Any = None, start: Any = None, end: Any = None) -> Filters:
        """Filters from UI or API values; raises FilterError with a message fit for the user."""
        f = cls(
            _as_names(departments, "department"),
            _as_names(roles, "role"),
            _as_date(start, "start"),
            _as_date(end, "end"),
        )
        if f.start and f.end and f.start > f.end:
            raise FilterError(f"The start date ({f.start}) is after the end date ({f.end}).")
        return f

    def where(self, *extra: str) -> tuple[str, list[Any]]:
        """A WHERE clause over a table with department, role and start_time columns, and its parameters."""
        clauses = [c for c in extra if c]
        params: list[Any] = []
        for column, values in (("department", self.departments), ("role", self.roles)):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if self.start:
            clauses.append("start_time >= ?")
            params.append(datetime.combine(self.start, time.min))
        if self.end:
            clauses.append("start_time < ?")
            params.append(datetime.combine(self.end + timedelta(days=1), time.min))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def describe(self) -> str:
        parts = [", ".join(self.departments) or "all departments", ", ".join(self.roles) or "all roles"]
        if self.start or self.end:
            parts.append(f"{self.start or 'the start'} to {self.end or 'today'}")
        return "; ".join(parts)


def _df(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pd.DataFrame:
    return cur.execute(sql, params).df()


# Answer-weighted mean score of a group of sessions (each session carries its answers' count and score sum).
MEAN = "sum(score_sum) / nullif(sum(answers), 0)"
MONTHS = "epoch(start_time) / 2629746.0"  # a time axis in months, for trends


# ---- filter choices and headline
@dataclass(frozen=True)
class FilterOptions:
    departments: list[str]
    roles: list[str]
    first: date | None
    last: date | None


def filter_options(cur: duckdb.DuckDBPyConnection) -> FilterOptions:
    depts = cur.execute("SELECT DISTINCT department FROM employees WHERE department IS NOT NULL ORDER BY 1")
    department_list = [r[0] for r in depts.fetchall()]
    roles = [
        r[0]
        for r in cur.execute(
            "SELECT DISTINCT role FROM employees WHERE role IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    row = cur.execute(
        "SELECT CAST(min(start_time) AS DATE), CAST(max(start_time) AS DATE) FROM sessions"
    ).fetchone()
    return FilterOptions(department_list, roles, row[0] if row else None, row[1] if row else None)


def overview(cur: duckdb.DuckDBPyConnection, f: Filters) -> dict[str, Any]:
    """Headline counts: interviews (completed, incomplete, in progress), people, answers, mean scores."""
    where, params = f.where()
    row = cur.execute(
        "SELECT count(*), count(*) FILTER (status = 'completed'), count(*) FILTER (status = 'incomplete'), "
        "count(*) FILTER (status = 'in_progress'), count(DISTINCT emp), avg(overall_score), "
        f"coalesce(sum(answers), 0), {MEAN} FROM sessions{where}",
        params,
    ).fetchone()
    assert row is not None
    keys = (
        "sessions",
        "completed",
        "incomplete",
        "in_progress",
        "employees",
        "mean_session_score",
        "answers",
        "mean_answer_score",
    )
    return dict(zip(keys, row, strict=True))


# ---- team charts
def score_distribution(cur: duckdb.DuckDBPyConnection, f: Filters, bins: int = 20) -> pd.DataFrame:
    """Completed interviews per overall-score bin and department: bin_start, department, sessions."""
    where, params = f.where("status = 'completed'", "overall_score IS NOT NULL")
    return _df(
        cur,
        f"SELECT least(floor(overall_score * {bins}), {bins - 1}) / {bins} AS bin_start, "
        f"coalesce(department, '(none)') AS department, count(*) AS sessions FROM sessions{where} "
        "GROUP BY ALL ORDER BY 1, 2",
        params,
    )


def question_stats(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """One row per question asked in the filters: question_key, category, difficulty, kind, answers, mean_score,
    fail_rate (share of answers under PASS_MARK). The heatmap and observed difficulty both derive from it."""
    where, params = f.where()
    return _df(
        cur,
        "WITH per AS (SELECT q, count(*) AS answers, avg(score) AS mean_score, "
        f"avg(CAST(score < {PASS_MARK} AS INTEGER)) AS fail_rate FROM facts{where} GROUP BY q) "
        "SELECT question_key, category, difficulty, kind, answers, mean_score, fail_rate "
        "FROM per JOIN questions USING (q) ORDER BY question_key",
        params,
    )


def category_heatmap(stats: pd.DataFrame) -> pd.DataFrame:
    """Mean answer score by category and difficulty from question_stats: category, difficulty, mean_score,
    answers."""
    if stats.empty:
        return pd.DataFrame(columns=["category", "difficulty", "mean_score", "answers"])
    weighted = stats.assign(total=stats["mean_score"] * stats["answers"])
    out = weighted.groupby(["category", "difficulty"], as_index=False)[["total", "answers"]].sum()
    out["mean_score"] = out["total"] / out["answers"]
    return out[["category", "difficulty", "mean_score", "answers"]]


def question_difficulty(stats: pd.DataFrame, limit: int = 15, min_answers: int = 5) -> pd.DataFrame:
    """The questions people fail most, lowest mean score first (questions with at least `min_answers`)."""
    kept = stats[stats["answers"] >= min_answers]
    return kept.sort_values(["mean_score", "question_key"]).head(limit).reset_index(drop=True)


def department_trends(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Mean answer score per month and department: month, department, mean_score, answers."""
    where, params = f.where("answers > 0")
    return _df(
        cur,
        f"SELECT month, coalesce(department, '(none)') AS department, {MEAN} AS mean_score, "
        f"sum(answers) AS answers FROM sessions{where} GROUP BY ALL ORDER BY 1, 2",
        params,
    )


def employee_trends(
    cur: duckdb.DuckDBPyConnection, f: Filters, employee_ids: Sequence[str] = (), top: int = 6
) -> pd.DataFrame:
    """Mean answer score per month for the given employees, or else the `top` most improved (steepest trend
    over interviews in at least three different months): month, employee_id, name, mean_score, answers."""
    where, params = f.where("answers > 0")
    if employee_ids:
        chosen = "SELECT emp FROM employees WHERE employee_id IN (SELECT unnest(CAST(? AS VARCHAR[])))"
        chosen_params: list[Any] = [list(employee_ids)]
    else:
        chosen = (
            f"SELECT emp FROM sessions{where} GROUP BY emp HAVING count(DISTINCT month) >= 3 "
            f"ORDER BY regr_slope(score_sum / answers, {MONTHS}) DESC NULLS LAST, emp LIMIT {int(top)}"
        )
        chosen_params = params
    return _df(
        cur,
        f"WITH chosen AS ({chosen}), monthly AS (SELECT month, emp, {MEAN} AS mean_score, sum(answers) AS answers "
        f"FROM sessions{where}{' AND' if where else ' WHERE'} emp IN (SELECT emp FROM chosen) GROUP BY month, emp) "
        "SELECT m.month, e.employee_id, coalesce(e.name, e.employee_id) AS name, m.mean_score, m.answers "
        "FROM monthly m JOIN employees e USING (emp) ORDER BY e.employee_id, m.month",
        [*chosen_params, *params],
    )


EMPLOYEE_SORTS = {
    "lowest score": "mean_score ASC NULLS LAST",
    "highest score": "mean_score DESC NULLS LAST",
    "most interviews": "sessions DESC",
    "most improved": "trend DESC NULLS LAST",
    "latest interview": "last_interview DESC",
}


def employee_table(
    cur: duckdb.DuckDBPyConnection, f: Filters, sort: str = "lowest score", limit: int = 200, search: str = ""
) -> pd.DataFrame:
    """One row per employee interviewed in the filters: employee_id, name, department, role, sessions, answers,
    mean_score, last_interview, trend (change in score per month)."""
    order = EMPLOYEE_SORTS.get(sort)
    if order is None:
        raise FilterError(f"Sort by one of: {', '.join(EMPLOYEE_SORTS)}.")
    search = search.strip()[:100]
    where, params = f.where("(employee_id ILIKE ? OR name ILIKE ?)" if search else "")
    if search:
        params = [f"%{search}%", f"%{search}%", *params]
    return _df(
        cur,
        "WITH per AS (SELECT emp, count(*) AS sessions, sum(answers) AS answers, "
        f"{MEAN} AS mean_score, max(start_time) AS last_interview, "
        f"regr_slope(score_sum / nullif(answers, 0), {MONTHS}) AS trend FROM sessions{where} "
        f"GROUP BY emp ORDER BY {order}, emp LIMIT {int(limit)}) "
        "SELECT e.employee_id, coalesce(e.name, e.employee_id) AS name, e.department, e.role, per.sessions, "
        f"per.answers, per.mean_score, per.last_interview, per.trend FROM per LEFT JOIN employees e USING (emp) "
        f"ORDER BY {order}, e.employee_id",
        params,
    )


# ---- one employee
def employee_info(cur: duckdb.DuckDBPyConnection, employee_id: str) -> dict[str, Any] | None:
    row = cur.execute(
        "SELECT employee_id, name, department, role FROM employees WHERE employee_id = ?", [employee_id]
    ).fetchone()
    return dict(zip(("employee_id", "name", "department", "role"), row, strict=True)) if row else None


def employee_sessions(cur: duckdb.DuckDBPyConnection, employee_id: str, f: Filters) -> pd.DataFrame:
    """The employee's interviews in the date range, newest first: session_id, start_time, status, answers,
    overall_score, mean_answer_score."""
    where, params = Filters(start=f.start, end=f.end).where("employee_id = ?")
    return _df(
        cur,
        "SELECT session_id, start_time, status, answers, overall_score, "
        f"score_sum / nullif(answers, 0) AS mean_answer_score FROM sessions{where} "
        "ORDER BY start_time DESC, session_id DESC",
        [employee_id, *params],
    )


def category_profile(cur: duckdb.DuckDBPyConnection, employee_id: str, f: Filters) -> pd.DataFrame:
    """The employee's mean score per category beside their department's, in the date range: category,
    employee, team, answers."""
    dates = Filters(start=f.start, end=f.end)
    mine, mine_params = dates.where("emp = (SELECT emp FROM employees WHERE employee_id = ?)")
    info = employee_info(cur, employee_id)
    team, team_params = Filters(
        departments=(info["department"],) if info and info["department"] else (), start=f.start, end=f.end
    ).where()
    return _df(
        cur,
        "WITH mine AS (SELECT category, avg(score) AS employee, count(*) AS answers FROM facts "
        f"JOIN questions USING (q){mine} GROUP BY 1), "
        "team AS (SELECT category, sum(total) / sum(n) AS team FROM (SELECT q, sum(score) AS total, "
        f"count(*) AS n FROM facts{team} GROUP BY q) JOIN questions USING (q) GROUP BY 1) "
        "SELECT category, mine.employee, team.team, coalesce(mine.answers, 0) AS answers "
        "FROM team FULL JOIN mine USING (category) ORDER BY category",
        [employee_id, *mine_params, *team_params],
    )
