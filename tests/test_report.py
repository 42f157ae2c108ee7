"""The report is computed from the per-question records by category."""

from __future__ import annotations

from interview.report import build_report


def rows(*items: tuple[str, str, float]) -> list[dict]:
    return [
        {
            "category": c,
            "difficulty": d,
            "score": s,
            "kind": "conceptual",
            "question": "q",
            "grade_verdict": None,
        }
        for c, d, s in items
    ]


def test_strengths_weaknesses_and_overall_come_from_category_means() -> None:
    report = build_report(
        "Ada",
        rows(
            ("joins", "intermediate", 1.0),
            ("joins", "advanced", 0.8),
            ("transactions", "intermediate", 0.2),
            ("ctes", "intermediate", 0.6),
        ),
        asked=4,
        planned=4,
    )
    assert report.overall_score == 0.65
    assert report.details["by_category"]["joins"] == {"score": 0.9, "answers": 2, "advanced": 1}
    assert "joins (0.90, advanced level)" in report.strengths
    assert "transactions and concurrency (0.20)" in report.weaknesses
    assert "Partly right on common table expressions (0.60)" in report.weaknesses
    assert "For transactions and concurrency:" in report.recommendations
    assert "Ada scored 0.65 overall across 3 categories" in report.overall_assessment
    assert "ended early" not in report.overall_assessment


def test_an_early_end_is_said_in_the_assessment() -> None:
    report = build_report("Ada", rows(("joins", "intermediate", 0.0)), asked=2, planned=8)
    assert "1 of 8 planned questions answered (1 asked but not answered)" in report.overall_assessment
    assert "ended early" in report.overall_assessment
    assert report.strengths == "No category reached a strong score in this interview."


def test_markdown_and_text_render_every_category() -> None:
    report = build_report(
        "Ada", rows(("joins", "intermediate", 0.9), ("null_handling", "advanced", 0.4)), asked=2, planned=2
    )
    md = report.to_markdown()
    assert "| joins | 0.90 | 1 |" in md and "| NULL handling | 0.40 | 1 |" in md
    assert "Overall score: 0.65" in report.to_text()
