"""What the Analytics tab shows, assembled from queries and charts, free of Gradio (the benchmark and tests use
these directly): the team view for a set of filters, one employee's drill-down, one interview's evidence."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analytics import charts, evidence, queries
from analytics.queries import Filters
from analytics.snapshot import snapshot_for
from interview.report import label
from store import Store

log = logging.getLogger(__name__)

PEOPLE_COLUMNS = [
    "Employee ID",
    "Name",
    "Department",
    "Role",
    "Interviews",
    "Answers",
    "Mean score",
    "Last interview",
    "Trend / month",
]
SESSION_COLUMNS = ["Interview", "Started", "Status", "Answers", "Overall score"]
EVIDENCE_COLUMNS = [
    "Answer id",
    "#",
    "Question",
    "Category",
    "Difficulty",
    "Transcript",
    "SQL",
    "Grade",
    "Feedback",
    "Score",
    "Original score",
    "Override reason",
]


@functools.cache
def _bank_prompts_cached() -> dict[str, str]:
    from interview.questions import load_bank

    return {q.id: q.prompt for q in load_bank()}


def bank_prompts() -> dict[str, str]:
    """Question prompts by bank id, for hover text; empty when the bank cannot be loaded."""
    try:
        return _bank_prompts_cached()
    except Exception as exc:  # the charts still work without hover text
        log.warning("question bank unavailable for chart hover text", extra={"error": str(exc)[:200]})
        return {}


@dataclass
class TeamView:
    filters: Filters
    options: queries.FilterOptions
    overview: dict[str, Any]
    figures: dict[str, go.Figure]
    people: pd.DataFrame  # PEOPLE_COLUMNS


def people_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "Employee ID": df["employee_id"],
            "Name": df["name"],
            "Department": df["department"],
            "Role": df["role"],
            "Interviews": df["sessions"],
            "Answers": df["answers"],
            "Mean score": df["mean_score"].round(2),
            "Last interview": df["last_interview"].astype(str).str[:10],
            "Trend / month": df["trend"].round(3).astype(object).where(df["trend"].notna(), ""),
        }
    )
    return out.reindex(columns=PEOPLE_COLUMNS)


def team_view(
    store: Store, f: Filters, *, sort: str = "lowest score", search: str = "", people_limit: int = 200
) -> TeamView:
    """Everything the team part of the tab shows for these filters: one refresh."""
    with snapshot_for(store).reading() as cur:
        options = queries.filter_options(cur)
        head = queries.overview(cur, f)
        stats = queries.question_stats(cur, f)
        figures = {
            "distribution": charts.score_distribution(queries.score_distribution(cur, f)),
            "heatmap": charts.category_heatmap(queries.category_heatmap(stats)),
            "departments": charts.department_trends(queries.department_trends(cur, f)),
            "employees": charts.employee_trends(queries.employee_trends(cur, f)),
            "questions": charts.question_difficulty(queries.question_difficulty(stats), bank_prompts()),
        }
        people = people_frame(queries.employee_table(cur, f, sort=sort, search=search, limit=people_limit))
    return TeamView(filters=f, options=options, overview=head, figures=figures, people=people)


def people_view(store: Store, f: Filters, *, sort: str, search: str, limit: int = 200) -> pd.DataFrame:
    with snapshot_for(store).reading() as cur:
        return people_frame(queries.employee_table(cur, f, sort=sort, search=search, limit=limit))


def summary_markdown(view: TeamView) -> str:
    o = view.overview
    if not o["sessions"]:
        return f"**No interviews match these filters** ({view.filters.describe()})."

    def score(value: Any) -> str:
        return "–" if value is None else f"{value:.2f}"

    return (
        f"**{o['sessions']:,}** interviews (**{o['completed']:,}** completed, {o['incomplete']:,} incomplete, "
        f"{o['in_progress']:,} in progress) of **{o['employees']:,}** people; **{o['answers']:,}** scored "
        f"answers, mean answer score **{score(o['mean_answer_score'])}**, mean interview score "
        f"**{score(o['mean_session_score'])}**. Showing {view.filters.describe()}."
    )


@dataclass
class EmployeeView:
    info: dict[str, Any]
    sessions: pd.DataFrame  # SESSION_COLUMNS
    radar: go.Figure
    trend: go.Figure
    session_ids: list[int]


def employee_view(store: Store, employee_id: str, f: Filters) -> EmployeeView | None:
    """One employee's interviews (in the date range), monthly trend, and category profile beside their
    department's."""
    with snapshot_for(store).reading() as cur:
        info = queries.employee_info(cur, employee_id)
        if info is None:
            return None
        sessions = queries.employee_sessions(cur, employee_id, f)
        profile = queries.category_profile(cur, employee_id, f)
        trend = queries.employee_trends(cur, Filters(start=f.start, end=f.end), [employee_id])
    table = pd.DataFrame(
        {
            "Interview": sessions["session_id"],
            "Started": sessions["start_time"].astype(str).str[:16],
            "Status": sessions["status"],
            "Answers": sessions["answers"],
            "Overall score": sessions["overall_score"].round(3),
        }
    )
    name = info["name"] or employee_id
    team = f"{info['department']} average" if info["department"] else "everyone's average"
    return EmployeeView(
        info=info,
        sessions=table.reindex(columns=SESSION_COLUMNS),
        radar=charts.category_radar(profile, name, team),
        trend=charts.employee_trends(
            trend, f"Trend: {name} (mean score per month)", "No scored answers in the date range."
        ),
        session_ids=[int(s) for s in sessions["session_id"]],
    )


def _grade(row: dict[str, Any]) -> str:
    if not row["grade_verdict"]:
        return ""
    return row["grade_verdict"] + (f" ({row['grade_score']:.2f})" if row["grade_score"] is not None else "")


def evidence_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The evidence rows of one interview as the table the tab shows (EVIDENCE_COLUMNS)."""
    records = [
        [
            row["response_id"],
            row["position"],
            row["question_text"],
            label(row["category"]),
            row["difficulty"],
            row["response_text"] or "",
            row["sql_text"] or "",
            _grade(row),
            row["feedback"] or "",
            None if row["score"] is None else round(float(row["score"]), 3),
            None if row["original_score"] is None else round(float(row["original_score"]), 3),
            row["override_reason"] or "",
        ]
        for row in rows
    ]
    return pd.DataFrame(records, columns=EVIDENCE_COLUMNS)


def session_view(store: Store, session_id: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """One interview's header (session, employee, report) and its evidence rows."""
    return evidence.session_header(store, session_id), evidence.session_evidence(store, session_id)
