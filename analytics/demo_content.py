"""What the demo generator says: the question bank it draws from, and the transcripts, SQL, grades, feedback,
evidence and reports of synthetic interviews, built from the real bank's prompts, reference SQL, usual wrong
answers and rubrics."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interview.engine import GRADE_WEIGHT
from interview.report import label
from interview.rubric import MISCONCEPTION_PENALTY

log = logging.getLogger(__name__)

SCORED_BY = "demo"

QUESTIONS_DIR = Path(__file__).resolve().parent.parent / "data" / "questions"


class DemoError(RuntimeError):
    """The demo data cannot be generated or cleared; the message says why and what to do."""


@dataclass(frozen=True)
class BankQuestion:
    """The parts of a bank question the demo needs."""

    ref: str
    category: str
    difficulty: str
    kind: str  # hands_on | conceptual
    prompt: str
    topics: tuple[str, ...] = ()
    reference_sql: str | None = None
    datasets: tuple[str, ...] = ()
    wrong_answers: tuple[tuple[str, str], ...] = ()  # (sql, why)
    follow_ups: tuple[str, ...] = ()
    key_points: tuple[tuple[str, str, float], ...] = ()  # (id, text, weight)
    misconceptions: tuple[tuple[str, str], ...] = ()  # (id, text)
    rubric_version: str | None = None


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _as_question(raw: Any, category: str | None = None) -> BankQuestion | None:
    """A BankQuestion from a YAML mapping or a loaded bank object; None when it lacks what the demo needs."""
    ref = _get(raw, "id") or _get(raw, "ref")
    kind = str(_get(raw, "kind", "") or "")
    difficulty = str(_get(raw, "difficulty", "") or "")
    category = str(_get(raw, "category", None) or category or "")
    prompt = " ".join(str(_get(raw, "prompt", "") or "").split())
    if not (ref and category and prompt and kind in ("hands_on", "conceptual") and difficulty):
        return None
    rubric = _get(raw, "rubric")
    key_points = tuple(
        (str(_get(k, "id")), " ".join(str(_get(k, "text")).split()), float(_get(k, "weight", 0) or 0))
        for k in (_get(rubric, "key_points", ()) or ())
    )
    misconceptions = tuple(
        (str(_get(m, "id")), " ".join(str(_get(m, "text")).split()))
        for m in (_get(rubric, "misconceptions", ()) or ())
    )
    wrong = tuple(
        (str(_get(w, "sql")).strip(), " ".join(str(_get(w, "why", "") or "").split()))
        for w in (_get(raw, "wrong_answers", ()) or ())
    )
    reference_sql = _get(raw, "reference_sql")
    if kind == "hands_on" and not reference_sql:
        return None
    if kind == "conceptual" and not key_points:
        return None
    version = _get(rubric, "version")
    return BankQuestion(
        ref=str(ref),
        category=category,
        difficulty=difficulty,
        kind=kind,
        prompt=prompt,
        topics=tuple(str(t) for t in (_get(raw, "topics", ()) or ()) if t is not None),
        follow_ups=tuple(str(f) for f in (_get(raw, "follow_ups", ()) or ()) if f),
        reference_sql=str(reference_sql).strip() if reference_sql else None,
        datasets=tuple(str(d) for d in (_get(raw, "datasets", ()) or ())),
        wrong_answers=wrong,
        key_points=key_points,
        misconceptions=misconceptions,
        rubric_version=str(version) if version is not None else None,
    )


def _from_loader() -> list[BankQuestion] | None:
    """The bank through interview.questions.load_bank() when that module exists; None when it does not."""
    try:
        from interview.questions import load_bank
    except ImportError:
        return None
    from interview.errors import InterviewError

    try:
        bank = load_bank()
    except InterviewError as exc:
        raise DemoError(f"The demo draws from the question bank, which cannot be loaded: {exc}") from None
    items: Iterable[Any] = _get(bank, "questions", None) or bank
    if isinstance(items, dict):
        items = items.values()
    return [q for q in (_as_question(raw) for raw in items) if q is not None]


def _from_yaml(questions_dir: Path) -> list[BankQuestion]:
    import yaml

    out: list[BankQuestion] = []
    for path in sorted(questions_dir.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DemoError(f"Cannot read the question bank file {path.name}: {exc}") from None
        for raw in doc.get("questions") or ():
            q = _as_question(raw, doc.get("category"))
            if q is not None:
                out.append(q)
    return out


def load_demo_bank(questions_dir: Path | None = None) -> list[BankQuestion]:
    """The real question bank (via interview.questions when present, else data/questions/*.yaml), sorted by id."""
    questions = None if questions_dir is not None else _from_loader()
    if questions is None:
        questions = _from_yaml(questions_dir or QUESTIONS_DIR)
    seen: dict[str, BankQuestion] = {}
    for q in questions:
        seen.setdefault(q.ref, q)
    if not seen:
        raise DemoError(
            f"No questions found in {questions_dir or QUESTIONS_DIR}: the demo draws from the real bank"
        )
    return sorted(seen.values(), key=lambda q: q.ref)


# ---- words
_OPENERS = ("Okay, so", "Right,", "So", "Let me think.", "Alright,", "Hmm, okay.")
_HEDGES = ("I think", "I'm fairly sure", "I'd say", "My understanding is that")
_TABLE_RE = re.compile(r"\b(?:from|join)\s+([a-z_][a-z0-9_]*)", re.IGNORECASE)
_CTE_RE = re.compile(r"\b([a-z_][a-z0-9_]*)\s+as\s*\(", re.IGNORECASE)


def tables_in(sql: str) -> list[str]:
    """Base tables named after FROM/JOIN, in order, without CTE names or repeats."""
    ctes = {m.lower() for m in _CTE_RE.findall(sql)}
    out: list[str] = []
    for name in _TABLE_RE.findall(sql):
        if name.lower() not in ctes and name.lower() not in out and name.lower() not in ("lateral", "select"):
            out.append(name.lower())
    return out


def _spoken(text: str) -> str:
    """A rubric sentence as a candidate might say it: lower-case start, no trailing full stop."""
    text = text.strip().rstrip(".")
    first = text.split(" ", 1)[0]
    return text if len(first) > 1 and first.isupper() else text[:1].lower() + text[1:]


def _misconception_spoken(text: str) -> str:
    text = _spoken(text)
    for lead, said in (
        ("believes ", "I believe "),
        ("thinks ", "I think "),
        ("treats ", "I'd treat "),
        ("confuses ", "I'd say it's like "),
        ("assumes ", "I'd assume "),
    ):
        if text.lower().startswith(lead):
            return said + text[len(lead) :]
    return "I guess " + text


@dataclass(frozen=True)
class Answer:
    """One synthetic evaluation, ready to store (the evidence has the shape the engine records)."""

    response_text: str
    score: float
    feedback: str
    evidence: dict[str, Any]
    rubric_version: str
    sql_text: str | None = None
    grade_verdict: str | None = None
    grade_score: float | None = None


def _record(
    q: BankQuestion, transcript: str, judged: float, final: float, rubric_version: str, **extra: Any
) -> dict[str, Any]:
    return {
        "transcript": transcript,
        "scored_by": SCORED_BY,
        "rubric_version": rubric_version,
        "judged_score": judged,
        "final_score": final,
        "question_ref": q.ref,
        **extra,
    }


def conceptual_answer(q: BankQuestion, ability: float, rng: random.Random) -> Answer:
    """Key points made with a chance that grows with ability; misconceptions more likely when it is low."""
    made_ids = {kid for kid, _, _ in q.key_points if rng.random() < ability}
    made = [(kid, text, w) for kid, text, w in q.key_points if kid in made_ids]
    missed = [(kid, text, w) for kid, text, w in q.key_points if kid not in made_ids]
    wrong = [(mid, text) for mid, text in q.misconceptions if rng.random() < (1 - ability) * 0.35]
    total = sum(w for _, _, w in q.key_points) or 1.0
    score = sum(w for _, _, w in made) / total - MISCONCEPTION_PENALTY * len(wrong) + rng.uniform(-0.04, 0.04)
    score = round(min(1.0, max(0.0, score)), 2)
    parts = [rng.choice(_OPENERS)]
    said: dict[str, str] = {}
    for i, (kid, text, _) in enumerate(made):
        said[kid] = f"{rng.choice(_HEDGES) if i == 0 else 'Also,'} {_spoken(text)}."
        parts.append(said[kid])
    for mid, text in wrong:
        said[mid] = f"{_misconception_spoken(text)}."
        parts.append(said[mid])
    if not made and not wrong:
        topic = q.topics[0] if q.topics else label(q.category)
        parts.append(
            f"I'm honestly not sure. It has something to do with {topic}, but I can't explain it well."
        )
    feedback = []
    if made:
        feedback.append("Covered: " + "; ".join(_spoken(t) for _, t, _ in made[:2]) + ".")
    if missed:
        feedback.append("Missing: " + _spoken(missed[0][1]) + ".")
    if wrong:
        feedback.append("Misconception: " + wrong[0][1].rstrip(".") + ".")
    transcript = " ".join(parts)
    rubric = {
        "score": score,
        "no_answer": not made and not wrong,
        "key_points": [
            {"id": kid, "text": t, "weight": w, "made": kid in made_ids, "evidence": said.get(kid)}
            for kid, t, w in q.key_points
        ],
        "misconceptions": [{"id": mid, "text": t, "evidence": said[mid]} for mid, t in wrong],
        "penalty_per_misconception": MISCONCEPTION_PENALTY,
    }
    version = f"{q.ref}@v{q.rubric_version or 1}"
    evidence = _record(
        q,
        transcript,
        score,
        score,
        version,
        rubric=rubric,
        follow_up=q.follow_ups[0] if missed and q.follow_ups else None,
    )
    return Answer(
        response_text=transcript,
        score=score,
        feedback=" ".join(feedback),
        evidence=evidence,
        rubric_version=version,
    )


def hands_on_answer(q: BankQuestion, ability: float, rng: random.Random) -> Answer:
    """A query that is right, right only on the visible data, wrong, or does not run, as ability suggests;
    the score combines the execution grade with the spoken explanation as the engine does."""
    quality = ability + rng.gauss(0, 0.1)
    datasets = list(q.datasets) or ["company"]
    sql_ref = q.reference_sql or ""
    tables = tables_in(sql_ref) or ["the main table"]
    topics = list(q.topics) or [label(q.category)]
    joined = " and ".join(topics[:2])
    if quality >= 0.72 or (quality >= 0.45 and not q.wrong_answers):
        verdict, sql, why = "correct", sql_ref, ""
        passed = {d: True for d in datasets}
        judged = 0.8 + 0.2 * rng.random()
        talk = (
            f"{rng.choice(_OPENERS)} I'd start from {tables[0]}"
            + (f", bring in {', '.join(tables[1:3])}" if len(tables) > 1 else "")
            + f", and use {joined}. Let me also check the edge cases before I run it."
        )
        feedback = f"Correct: the result matches the reference on every dataset ({', '.join(datasets)})."
    elif quality >= 0.45:
        sql, why = rng.choice(q.wrong_answers)
        failing = rng.choice(datasets[1:] or datasets)
        verdict = "partial" if len(datasets) > 1 else "wrong"
        passed = {d: d != failing for d in datasets}
        judged = 0.4 + 0.3 * rng.random()
        talk = (
            f"{rng.choice(_OPENERS)} I'd join {' and '.join(tables[:2])} and use {topics[0]}. "
            "I think that covers it, though I'm not completely sure about the edge cases."
        )
        feedback = (
            f"Right on the visible data, but not on the hidden '{failing}' data: {why}"
            if verdict == "partial"
            else f"The result differs from the reference: {why}"
        )
    elif quality >= 0.15:
        sql, why = rng.choice(q.wrong_answers) if q.wrong_answers else (sql_ref, "")
        verdict = "wrong"
        passed = {d: False for d in datasets}
        judged = 0.1 + 0.3 * rng.random()
        talk = (
            f"{rng.choice(_OPENERS)} I'd probably just query {tables[0]} and filter it. "
            f"I haven't used {topics[0]} much, so this is a guess."
        )
        feedback = (
            f"The result differs from the reference on the visible data: {why or 'wrong rows returned'}"
        )
    else:
        cut = max(12, len(sql_ref) // 2)
        sql, why = sql_ref[:cut].rstrip() + " (", "Parser Error: syntax error at end of input"
        verdict = "error"
        passed = {d: False for d in datasets}
        judged = 0.1 * rng.random()
        talk = f"{rng.choice(_OPENERS)} I'm stuck. I know it needs {topics[0]}, but I can't get the syntax right."
        feedback = f"The query did not run ({why}). Try the simplest version first, then add the conditions."
    grade_score = round(sum(passed.values()) / len(passed), 4)
    judged = round(judged, 2)
    final = round(GRADE_WEIGHT * grade_score + (1 - GRADE_WEIGHT) * judged, 4)
    grade = {
        "verdict": verdict,
        "score": grade_score,
        "datasets": [{"name": d, "passed": ok} for d, ok in passed.items()],
        "message": why or None,
    }
    version = f"{q.ref}@grader"
    evidence = _record(
        q, talk, judged, final, version, grade=grade, grade_weight=GRADE_WEIGHT, dialect="duckdb"
    )
    return Answer(
        response_text=talk,
        score=final,
        feedback=feedback,
        evidence=evidence,
        rubric_version=version,
        sql_text=sql,
        grade_verdict=verdict,
        grade_score=grade_score,
    )
