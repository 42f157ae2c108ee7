"""The end-of-interview report, computed from the per-question records by category."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STRONG_AT = 0.7
WEAK_BELOW = 0.5

LABELS = {
    "joins": "joins",
    "subqueries": "subqueries",
    "window_functions": "window functions",
    "ctes": "common table expressions",
    "aggregation": "aggregation and GROUP BY",
    "null_handling": "NULL handling",
    "set_operations": "set operations",
    "indexing_performance": "indexing and performance",
    "data_modeling": "data modelling",
    "transactions": "transactions and concurrency",
}

STUDY = {
    "joins": "practise outer joins and anti-joins: write 'customers without orders' three ways "
    "(LEFT JOIN ... IS NULL, NOT EXISTS, EXCEPT) and compare the results on data with NULLs",
    "subqueries": "rewrite correlated subqueries as joins and back, and learn where NOT IN breaks on NULLs",
    "window_functions": "work through ROW_NUMBER vs RANK vs DENSE_RANK on tied data, running totals, and "
    "the difference between ROWS and RANGE frames",
    "ctes": "break a long query into named CTEs, then write a recursive CTE over a manager hierarchy",
    "aggregation": "practise GROUP BY with HAVING, COUNT(*) vs COUNT(column), and keeping groups with zero rows",
    "null_handling": "review three-valued logic: NULL in comparisons, NOT IN, COUNT, AVG, and COALESCE",
    "set_operations": "compare UNION with UNION ALL, and INTERSECT/EXCEPT with the equivalent joins",
    "indexing_performance": "read query plans (EXPLAIN), and study composite index column order and "
    "sargable predicates",
    "data_modeling": "normalise a small schema to 3NF, then discuss when a star schema or denormalisation pays",
    "transactions": "study isolation levels and the anomalies each prevents, and how deadlocks arise and "
    "are avoided",
}


def label(category: str) -> str:
    return LABELS.get(category, category.replace("_", " "))


def level_for(score: float) -> str:
    if score >= 0.85:
        return "strong: ready for advanced SQL work without supervision"
    if score >= 0.7:
        return "proficient: solid on the fundamentals, with a few gaps at the advanced end"
    if score >= 0.5:
        return "developing: comfortable with the basics, needs practice on several topics"
    if score >= 0.25:
        return "beginner: needs guided practice before working on production queries"
    return "not yet assessed as able to write or explain SQL at an intermediate level"


@dataclass(frozen=True)
class Report:
    overall_score: float
    strengths: str
    weaknesses: str
    recommendations: str
    overall_assessment: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Report:
        details = json.loads(row["details"]) if row.get("details") else {}
        return cls(
            overall_score=float(details.get("overall_score", 0.0)),
            strengths=row["strengths"] or "",
            weaknesses=row["weaknesses"] or "",
            recommendations=row["recommendations"] or "",
            overall_assessment=row["overall_assessment"] or "",
            details=details,
        )

    def to_markdown(self) -> str:
        by_cat = self.details.get("by_category", {})
        table = "\n".join(f"| {label(c)} | {v['score']:.2f} | {v['answers']} |" for c, v in by_cat.items())
        return (
            f"## Interview report\n\n**Overall score: {self.overall_score:.2f}** — {self.overall_assessment}\n\n"
            f"| Category | Score | Answers |\n| --- | --- | --- |\n{table}\n\n"
            f"**Strengths.** {self.strengths}\n\n**Weaknesses.** {self.weaknesses}\n\n"
            f"**Recommendations.** {self.recommendations}\n"
        )

    def to_text(self) -> str:
        by_cat = self.details.get("by_category", {})
        lines = [f"Overall score: {self.overall_score:.2f}", f"Assessment: {self.overall_assessment}", ""]
        lines += [f"  {label(c):<32} {v['score']:.2f}  ({v['answers']} answer(s))" for c, v in by_cat.items()]
        lines += [
            "",
            f"Strengths: {self.strengths}",
            f"Weaknesses: {self.weaknesses}",
            f"Recommendations: {self.recommendations}",
        ]
        return "\n".join(lines)


def build_report(name: str, rows: Sequence[Mapping[str, Any]], *, asked: int, planned: int) -> Report:
    """Aggregate scored answers by category into strengths, weaknesses, recommendations and an assessment."""
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        grouped[r["category"]].append(r)
    by_category = {
        c: {
            "score": round(sum(r["score"] for r in rs) / len(rs), 3),
            "answers": len(rs),
            "advanced": sum(1 for r in rs if r["difficulty"] == "advanced"),
        }
        for c, rs in sorted(grouped.items())
    }
    overall = round(sum(r["score"] for r in rows) / len(rows), 3)
    strong = [c for c, v in by_category.items() if v["score"] >= STRONG_AT]
    weak = [c for c, v in by_category.items() if v["score"] < WEAK_BELOW]
    middling = [c for c in by_category if c not in strong and c not in weak]

    def listing(cats: Sequence[str]) -> str:
        return ", ".join(
            f"{label(c)} ({by_category[c]['score']:.2f}"
            + (", advanced level" if by_category[c]["advanced"] else "")
            + ")"
            for c in cats
        )

    strengths = (
        f"Did well on {listing(strong)}."
        if strong
        else "No category reached a strong score in this interview."
    )
    weaknesses = f"Struggled with {listing(weak)}." if weak else "No category fell below the expected level."
    if middling:
        weaknesses += f" Partly right on {listing(middling)}."
    focus = weak + middling
    if focus:
        recommendations = " ".join(
            f"For {label(c)}: {STUDY.get(c, 'practise with real queries')}." for c in focus
        )
    else:
        recommendations = (
            "Move on to advanced material: query plans on large tables, recursive CTEs and "
            "window frames, and isolation-level trade-offs in production systems."
        )
    answered = len(rows)
    coverage = f"{answered} of {planned} planned questions answered" + (
        f" ({asked - answered} asked but not answered)" if asked > answered else ""
    )
    assessment = (
        f"{name} scored {overall:.2f} overall across {len(by_category)} categories "
        f"({coverage}). Level: {level_for(overall)}."
    )
    if answered < planned:
        assessment += " The interview ended early, so the picture is partial."
    details = {
        "overall_score": overall,
        "by_category": by_category,
        "answered": answered,
        "asked": asked,
        "planned": planned,
    }
    return Report(
        overall_score=overall,
        strengths=strengths,
        weaknesses=weaknesses,
        recommendations=recommendations,
        overall_assessment=assessment,
        details=details,
    )
