"""The people and interviews behind the demo data: departments and roles with different skill profiles, some
people improving over time, and sessions planned the way the engine plans them (categories covered, intermediate
first, advanced where the person did well, no repeats from recent sessions)."""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from analytics.demo_content import SCORED_BY, Answer, BankQuestion, conceptual_answer, hands_on_answer
from interview.report import build_report
from store.repo import to_json

REFERENCE_DATE = datetime(2026, 9, 30, 17, 0)  # the newest demo interview ends before this
WINDOW_DAYS = 540  # about 18 months of history
DEMO_PREFIX = "DEMO-"
DEMO_BRAIN = "demo"

# fmt: off
# department: (weight, base skill, roles with weights, category offsets) -- so the heatmap and radar tell a story
DEPARTMENTS: dict[str, tuple[int, float, tuple[tuple[str, int], ...], dict[str, float]]] = {
    "Data": (3, 0.5, (("Analyst", 3), ("Data Engineer", 2), ("Data Scientist", 2), ("BI Developer", 2)),
             {"window_functions": 0.7, "ctes": 0.5, "aggregation": 0.3, "transactions": -0.3}),
    "Engineering": (4, 0.3, (("Backend Engineer", 4), ("Data Engineer", 2), ("QA Engineer", 1),
                             ("Engineering Manager", 1)),
                    {"indexing_performance": 0.9, "transactions": 0.8, "data_modeling": 0.5, "joins": 0.3,
                     "window_functions": -0.4, "aggregation": -0.1}),
    "Finance": (2, 0.0, (("Financial Analyst", 3), ("Analyst", 2), ("BI Developer", 1)),
                {"aggregation": 0.8, "null_handling": 0.3, "transactions": 0.4, "ctes": -0.5,
                 "indexing_performance": -0.6}),
    "Marketing": (2, -0.3, (("Marketing Analyst", 3), ("Product Manager", 1), ("Analyst", 1)),
                  {"aggregation": 0.3, "set_operations": 0.2, "joins": -0.4, "window_functions": -0.7,
                   "null_handling": -0.3, "subqueries": -0.3}),
    "Operations": (2, -0.1, (("Operations Analyst", 3), ("BI Developer", 1), ("Product Manager", 1)),
                   {"joins": 0.3, "aggregation": 0.2, "null_handling": -0.6, "set_operations": -0.4, "ctes": -0.2}),
    "Sales": (2, -0.5, (("Sales Operations Analyst", 3), ("Account Manager", 2), ("Analyst", 1)),
              {"aggregation": 0.4, "joins": -0.2, "window_functions": -0.5, "data_modeling": -0.3}),
    "Product": (1, 0.1, (("Product Manager", 3), ("Product Analyst", 2)),
                {"set_operations": 0.4, "subqueries": 0.2, "transactions": -0.4, "indexing_performance": -0.5}),
}
ROLE_OFFSETS = {
    "Data Engineer": 0.6, "BI Developer": 0.4, "Data Scientist": 0.4, "Backend Engineer": 0.3, "Analyst": 0.15,
    "Financial Analyst": 0.1, "Product Analyst": 0.1, "Operations Analyst": 0.0, "Engineering Manager": 0.0,
    "Marketing Analyst": -0.05, "QA Engineer": -0.1, "Sales Operations Analyst": -0.1, "Product Manager": -0.3,
    "Account Manager": -0.5,
}
FIRST_NAMES = (
    "Aisha", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam", "Maya",
    "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sami", "Tess", "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe",
    "Anders", "Bea", "Chidi", "Daria", "Emeka", "Fatima", "Gustav", "Hana", "Ivan", "Julia", "Kwame", "Lucia",
    "Marek", "Nora", "Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Uma", "Victor", "Yara",
)
LAST_NAMES = (
    "Adeyemi", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski",
    "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero", "Rossi", "Schmidt", "Tanaka", "Usman",
    "Varga", "Wong", "Xu", "Yilmaz", "Zhang", "Andersson", "Brennan", "Chen", "Diallo", "Evans", "Ferreira",
    "Gupta", "Horvat", "Iyer", "Kim", "Lopez", "Mensah", "Novak", "Oliveira", "Patel", "Silva", "Novotny",
)
# fmt: on


@dataclass
class Person:
    id: str
    name: str
    department: str
    role: str
    base: float
    skills: dict[str, float]
    slope: float  # logit gain over the whole window: improvers > 0
    recent: deque[set[str]] = field(default_factory=lambda: deque(maxlen=3))
    last_score: dict[str, float] = field(default_factory=dict)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def make_people(count: int, categories: Sequence[str], rng: random.Random) -> list[Person]:
    depts = list(DEPARTMENTS)
    weights = [DEPARTMENTS[d][0] for d in depts]
    people = []
    for i in range(1, count + 1):
        dept = rng.choices(depts, weights)[0]
        _, base, roles, offsets = DEPARTMENTS[dept]
        role = rng.choices([r for r, _ in roles], [w for _, w in roles])[0]
        kind = rng.random()
        slope = (
            rng.uniform(0.8, 1.8)
            if kind < 0.4
            else rng.uniform(-0.6, -0.2)
            if kind < 0.5
            else rng.gauss(0, 0.15)
        )
        people.append(
            Person(
                id=f"{DEMO_PREFIX}{i:05d}",
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                department=dept,
                role=role,
                base=base + ROLE_OFFSETS.get(role, 0.0) + rng.gauss(0, 0.45),
                skills={c: offsets.get(c, 0.0) + rng.gauss(0, 0.35) for c in categories},
                slope=slope,
            )
        )
    return people


def session_starts(people: list[Person], sessions: int, rng: random.Random) -> list[tuple[datetime, Person]]:
    """Who sat each interview and when: weekdays, office hours, spread over the window, oldest first."""
    activity = [rng.lognormvariate(0, 0.6) for _ in people]
    window_start = REFERENCE_DATE - timedelta(days=WINDOW_DAYS)
    out = []
    for person in rng.choices(people, activity, k=sessions):
        day = window_start + timedelta(days=rng.randrange(WINDOW_DAYS - 1))
        if day.weekday() >= 5:
            day += timedelta(days=7 - day.weekday())
        start = day.replace(hour=9, minute=0, second=0) + timedelta(seconds=rng.randrange(8 * 3600))
        out.append((start, person))
    out.sort(key=lambda sp: (sp[0], sp[1].id))
    return out


class Planner:
    """Picks a session's questions the way the engine does: cover categories, intermediate first, advanced where
    the person did well last time, nothing from their last three sessions when the bank allows."""

    def __init__(self, bank: Sequence[BankQuestion], seed: int):
        self.by_cat: dict[str, dict[str, list[BankQuestion]]] = {}
        for q in bank:
            self.by_cat.setdefault(q.category, {}).setdefault(q.difficulty, []).append(q)
        self.categories = sorted(self.by_cat)
        # Intrinsic hardness per question (stable for a seed): some questions trip most people up.
        self.hardness = {q.ref: random.Random(f"{seed}:{q.ref}").gauss(0, 0.45) for q in bank}

    def plan(self, person: Person, n: int, rng: random.Random) -> list[BankQuestion]:
        cats = self.categories[:]
        rng.shuffle(cats)
        avoid = set().union(*person.recent) if person.recent else set()
        chosen: list[BankQuestion] = []
        for i in range(n):
            cat = cats[i % len(cats)]
            levels = self.by_cat[cat]
            want = "advanced" if person.last_score.get(cat, 0.0) >= 0.7 else "intermediate"
            pool = levels.get(want) or next(iter(levels.values()))
            fresh = [q for q in pool if q.ref not in avoid and q not in chosen]
            pick = rng.choice(fresh or [q for q in pool if q not in chosen] or pool)
            chosen.append(pick)
        return chosen


def _answer(
    planner: Planner, person: Person, q: BankQuestion, t: float, day_form: float, rng: random.Random
) -> Answer:
    logit = (
        person.base
        + person.skills.get(q.category, 0.0)
        + person.slope * t
        + day_form
        + 0.45
        - planner.hardness[q.ref]
        - (1.1 if q.difficulty == "advanced" else 0.0)
    )
    ability = _sigmoid(logit)
    return (conceptual_answer if q.kind == "conceptual" else hands_on_answer)(q, ability, rng)


def simulate(
    specs: Sequence[tuple[datetime, Person]],
    planner: Planner,
    qrange: tuple[int, int],
    rng: random.Random,
    ids: list[int],
) -> dict[str, list[dict[str, Any]]]:
    """Rows for a run of sessions; ids = next free [session, question, response, report] ids (advanced here)."""
    rows: dict[str, list[dict[str, Any]]] = {"sessions": [], "questions": [], "responses": [], "reports": []}
    for start, person in specs:
        sid = ids[0]
        ids[0] += 1
        t = (start - (REFERENCE_DATE - timedelta(days=WINDOW_DAYS))).total_seconds() / (WINDOW_DAYS * 86400)
        n = rng.randint(*qrange)
        plan = planner.plan(person, n, rng)
        incomplete = rng.random() < 0.08 and n > 1
        answered = rng.randint(1, n - 1) if incomplete else n
        asked = min(n, answered + (1 if incomplete and rng.random() < 0.5 else 0))
        day_form = rng.gauss(0, 0.3)
        clock = start + timedelta(seconds=rng.randrange(30, 90))
        scored: list[dict[str, Any]] = []
        for pos, q in enumerate(plan[:asked], 1):
            qid = ids[1]
            ids[1] += 1
            rows["questions"].append(
                {
                    "id": qid,
                    "session_id": sid,
                    "question_text": q.prompt,
                    "category": q.category,
                    "difficulty": q.difficulty,
                    "timestamp": clock,
                    "question_ref": q.ref,
                    "kind": q.kind,
                    "position": pos,
                }
            )
            clock += timedelta(seconds=rng.randrange(60, 300 if q.kind == "hands_on" else 180))
            if pos > answered:
                break
            a = _answer(planner, person, q, t, day_form, rng)
            rows["responses"].append(
                {
                    "id": ids[2],
                    "session_id": sid,
                    "question_id": qid,
                    "response_text": a.response_text,
                    "score": a.score,
                    "feedback": a.feedback,
                    "timestamp": clock,
                    "scored_by": SCORED_BY,
                    "rubric_version": a.rubric_version,
                    "evidence": to_json(a.evidence),
                    "sql_text": a.sql_text,
                    "grade_verdict": a.grade_verdict,
                    "grade_score": a.grade_score,
                }
            )
            ids[2] += 1
            scored.append({"category": q.category, "difficulty": q.difficulty, "score": a.score})
            person.last_score[q.category] = a.score
            clock += timedelta(seconds=rng.randrange(10, 40))
        person.recent.append({q.ref for q in plan[:asked]})
        # Like the engine: the overall score comes with the report; an interrupted interview has none yet.
        report = (
            None if incomplete or not scored else build_report(person.name, scored, asked=asked, planned=n)
        )
        end = clock + timedelta(seconds=rng.randrange(20, 120))
        rows["sessions"].append(
            {
                "id": sid,
                "employee_id": person.id,
                "start_time": start,
                "end_time": end,
                "overall_score": report.overall_score if report else None,
                "status": "incomplete" if incomplete else "completed",
                "brain": DEMO_BRAIN,
                "mode": rng.choice(("voice", "voice", "text")),
                "plan": to_json({"questions": [q.ref for q in plan], "source": "analytics.demo"}),
                "updated_at": end,
                "ended_reason": rng.choice(("disconnected", "timeout")) if incomplete else "completed",
            }
        )
        if report is not None:
            rows["reports"].append(
                {
                    "id": ids[3],
                    "session_id": sid,
                    "created_at": end,
                    "strengths": report.strengths,
                    "weaknesses": report.weaknesses,
                    "recommendations": report.recommendations,
                    "overall_assessment": report.overall_assessment,
                    "details": to_json(report.details),
                }
            )
            ids[3] += 1
    return rows
