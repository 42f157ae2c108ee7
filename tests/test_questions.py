"""The question bank: model, loader/validator (every kind of broken bank), the --check/--list command line."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from interview.practice import check_bank, main
from interview.question_files import unmatchable_cues
from interview.questions import (
    BANK_DIR,
    CATEGORIES,
    DIFFICULTIES,
    Question,
    QuestionBank,
    QuestionBankError,
    WrongAnswer,
    load_bank,
)

ROOT = Path(__file__).resolve().parent.parent
PREFIX = {
    "joins": "joins",
    "subqueries": "subq",
    "window_functions": "win",
    "ctes": "cte",
    "aggregation": "agg",
    "null_handling": "null",
    "set_operations": "set",
    "indexing_performance": "idx",
    "data_modeling": "model",
    "transactions": "tx",
}


def hands_on(qid: str, difficulty: str = "intermediate") -> dict[str, Any]:
    return {
        "id": qid,
        "difficulty": difficulty,
        "kind": "hands_on",
        "prompt": "List every customer who has never placed an order, with their name and country.",
        "follow_ups": ["Why would an inner join not work here?"],
        "topics": ["left join", "anti join"],
        "reference_sql": "SELECT c.name, c.country FROM customers c\n"
        "LEFT JOIN orders o ON o.customer_id = c.customer_id WHERE o.order_id IS NULL",
        "datasets": ["company", "empty_groups"],
        "wrong_answers": [
            {
                "sql": "SELECT c.name, c.country FROM customers c JOIN orders o USING (customer_id)",
                "why": "An inner join keeps only customers with orders.",
            }
        ],
    }


def conceptual(qid: str, difficulty: str = "intermediate") -> dict[str, Any]:
    return {
        "id": qid,
        "difficulty": difficulty,
        "kind": "conceptual",
        "prompt": "Explain the difference between an inner join and a left outer join.",
        "follow_ups": [
            "What happens to a filter on the right table in the WHERE clause?",
            "And in the ON clause?",
        ],
        "topics": ["inner join", "left join"],
        "rubric": {
            "version": 1,
            "key_points": [
                {
                    "id": "inner-matching-only",
                    "text": "An inner join keeps only matching rows.",
                    "weight": 0.6,
                    "cues": ["only|just match|matching", "intersection"],
                },
                {
                    "id": "left-keeps-all",
                    "text": "A left join keeps every left row.",
                    "weight": 0.4,
                    "cues": ["left all|every|keeps null|nulls|missing"],
                },
            ],
            "misconceptions": [
                {
                    "id": "left-join-filters",
                    "text": "Believes a left join drops rows.",
                    "cues": ["left remove|removes|drops unmatched"],
                }
            ],
        },
    }


def write_bank(folder: Path, files: dict[str, dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return folder


def small_bank() -> dict[str, dict[str, Any]]:
    return {
        "joins.yaml": {
            "category": "joins",
            "questions": [hands_on("joins-never-ordered"), conceptual("joins-inner-vs-left", "advanced")],
        },
        "ctes.yaml": {"category": "ctes", "questions": [conceptual("cte-why", "advanced")]},
    }


def full_bank() -> dict[str, dict[str, Any]]:
    """80 valid questions: every category and difficulty, half hands-on."""
    files = {}
    for category in CATEGORIES:
        questions = []
        for difficulty in DIFFICULTIES:
            for n in range(2):
                questions.append(hands_on(f"{PREFIX[category]}-{difficulty}-sql-{n}", difficulty))
                questions.append(conceptual(f"{PREFIX[category]}-{difficulty}-talk-{n}", difficulty))
        files[f"{category}.yaml"] = {"category": category, "questions": questions}
    return files


# --- the model and the loader ------------------------------------------------------------------------------
def test_a_valid_bank_loads_with_lookups_and_summary(tmp_path: Path) -> None:
    bank = load_bank(write_bank(tmp_path / "bank", small_bank()))
    assert isinstance(bank, QuestionBank) and len(bank) == 3
    assert [q.id for q in bank] == ["cte-why", "joins-never-ordered", "joins-inner-vs-left"]  # files sorted
    q = bank["joins-never-ordered"]
    assert (q.category, q.difficulty, q.kind, q.source) == ("joins", "intermediate", "hands_on", "joins.yaml")
    assert q.datasets == ["company", "empty_groups"] and q.order_matters is None and q.rubric is None
    assert q.wrong_answers == [
        WrongAnswer(
            "SELECT c.name, c.country FROM customers c JOIN orders o USING (customer_id)",
            "An inner join keeps only customers with orders.",
        )
    ]
    assert q.reference_sql.startswith("SELECT c.name") and not q.reference_sql.endswith("\n")
    talk = bank.get("joins-inner-vs-left")
    assert talk is not None and talk.rubric is not None and talk.rubric.version == 1
    assert [p.weight for p in talk.rubric.key_points] == [0.6, 0.4]
    assert talk.rubric.misconceptions[0].cues == ["left remove|removes|drops unmatched"]
    assert talk.follow_ups[1] == "And in the ON clause?" and talk.datasets == []
    assert bank.get("nope") is None and bank.get(None) is None and "cte-why" in bank
    with pytest.raises(QuestionBankError, match="there is no question 'nope' in the bank"):
        bank["nope"]
    assert bank.categories == ["joins", "ctes"]  # CATEGORIES order, not file order
    assert [q.id for q in bank.by_category("joins")] == ["joins-never-ordered", "joins-inner-vs-left"]
    assert [q.id for q in bank.by_difficulty("advanced")] == ["cte-why", "joins-inner-vs-left"]
    assert [q.id for q in bank.select(category="joins", kind="conceptual")] == ["joins-inner-vs-left"]
    assert bank.summary() == {
        "questions": 3,
        "by_category": {"joins": 2, "ctes": 1},
        "by_difficulty": {"intermediate": 1, "advanced": 2},
        "hands_on": 1,
        "conceptual": 2,
    }


def test_load_bank_is_cached_until_a_file_changes(tmp_path: Path) -> None:
    folder = write_bank(tmp_path / "bank", small_bank())
    first = load_bank(folder)
    assert load_bank(folder) is first
    files = small_bank()
    files["ctes.yaml"]["questions"].append(conceptual("cte-recursive"))
    write_bank(folder, files)
    second = load_bank(folder)
    assert second is not first and len(second) == 4


def test_order_matters_is_read_when_given(tmp_path: Path) -> None:
    files = small_bank()
    files["joins.yaml"]["questions"][0]["order_matters"] = True
    assert load_bank(write_bank(tmp_path, files))["joins-never-ordered"].order_matters is True


def _edit(path: str, value: Any):
    """A mutation that sets (or with value=KeyError, deletes) a field of the first joins question."""

    def apply(files: dict[str, dict[str, Any]]) -> None:
        target: Any = files["joins.yaml"]["questions"][0]
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last: Any = int(keys[-1]) if isinstance(target, list) else keys[-1]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value

    return apply


def _edit_talk(path: str, value: Any):
    def apply(files: dict[str, dict[str, Any]]) -> None:
        files["joins.yaml"]["questions"][0] = conceptual("joins-never-ordered")
        _edit(path, value)(files)

    return apply


BROKEN = [
    (
        "unknown field",
        _edit("hint", "use a left join"),
        "joins.yaml: joins-never-ordered: unknown field 'hint' (allowed: id, difficulty",
    ),
    (
        "missing field",
        _edit("follow_ups", KeyError),
        "joins.yaml: joins-never-ordered: missing field 'follow_ups'",
    ),
    (
        "empty prompt",
        _edit("prompt", None),
        "joins.yaml: joins-never-ordered: prompt must be a non-empty string",
    ),
    (
        "empty follow-ups",
        _edit("follow_ups", None),
        "joins.yaml: joins-never-ordered: follow_ups must be a list of 1 to 2 strings",
    ),
    (
        "empty datasets",
        _edit("datasets", None),
        "joins.yaml: joins-never-ordered: datasets must be a non-empty list of dataset names",
    ),
    (
        "empty wrong answers",
        _edit("wrong_answers", None),
        "joins.yaml: joins-never-ordered: wrong_answers must be a list of {sql, why}",
    ),
    (
        "empty rubric",
        _edit_talk("rubric", None),
        "joins.yaml: joins-never-ordered: rubric must be a mapping with version, key_points and misconceptions",
    ),
    ("missing id", _edit("id", KeyError), "joins.yaml: question #1: missing field 'id'"),
    (
        "missing reference",
        _edit("reference_sql", KeyError),
        "joins.yaml: joins-never-ordered: missing field 'reference_sql'",
    ),
    (
        "conceptual field on hands-on",
        _edit("rubric", {"version": 1}),
        "joins.yaml: joins-never-ordered: field 'rubric' is only for conceptual questions",
    ),
    (
        "hands-on field on conceptual",
        _edit_talk("datasets", ["company"]),
        "joins.yaml: joins-never-ordered: field 'datasets' is only for hands_on questions",
    ),
    (
        "bad difficulty",
        _edit("difficulty", "easy"),
        "joins.yaml: joins-never-ordered: difficulty 'easy' is not one of intermediate, advanced",
    ),
    (
        "bad kind",
        _edit("kind", "quiz"),
        "joins.yaml: joins-never-ordered: kind 'quiz' is not one of hands_on",
    ),
    ("bad id", _edit("id", "Joins_Never"), "joins.yaml: Joins_Never: id 'Joins_Never' must be kebab-case"),
    (
        "id without prefix",
        _edit("id", "never-ordered"),
        "joins.yaml: never-ordered: id must start with the category's short name (joins- or join-)",
    ),
    (
        "prompt too long",
        _edit("prompt", "word " * 100),
        "joins.yaml: joins-never-ordered: prompt is 499 characters; at most 400 (it is said aloud)",
    ),
    (
        "code block in prompt",
        _edit("prompt", "Fix this:\n```\nSELECT 1\n```"),
        "joins.yaml: joins-never-ordered: the prompt is said aloud: no code blocks",
    ),
    (
        "no follow-ups",
        _edit("follow_ups", []),
        "joins.yaml: joins-never-ordered: follow_ups must be a list of 1 to 2 strings",
    ),
    (
        "three follow-ups",
        _edit("follow_ups", ["a?", "b?", "c?"]),
        "joins.yaml: joins-never-ordered: follow_ups must be a list of 1 to 2 strings",
    ),
    (
        "YAML null topic",
        _edit("topics", ["left join", None]),
        "joins.yaml: joins-never-ordered: topics[1] must be a string, but YAML read None: put it in quotes",
    ),
    (
        "unknown dataset",
        _edit("datasets", ["company", "nullz"]),
        "joins.yaml: joins-never-ordered: unknown dataset 'nullz' (known: ",
    ),
    (
        "hidden dataset first",
        _edit("datasets", ["nulls", "company"]),
        "joins.yaml: joins-never-ordered: the first dataset must be the visible one, 'company'",
    ),
    (
        "dataset twice",
        _edit("datasets", ["company", "nulls", "nulls"]),
        "joins.yaml: joins-never-ordered: datasets lists a dataset twice",
    ),
    (
        "order_matters not a bool",
        _edit("order_matters", "yes please"),
        "joins.yaml: joins-never-ordered: order_matters must be true or false, not 'yes please'",
    ),
    (
        "wrong answer without why",
        _edit("wrong_answers", [{"sql": "SELECT 1"}]),
        "joins.yaml: joins-never-ordered: wrong_answers[1] must have exactly the fields sql and why",
    ),
    (
        "weights off",
        _edit_talk("rubric.key_points.1.weight", 0.3),
        "joins.yaml: joins-never-ordered: rubric key point weights add up to 0.9, not 1",
    ),
    (
        "no cues",
        _edit_talk("rubric.key_points.0.cues", []),
        "joins.yaml: joins-never-ordered: rubric.key_points[1] (inner-matching-only) has no cues",
    ),
    (
        "empty cue",
        _edit_talk("rubric.misconceptions.0.cues", ["  "]),
        "joins.yaml: joins-never-ordered: rubric.misconceptions[1] (left-join-filters) has an empty cue",
    ),
    (
        "empty alternative",
        _edit_talk("rubric.key_points.0.cues", ["only||just match"]),
        "slot 'only||just' has an empty alternative",
    ),
    (
        "duplicate rubric id",
        _edit_talk("rubric.misconceptions.0.id", "left-keeps-all"),
        "joins.yaml: joins-never-ordered: rubric id 'left-keeps-all' is used twice",
    ),
    (
        "key point field missing",
        _edit_talk("rubric.key_points.0.weight", KeyError),
        "rubric.key_points[1] must have exactly the fields cues, id, text, weight",
    ),
    (
        "bad rubric version",
        _edit_talk("rubric.version", 0),
        "joins.yaml: joins-never-ordered: rubric.version must be a whole number from 1, not 0",
    ),
    (
        "bad weight",
        _edit_talk("rubric.key_points.0.weight", "half"),
        "rubric.key_points[1] (inner-matching-only) weight must be a number above 0 and at most 1, not 'half'",
    ),
]


@pytest.mark.parametrize("mutate, message", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_the_loader_rejects_a_broken_question_naming_it(tmp_path: Path, mutate, message: str) -> None:
    files = copy.deepcopy(small_bank())
    mutate(files)
    with pytest.raises(QuestionBankError) as err:
        load_bank(write_bank(tmp_path / "bank", files))
    assert message in str(err.value), err.value.problems


@pytest.mark.parametrize(
    "content, message",
    [
        ("category: joins\nquestions: [", "joins.yaml: is not valid YAML"),
        ("- just a list", "joins.yaml: must be a mapping with 'category' and 'questions'"),
        ("category: join\nquestions: []", "joins.yaml: category 'join' is not one of joins, subqueries"),
        ("category: joins\nquestions: []", "joins.yaml: 'questions' must be a non-empty list"),
        ("category: joins\nextra: 1\nquestions: []", "joins.yaml: unknown top-level field 'extra'"),
        (
            "category: joins\nquestions:\n  - id: joins-a\n    id: joins-b\n",
            "joins.yaml: is not valid YAML: the key 'id' appears twice in one mapping",
        ),
        (
            "category: joins\nquestions:\n  - just text\n",
            "joins.yaml: question #1: must be a mapping of fields",
        ),
    ],
)
def test_the_loader_rejects_a_broken_file(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "joins.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(QuestionBankError) as err:
        load_bank(tmp_path)
    assert message in str(err.value)


def test_duplicate_ids_across_files_are_rejected(tmp_path: Path) -> None:
    files = small_bank()
    files["more_joins.yaml"] = {"category": "joins", "questions": [conceptual("joins-inner-vs-left")]}
    with pytest.raises(QuestionBankError) as err:
        load_bank(write_bank(tmp_path, files))
    assert "more_joins.yaml: joins-inner-vs-left: duplicate id (also in joins.yaml)" in str(err.value)


def test_every_problem_is_listed_not_just_the_first(tmp_path: Path) -> None:
    files = small_bank()
    files["joins.yaml"]["questions"][0]["difficulty"] = "easy"
    files["joins.yaml"]["questions"][1]["follow_ups"] = []
    files["ctes.yaml"]["questions"][0]["rubric"]["key_points"][0]["weight"] = 0.9
    with pytest.raises(QuestionBankError) as err:
        load_bank(write_bank(tmp_path, files))
    assert len(err.value.problems) == 3
    text = str(err.value)
    assert text.startswith("The question bank has 3 problem(s):\n- ")
    for where in (
        "joins.yaml: joins-never-ordered:",
        "joins.yaml: joins-inner-vs-left:",
        "ctes.yaml: cte-why:",
    ):
        assert where in text


def test_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(QuestionBankError, match="the question bank folder does not exist"):
        load_bank(tmp_path / "absent")
    with pytest.raises(QuestionBankError, match="the question bank folder has no .yaml files"):
        load_bank(tmp_path)


def test_unmatchable_cues_are_found() -> None:
    talk = conceptual("joins-x")
    bank_file = {"category": "joins", "questions": [talk]}
    talk["rubric"]["key_points"][0]["cues"] = ["left-join rows", "three valued"]
    from interview.question_files import _Checker

    question = _Checker("joins.yaml", "joins", bank_file["questions"][0], 1, {"company"}).question()
    assert isinstance(question, Question)
    problems = unmatchable_cues(question)
    assert any("'left-join' never matches" in p and "reads it as 'left join'" in p for p in problems)
    assert all(p.startswith("joins.yaml: joins-x: key point inner-matching-only cue") for p in problems)
    assert unmatchable_cues(load_question(hands_on("joins-y"))) == []


def load_question(item: dict[str, Any]) -> Question:
    from interview.question_files import _Checker

    q = _Checker("joins.yaml", "joins", item, 1, {"company", "empty_groups"}).question()
    assert q is not None
    return q


# --- the command line ---------------------------------------------------------------------------------------
def test_check_prints_one_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_bank(tmp_path / "bank", full_bank())
    assert main(["--check", "--no-sql", "--path", str(folder)]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert out.count("\n") == 1
    assert summary == {
        "questions": 80,
        "by_category": {c: 8 for c in CATEGORIES},
        "by_difficulty": {"intermediate": 40, "advanced": 40},
        "hands_on": 40,
        "conceptual": 40,
    }
    assert "checked 80 questions in" in err


def test_check_reports_coverage_and_schema_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = full_bank()
    files["transactions.yaml"]["questions"] = [
        q for q in files["transactions.yaml"]["questions"] if q["difficulty"] == "intermediate"
    ]
    files["joins.yaml"]["questions"][1]["rubric"]["key_points"][0]["weight"] = 0.5
    assert main(["--check", "--no-sql", "--path", str(write_bank(tmp_path, files))]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "coverage: no valid advanced question in transactions" in err
    assert "coverage: 75 valid questions; the bank needs at least 80" in err
    assert "joins.yaml: joins-intermediate-talk-0: rubric key point weights add up to 0.9, not 1" in err


def test_check_requires_half_hands_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = full_bank()
    for content in files.values():
        content["questions"] += [
            conceptual(q["id"] + "-more", q["difficulty"]) for q in content["questions"][:4]
        ]
    assert main(["--check", "--no-sql", "--path", str(write_bank(tmp_path, files))]) == 1
    assert "coverage: 40 of 120 questions are hands-on; at least half must be" in capsys.readouterr().err


def test_list_prints_one_line_per_question(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list", "--path", str(write_bank(tmp_path, small_bank()))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[1].split()[:4] == ["joins-never-ordered", "joins", "intermediate", "hands_on"]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    assert "one of the arguments --check --list is required" in capsys.readouterr().err


# --- SQL checks (need the grader) --------------------------------------------------------------------------
def test_check_runs_the_sql_and_names_questions_whose_datasets_miss_a_mistake(tmp_path: Path) -> None:
    pytest.importorskip("interview.grading")
    files = full_bank()
    joins = files["joins.yaml"]["questions"]
    joins[0]["wrong_answers"].append({"sql": joins[0]["reference_sql"] + " ORDER BY 1", "why": "same rows"})
    joins[2]["reference_sql"] = "SELECT name FROM customers WHERE customer_id < 0"
    joins[4]["reference_sql"] = "SELECT nme FROM customers"
    joins[6]["wrong_answers"] = []
    report = check_bank(write_bank(tmp_path, files), workers=4)
    assert not report.ok
    problems = "\n".join(report.problems)
    assert (
        "joins.yaml: joins-intermediate-sql-0: wrong answer 2 (same rows) grades as correct on every dataset "
        "(company, empty_groups)"
    ) in problems
    assert (
        "joins.yaml: joins-intermediate-sql-1: the reference query returns no rows on the visible dataset "
        "'company'"
    ) in problems
    assert "joins.yaml: joins-advanced-sql-0: the reference query fails on dataset 'company'" in problems
    assert "joins.yaml: joins-advanced-sql-1: a hands-on question needs at least one wrong answer" in problems
    assert len(report.problems) == 5  # the fourth is the reference failing on empty_groups too
    assert report.summary["questions"] == 80


# --- the real bank -------------------------------------------------------------------------------------------
@pytest.mark.skipif(not any(BANK_DIR.glob("*.yaml")), reason="data/questions has no question files yet")
def test_the_real_bank_passes_the_check() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "interview.questions", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stderr[-6000:]
    summary = json.loads(run.stdout)
    assert set(summary) == {"questions", "by_category", "by_difficulty", "hands_on", "conceptual"}
    assert summary["questions"] >= 80 and 2 * summary["hands_on"] >= summary["questions"]
    assert list(summary["by_category"]) == list(CATEGORIES)
    assert load_bank().summary() == summary


def test_a_missing_field_is_reported_once(tmp_path: Path) -> None:
    files = small_bank()
    del files["joins.yaml"]["questions"][0]["difficulty"]
    del files["joins.yaml"]["questions"][0]["datasets"]
    with pytest.raises(QuestionBankError) as err:
        load_bank(write_bank(tmp_path, files))
    assert err.value.problems == [
        "joins.yaml: joins-never-ordered: missing field 'difficulty'",
        "joins.yaml: joins-never-ordered: missing field 'datasets'",
    ]
