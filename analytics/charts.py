"""Plotly figures for the Analytics tab, each from one frame of analytics.queries (pure: no I/O).

Figures are assembled from plain dicts with plotly's per-property validation off: with it on, building the
five team charts took about 100 ms of a refresh's budget; without it they take a few milliseconds. The traces
and layout keys used here are standard plotly.js attributes, and tests render every figure to JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from interview.report import label

DIFFICULTY_ORDER = ("intermediate", "advanced")
DIFFICULTY_COLORS = {"intermediate": "#f39c12", "advanced": "#c0392b"}
SCORE_COLORS = [[0.0, "#d73027"], [0.5, "#fee08b"], [1.0, "#1a9850"]]  # red (low) to green (high)
NO_MATCH = "No interviews match these filters."


@functools.cache
def _template() -> dict[str, Any]:
    return pio.templates["plotly_white"].to_plotly_json()


def _figure(title: str, traces: list[dict[str, Any]], **layout: Any) -> go.Figure:
    base = {
        "template": _template(),
        "title": {"text": title, "x": 0.01},
        "margin": {"l": 10, "r": 10, "t": 48, "b": 10},
        "height": 360,
        "legend": {"orientation": "h", "y": -0.2},
        "font": {"size": 12},
    }
    return go.Figure(data=traces, layout={**base, **layout}, _validate=False)


def empty_figure(title: str, message: str = NO_MATCH) -> go.Figure:
    note = {
        "text": message,
        "showarrow": False,
        "x": 0.5,
        "y": 0.5,
        "xref": "paper",
        "yref": "paper",
        "font": {"size": 14, "color": "#666"},
    }
    return _figure(title, [], annotations=[note], xaxis={"visible": False}, yaxis={"visible": False})


def _values(series: pd.Series) -> list[Any]:
    """Plain Python values (dates as ISO strings) so the figure serialises the same everywhere."""
    return [v.isoformat() if hasattr(v, "isoformat") else v for v in series.tolist()]


def score_distribution(df: pd.DataFrame, bins: int = 20) -> go.Figure:
    """Stacked histogram of completed interviews' overall scores, one colour per department."""
    title = "Score distribution (completed interviews)"
    if df.empty:
        return empty_figure(title)
    width = 1 / bins
    traces = [
        {
            "type": "bar",
            "name": str(dept),
            "x": _values(part["bin_start"] + width / 2),
            "y": _values(part["sessions"]),
            "width": width * 0.95,
            "customdata": _values(part["bin_start"]),
            "hovertemplate": f"{dept}<br>score %{{customdata:.2f}}–%{{x:.2f}}<br>%{{y}} interviews<extra></extra>",
        }
        for dept, part in df.groupby("department", sort=True)
    ]
    return _figure(
        title,
        traces,
        barmode="stack",
        bargap=0.05,
        xaxis={"title": {"text": "overall score"}, "range": [0, 1], "dtick": 0.1},
        yaxis={"title": {"text": "interviews"}},
    )


def category_heatmap(df: pd.DataFrame) -> go.Figure:
    """Mean score by category (rows) and difficulty (columns), with the mean and answer count in each cell."""
    title = "Average score by category and difficulty"
    if df.empty:
        return empty_figure(title)
    present = set(df["difficulty"])
    difficulties = [d for d in DIFFICULTY_ORDER if d in present] + sorted(present - set(DIFFICULTY_ORDER))
    categories = sorted(set(df["category"]), reverse=True)  # alphabetical from the top
    mean = df.pivot(index="category", columns="difficulty", values="mean_score")
    count = df.pivot(index="category", columns="difficulty", values="answers")
    mean = mean.reindex(index=categories, columns=difficulties)
    count = count.reindex(index=categories, columns=difficulties).fillna(0)
    z = [[None if pd.isna(m) else round(float(m), 4) for m in row] for row in mean.to_numpy()]
    text = [
        ["" if m is None else f"{m:.2f}<br>n={int(n):,}" for m, n in zip(zrow, nrow, strict=True)]
        for zrow, nrow in zip(z, count.to_numpy(), strict=True)
    ]
    trace = {
        "type": "heatmap",
        "z": z,
        "x": difficulties,
        "y": [label(c) for c in categories],
        "text": text,
        "texttemplate": "%{text}",
        "zmin": 0,
        "zmax": 1,
        "colorscale": SCORE_COLORS,
        "colorbar": {"title": {"text": "score"}},
        "hovertemplate": "%{y}, %{x}<br>%{text}<extra></extra>",
    }
    return _figure(title, [trace], height=max(300, 60 + 34 * len(categories)))


def _lines(df: pd.DataFrame, keys: list[str], name_of: Any) -> list[dict[str, Any]]:
    traces = []
    for key, part in df.groupby(keys, sort=True):
        name = name_of(key)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": _values(part["month"]),
                "y": [round(float(v), 4) for v in part["mean_score"]],
                "customdata": _values(part["answers"]),
                "hovertemplate": f"{name}<br>%{{x|%b %Y}}: %{{y:.2f}} (%{{customdata}} answers)<extra></extra>",
            }
        )
    return traces


def _month_axis(df: pd.DataFrame) -> dict[str, Any]:
    """A date axis; around a single month it spans a quarter either side instead of a fraction of a second."""
    months = pd.to_datetime(df["month"])
    axis: dict[str, Any] = {"type": "date"}
    if months.nunique() == 1:
        only = months.iloc[0]
        axis["range"] = [
            (only - pd.DateOffset(months=3)).isoformat(),
            (only + pd.DateOffset(months=3)).isoformat(),
        ]
    return axis


def department_trends(df: pd.DataFrame) -> go.Figure:
    """Monthly mean score, one line per department."""
    title = "Trend by department (mean score per month)"
    if df.empty:
        return empty_figure(title)
    traces = _lines(df, ["department"], lambda key: str(key[0]))
    return _figure(
        title, traces, xaxis=_month_axis(df), yaxis={"title": {"text": "mean score"}, "range": [0, 1]}
    )


def employee_trends(
    df: pd.DataFrame,
    title: str = "Trend per employee (most improved)",
    empty: str = "No employee has interviews in three different months in these filters.",
) -> go.Figure:
    """Monthly mean score, one line per employee."""
    if df.empty:
        return empty_figure(title, empty)
    traces = _lines(df, ["employee_id", "name"], lambda key: f"{key[1]} ({key[0]})")
    return _figure(
        title, traces, xaxis=_month_axis(df), yaxis={"title": {"text": "mean score"}, "range": [0, 1]}
    )


def question_difficulty(df: pd.DataFrame, prompts: Mapping[str, str] | None = None) -> go.Figure:
    """The questions people fail most: mean score as bars (lowest at the top), fail rate in the hover."""
    title = "Observed question difficulty (lowest scores)"
    if df.empty:
        return empty_figure(title, "Not enough answers per question in these filters.")
    prompts = prompts or {}
    rows = df.iloc[::-1]  # plotly draws the first bar at the bottom
    traces = []
    for difficulty, part in rows.groupby("difficulty", sort=False):
        hover = [
            f"{key}<br>{label(cat)}, {difficulty}<br>mean {m:.2f}, {fr:.0%} failed, {n:,} answers"
            + (f"<br><i>{_wrap(prompts[key])}</i>" if key in prompts else "")
            for key, cat, m, fr, n in zip(
                part["question_key"],
                part["category"],
                part["mean_score"],
                part["fail_rate"],
                part["answers"],
                strict=True,
            )
        ]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": str(difficulty),
                "x": [round(float(v), 4) for v in part["mean_score"]],
                "y": _values(part["question_key"]),
                "marker": {"color": DIFFICULTY_COLORS.get(str(difficulty), "#7f8c8d")},
                "hovertext": hover,
                "hovertemplate": "%{hovertext}<extra></extra>",
            }
        )
    return _figure(
        title,
        traces,
        height=max(320, 80 + 26 * len(rows)),
        barmode="overlay",
        xaxis={"title": {"text": "mean score"}, "range": [0, 1]},
        yaxis={"categoryorder": "array", "categoryarray": _values(rows["question_key"]), "automargin": True},
    )


def category_radar(df: pd.DataFrame, name: str, team_label: str = "department average") -> go.Figure:
    """The employee's category profile against their team's, as a radar."""
    title = f"Category profile: {name}"
    if df.empty or df["employee"].isna().all():
        return empty_figure(title, "No scored answers for this employee in the date range.")
    theta = [label(c) for c in df["category"]]
    traces = []
    for column, series, color in (("team", team_label, "#95a5a6"), ("employee", name, "#2e86de")):
        values = [round(float(v), 4) for v in df[column].astype(float).fillna(0)]
        traces.append(
            {
                "type": "scatterpolar",
                "r": [*values, values[0]],
                "theta": [*theta, theta[0]],
                "name": series,
                "fill": "toself",
                "line": {"color": color},
                "opacity": 0.75,
                "hovertemplate": "%{theta}: %{r:.2f}<extra>" + series + "</extra>",
            }
        )
    return _figure(
        title, traces, height=420, polar={"radialaxis": {"range": [0, 1], "tickvals": [0.25, 0.5, 0.75, 1]}}
    )


def _wrap(text: str, width: int = 60) -> str:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(lines[:4]) + ("…" if len(lines) > 4 else "")
