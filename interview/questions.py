"""The question bank: the model, and `load_bank` (cached per folder). Reading and validating the files of
data/questions/*.yaml is `interview.question_files`.

    python -m interview.questions --check [--path DIR]   # validate the bank and run its SQL; JSON summary
    python -m interview.questions --list  [--path DIR]   # one line per question

(The command line lives in interview.practice, next to the SQL checks it runs.)
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interview.errors import InterviewError
from interview.practice import (
    DATASETS_DIR,
    VISIBLE_DATASET,
    PracticeDataError,
    load_dataset,
    question_datasets,
    sample_rows,
    schema_overview,
)

logger = logging.getLogger(__name__)

BANK_DIR = Path(__file__).resolve().parent.parent / "data" / "questions"
CATEGORIES = (
    "joins",
    "subqueries",
    "window_functions",
    "ctes",
    "aggregation",
    "null_handling",
    "set_operations",
    "indexing_performance",
    "data_modeling",
    "transactions",
)
DIFFICULTIES = ("intermediate", "advanced")
KINDS = ("hands_on", "conceptual")

__all__ = [
    "BANK_DIR",
    "CATEGORIES",
    "DATASETS_DIR",
    "DIFFICULTIES",
    "KINDS",
    "KeyPoint",
    "Misconception",
    "PracticeDataError",
    "Question",
    "QuestionBank",
    "QuestionBankError",
    "Rubric",
    "VISIBLE_DATASET",
    "WrongAnswer",
    "load_bank",
    "load_dataset",
    "question_datasets",
    "sample_rows",
    "schema_overview",
]


class QuestionBankError(InterviewError):
    """The question bank is broken; `problems` lists every problem, each naming the file and question."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"The question bank has {len(self.problems)} problem(s):\n{shown}")


@dataclass(frozen=True)
class KeyPoint:
    id: str
    text: str
    weight: float
    cues: list[str]


@dataclass(frozen=True)
class Misconception:
    id: str
    text: str
    cues: list[str]


@dataclass(frozen=True)
class Rubric:
    version: int
    key_points: list[KeyPoint]
    misconceptions: list[Misconception]


@dataclass(frozen=True)
class WrongAnswer:
    sql: str
    why: str


@dataclass(frozen=True)
class Question:
    id: str
    category: str
    difficulty: str
    kind: str  # hands_on | conceptual
    prompt: str
    follow_ups: list[str]
    topics: list[str]
    rubric: Rubric | None = None  # conceptual only
    reference_sql: str | None = None  # hands_on only, and the four below
    datasets: list[str] = field(default_factory=list)  # the visible dataset first
    order_matters: bool | None = None  # None: the grader reads the reference's outermost ORDER BY
    wrong_answers: list[WrongAnswer] = field(default_factory=list)
    source: str = ""  # the file it came from, for messages


class QuestionBank:
    """All questions, in file order, with lookups by id, category and difficulty."""

    def __init__(self, questions: list[Question]) -> None:
        self.questions: list[Question] = list(questions)
        self._by_id = {q.id: q for q in self.questions}
        if len(self._by_id) != len(self.questions):
            dupes = sorted(i for i, n in Counter(q.id for q in self.questions).items() if n > 1)
            raise QuestionBankError([f"duplicate question id {i!r}" for i in dupes])

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions)

    def __contains__(self, question_id: object) -> bool:
        return question_id in self._by_id

    def __getitem__(self, question_id: str) -> Question:
        try:
            return self._by_id[question_id]
        except KeyError:
            raise QuestionBankError([f"there is no question {question_id!r} in the bank"]) from None

    def get(self, question_id: str | None) -> Question | None:
        return self._by_id.get(question_id) if question_id else None

    def select(
        self, category: str | None = None, difficulty: str | None = None, kind: str | None = None
    ) -> list[Question]:
        """The questions matching every filter given, in bank order."""
        return [
            q
            for q in self.questions
            if (category is None or q.category == category)
            and (difficulty is None or q.difficulty == difficulty)
            and (kind is None or q.kind == kind)
        ]

    def by_category(self, category: str) -> list[Question]:
        return self.select(category=category)

    def by_difficulty(self, difficulty: str) -> list[Question]:
        return self.select(difficulty=difficulty)

    @property
    def categories(self) -> list[str]:
        """The categories that have questions, in CATEGORIES order."""
        present = {q.category for q in self.questions}
        return [c for c in CATEGORIES if c in present]

    def summary(self) -> dict[str, Any]:
        """Counts: {"questions", "by_category", "by_difficulty", "hands_on", "conceptual"}."""
        by_kind = Counter(q.kind for q in self.questions)
        return {
            "questions": len(self.questions),
            "by_category": {c: n for c in CATEGORIES if (n := len(self.by_category(c)))},
            "by_difficulty": {d: n for d in DIFFICULTIES if (n := len(self.by_difficulty(d)))},
            "hands_on": by_kind["hands_on"],
            "conceptual": by_kind["conceptual"],
        }


# --- loading ------------------------------------------------------------------------------------------------
_cache: dict[tuple[str, str], tuple[tuple[tuple[str, int, int], ...], QuestionBank]] = {}
_cache_lock = threading.Lock()


def load_bank(path: Path | None = None, datasets_dir: Path | None = None) -> QuestionBank:
    """The bank in `path` (default: the repo's data/questions); raises QuestionBankError listing every problem.

    Cached per folder until one of its files changes.
    """
    folder = Path(path or BANK_DIR).resolve()
    key = (str(folder), str(Path(datasets_dir or DATASETS_DIR).resolve()))
    signature = _signature(folder)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == signature:
            return hit[1]
    from interview.question_files import read_bank  # it imports this module's model

    questions, problems = read_bank(folder, datasets_dir)
    if problems:
        raise QuestionBankError(problems)
    bank = QuestionBank(questions)
    logger.info("question bank loaded", extra={"path": str(folder), "questions": len(bank)})
    with _cache_lock:
        _cache[key] = (signature, bank)
    return bank


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    try:
        files = sorted(folder.glob("*.yaml"))
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    except OSError:
        return ()


if __name__ == "__main__":
    from interview.practice import main

    raise SystemExit(main())
