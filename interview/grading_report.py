"""Grading results: scores by dimension, verdicts, readable messages and JSON-safe evidence."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Weights of the dimensions in a dataset's score. A query that merely runs earns 0.05; the rows carry most
# of the weight. When the question does not ask for an order, the order weight goes to the rows.
WEIGHTS = {"runs": 0.05, "columns": 0.10, "row_count": 0.10, "rows": 0.65, "order": 0.10}
DIMENSIONS = tuple(WEIGHTS)
SAMPLE_ROWS = 5
PARTIAL_FLOOR = 0.30  # partial answers score at least this much, incorrect ones less
INCORRECT_CEILING = 0.29


@dataclass
class DatasetResult:
    name: str
    hidden: bool
    verdict: str  # correct | partial | incorrect | error
    score: float
    message: str  # what was wrong on this dataset ("" when right); for errors, the error
    dimensions: dict[str, float]
    columns: list[str] = field(default_factory=list)  # the answer's columns
    expected_columns: list[str] = field(default_factory=list)
    row_count: int = 0
    expected_row_count: int = 0
    missing_rows: list[tuple[Any, ...]] = field(default_factory=list)  # sample of expected rows not returned
    extra_rows: list[tuple[Any, ...]] = field(default_factory=list)  # sample of returned rows not expected
    missing_count: int = 0
    extra_count: int = 0
    truncated: bool = False
    error_kind: str = ""  # rejected | syntax | failed | timeout | too_large | skipped

    @property
    def label(self) -> str:
        return f"the {'hidden' if self.hidden else 'visible'} dataset '{self.name}'"

    def to_dict(self, *, redact: bool = False) -> dict[str, Any]:
        hide = redact and self.hidden
        return {
            "name": self.name,
            "hidden": self.hidden,
            "verdict": self.verdict,
            "score": round(self.score, 4),
            "message": self.message if not (hide and self.verdict == "error") else _error_category(self),
            "dimensions": {k: round(v, 4) for k, v in self.dimensions.items()},
            "columns": list(self.columns),
            "expected_columns": list(self.expected_columns),
            "row_count": self.row_count,
            "expected_row_count": self.expected_row_count,
            "missing_count": self.missing_count,
            "extra_count": self.extra_count,
            "missing_rows": [] if hide else [to_json(r) for r in self.missing_rows],
            "extra_rows": [] if hide else [to_json(r) for r in self.extra_rows],
            "truncated": self.truncated,
            "error_kind": self.error_kind,
        }


@dataclass
class GradeResult:
    verdict: str  # correct | partial | incorrect | error
    score: float
    dimensions: dict[str, float]
    datasets: list[DatasetResult]
    message: str
    dialect: str
    transpiled_sql: str  # the DuckDB SQL that actually ran ("" if nothing ran)
    elapsed_ms: float
    order_required: bool = False
    order_text: str = ""  # the reference's ORDER BY, for messages

    def to_dict(self, *, redact_hidden: bool = False) -> dict[str, Any]:
        """JSON-safe evidence; redact_hidden drops hidden datasets' rows and error details."""
        return {
            "verdict": self.verdict,
            "score": round(self.score, 4),
            "dimensions": {k: round(v, 4) for k, v in self.dimensions.items()},
            "message": self.feedback(redact_hidden=True, examples=False) if redact_hidden else self.message,
            "dialect": self.dialect,
            "transpiled_sql": self.transpiled_sql,
            "elapsed_ms": round(self.elapsed_ms, 2),
            "order_required": self.order_required,
            "datasets": [d.to_dict(redact=redact_hidden) for d in self.datasets],
        }

    def feedback(self, redact_hidden: bool = True, *, examples: bool = True) -> str:
        """Text for the candidate: the verdict's message, plus a counterexample from data they may see."""
        text = build_message(
            self.verdict, self.datasets, redact_hidden=redact_hidden, order_text=self.order_text
        )
        if examples and self.verdict == "error":
            shown = next(
                (d for d in self.datasets if d.verdict == "error" and not (d.hidden and redact_hidden)), None
            )
            detail = shown.message.strip().splitlines()[1:] if shown else []
            return "\n".join(
                [text, *detail]
            ).strip()  # DuckDB's LINE pointer shows where the query went wrong
        if not examples or self.verdict == "correct":
            return text
        for d in self.datasets:
            if d.verdict == "correct" or d.verdict == "error" or (d.hidden and redact_hidden):
                continue
            example = _example(d)
            if example:
                return f"{text} {example}"
        return text


def to_json(value: Any) -> Any:
    """A JSON-safe rendering of a result value: numbers stay numbers, dates become ISO strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)


def format_value(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:57]}...'"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def format_row(row: Sequence[Any]) -> str:
    return "(" + ", ".join(format_value(v) for v in row) + ")"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def dataset_score(dimensions: dict[str, float], order_required: bool) -> float:
    weights = dict(WEIGHTS)
    if not order_required:
        weights["rows"] += weights.pop("order")
    return sum(w * dimensions[name] for name, w in weights.items())


def describe_problem(d: DatasetResult, order_text: str = "") -> str:
    """What went wrong on one dataset, as a clause: "it returned 2 extra rows (6 rows instead of 4)"."""
    if d.verdict == "error":
        return f"it failed: {d.message}"
    parts: list[str] = []
    if len(d.columns) != len(d.expected_columns):
        clause = f"it returned {_plural(len(d.columns), 'column')} instead of {len(d.expected_columns)}"
        parts.append(clause)
    elif d.dimensions.get("columns", 1.0) < 1.0:
        parts.append("some of its columns hold the wrong kind of values")
    if d.truncated:
        parts.append(f"it returned more than {d.row_count:,} rows")
    elif d.missing_count or d.extra_count:
        if d.row_count == d.expected_row_count:
            changed = max(d.missing_count, d.extra_count)
            verb = "differs" if changed == 1 else "differ"
            parts.append(f"{changed} of its {_plural(d.row_count, 'row')} {verb} from the expected ones")
        elif not d.missing_count:
            parts.append(
                f"it returned {_plural(d.extra_count, 'extra row')} ({d.row_count} instead of {d.expected_row_count})"
            )
        elif not d.extra_count:
            parts.append(
                f"it missed {d.missing_count} of the {_plural(d.expected_row_count, 'expected row')}"
            )
        else:
            parts.append(
                f"it returned {_plural(d.row_count, 'row')} instead of {d.expected_row_count}, "
                f"and {d.missing_count} of the expected ones are missing"
            )
    elif d.dimensions.get("order", 1.0) < 1.0:
        expected = f" (expected {order_text})" if order_text else ""
        parts.append(f"the rows are right but not in the required order{expected}")
    return "; ".join(parts) if parts else "the result differs from the expected one"


def _error_category(d: DatasetResult) -> str:
    kinds = {
        "timeout": "it ran out of time",
        "too_large": "it ran out of memory or returned too much data",
        "skipped": "it was not run after failing on another dataset",
    }
    if d.error_kind in kinds:
        return kinds[d.error_kind]
    head = d.message.split(":", 1)[0] if ":" in d.message[:40] else "an error"
    return f"it failed with {head}" if head != "an error" else "it failed with an error"


def build_message(
    verdict: str, datasets: Sequence[DatasetResult], *, redact_hidden: bool = False, order_text: str = ""
) -> str:
    n = len(datasets)
    if verdict == "correct":
        hidden = sum(d.hidden for d in datasets)
        if n == 1:
            return "Correct: the result matches the reference."
        return f"Correct: the result matches the reference on all {n} datasets ({n - hidden} visible, {hidden} hidden)."
    if verdict == "error":
        first = next((d for d in datasets if d.verdict == "error" and d.error_kind != "skipped"), datasets[0])
        message = first.message.strip().splitlines()[0] if first.message.strip() else "it failed"
        if first.hidden and redact_hidden:
            message = _error_category(first)
        return f"The query did not run: {message}" if not message.startswith("The query") else message
    right = [d for d in datasets if d.verdict == "correct"]
    wrong = [d for d in datasets if d.verdict != "correct"]
    clauses = []
    for d in wrong[:2]:
        if d.verdict == "error" and d.hidden and redact_hidden:
            problem = _error_category(d)
        else:
            problem = describe_problem(d, order_text)
        clauses.append(f"on {d.label} {problem}")
    more = f" (and on {_plural(len(wrong) - 2, 'more dataset')})" if len(wrong) > 2 else ""
    if right:
        text = f"Right on {_right_lead(right, datasets)}, but " + "; ".join(clauses) + more + "."
    else:
        text = "Not right on any dataset: " + "; ".join(clauses) + more + "."
    return text[0].upper() + text[1:]


def _names(datasets: Sequence[DatasetResult]) -> str:
    names = [f"'{d.name}'" for d in datasets]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _right_lead(right: Sequence[DatasetResult], datasets: Sequence[DatasetResult]) -> str:
    """ "the visible data and the hidden dataset 'nulls'" """
    parts = []
    visible = [d for d in right if not d.hidden]
    if visible:
        all_visible = len(visible) == sum(not d.hidden for d in datasets)
        parts.append(
            "the visible data"
            if all_visible
            else f"the visible dataset{'s' * (len(visible) > 1)} {_names(visible)}"
        )
    hidden = [d for d in right if d.hidden]
    if hidden:
        parts.append(f"the hidden dataset{'s' * (len(hidden) > 1)} {_names(hidden)}")
    return " and ".join(parts)


def _example(d: DatasetResult) -> str:
    parts = []
    if d.missing_rows:
        parts.append(f"expected row {format_row(d.missing_rows[0])} is missing")
    if d.extra_rows:
        parts.append(f"row {format_row(d.extra_rows[0])} should not be there")
    if not parts:
        return ""
    return f"For example, on {d.label}: " + " and ".join(parts) + "."


def aggregate(datasets: Sequence[DatasetResult], order_required: bool) -> tuple[str, float, dict[str, float]]:
    """The overall verdict, score and mean dimensions of per-dataset results."""
    n = len(datasets)
    dims = {k: sum(d.dimensions[k] for d in datasets) / n for k in DIMENSIONS}
    if all(d.verdict == "error" for d in datasets):
        return "error", 0.0, {k: 0.0 for k in DIMENSIONS}
    correct = sum(d.verdict == "correct" for d in datasets)
    if correct == n:
        return "correct", 1.0, {k: 1.0 for k in DIMENSIONS}
    raw = 0.5 * sum(d.score for d in datasets) / n + 0.5 * correct / n
    if correct or dims["rows"] >= 0.5:
        return "partial", round(min(0.99, max(PARTIAL_FLOOR, raw)), 4), dims
    return "incorrect", round(min(INCORRECT_CEILING, max(0.01, raw)), 4), dims
