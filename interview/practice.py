"""The practice datasets: their scripts, the schema and sample rows candidates may see, and the bank check.

Candidates only ever see `company` (the visible dataset); the other datasets are hidden trap variants used to
grade. Dataset scripts live in data/practice/datasets/<name>.sql (built by data/practice/build.py).

The bank check (`python -m interview.questions --check`) lives here because most of it runs SQL on these datasets.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interview.errors import InterviewError

if TYPE_CHECKING:
    from interview.grading import Dataset, QueryResult
    from interview.questions import Question

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = REPO_ROOT / "data" / "practice" / "datasets"
VISIBLE_DATASET = "company"
MAX_SAMPLE_ROWS = 50
_DATASET_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")

# What candidates are told about each table and column (the company dataset; nothing about the variants).
TABLE_NOTES: dict[str, tuple[str, dict[str, str]]] = {
    "departments": ("The company's departments.", {"location": "office city", "budget": "yearly budget"}),
    "employees": (
        "Staff; manager_id points to another employee, forming a hierarchy.",
        {
            "email": "work e-mail",
            "dept_id": "NULL for staff not assigned to a department",
            "manager_id": "the employee's manager (an emp_id); NULL for the CEO",
            "title": "job title",
            "salary": "current yearly salary",
        },
    ),
    "salary_history": (
        "Every salary an employee has had, from the hire date on; the latest row is the current salary.",
        {"effective_date": "the day this salary started"},
    ),
    "customers": (
        "Customers: people and businesses.",
        {
            "email": "may be NULL",
            "city": "may be NULL",
            "segment": "'consumer', 'smb' or 'enterprise'",
            "signup_date": "the day the customer signed up",
            "referred_by": "the customer_id of the customer who referred them, or NULL",
        },
    ),
    "products": (
        "The product catalogue.",
        {
            "category": "product category",
            "unit_price": "current list price",
            "discontinued": "no longer sold",
        },
    ),
    "orders": (
        "Orders, 2022 to 2024.",
        {
            "sales_rep_id": "the employee who handled the order; NULL for web orders",
            "status": "'pending', 'shipped', 'delivered', 'cancelled' or 'returned'",
            "shipped_date": "NULL until the order ships (pending and cancelled orders)",
        },
    ),
    "order_items": (
        "Order lines; a line's revenue is quantity * unit_price * (1 - discount).",
        {
            "line_no": "line number within the order",
            "unit_price": "the price charged on this order",
            "discount": "a fraction between 0 and 0.5",
        },
    ),
    "payments": (
        "Payments received; an order can have none, one or several.",
        {"paid_at": "date and time of the payment", "method": "'card', 'transfer' or 'paypal'"},
    ),
}


class PracticeDataError(InterviewError):
    """A practice dataset or table that does not exist or cannot be read."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    references: str | None  # "table(column)"
    note: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]


# --- datasets -----------------------------------------------------------------------------------------------
def _dir(directory: Path | None) -> Path:
    return (directory or DATASETS_DIR).resolve()


def dataset_names(directory: Path | None = None) -> list[str]:
    """The names of all datasets (file stems of <directory>/*.sql), sorted."""
    return sorted(p.stem for p in _dir(directory).glob("*.sql") if _DATASET_NAME.fullmatch(p.stem))


def load_dataset(name: str, directory: Path | None = None) -> Dataset:
    """The dataset `name` (data/practice/datasets/<name>.sql); every dataset but `company` is hidden."""
    if not isinstance(name, str) or not _DATASET_NAME.fullmatch(name):
        raise PracticeDataError(f"{name!r} is not a dataset name (lower-case letters, digits and '_').")
    path = _dir(directory) / f"{name}.sql"
    try:
        stat = path.stat()
    except OSError:
        known = ", ".join(dataset_names(directory)) or "none"
        raise PracticeDataError(f"There is no practice dataset {name!r} (known: {known}).") from None
    return _read_dataset(str(path), name, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _read_dataset(path: str, name: str, mtime_ns: int, size: int) -> Dataset:
    from interview.grading import Dataset

    try:
        script = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PracticeDataError(f"The practice dataset {name!r} cannot be read: {exc}.") from exc
    return Dataset(name=name, script=script, hidden=name != VISIBLE_DATASET)


def question_datasets(question: Question, directory: Path | None = None) -> list[Dataset]:
    """The datasets a hands-on question is graded on (visible one first); none for conceptual questions."""
    return [load_dataset(name, directory) for name in question.datasets]


# --- what candidates see ------------------------------------------------------------------------------------
def practice_schema(directory: Path | None = None) -> list[Table]:
    """The tables of the visible dataset, read from its CREATE TABLE statements."""
    dataset = load_dataset(VISIBLE_DATASET, directory)
    return list(_parse_schema(dataset.script))


@functools.lru_cache(maxsize=4)
def _parse_schema(script: str) -> tuple[Table, ...]:
    import sqlglot
    from sqlglot import exp

    cut = script.find("INSERT INTO")
    statements = re.findall(r"CREATE\s+TABLE\b.*?;", script if cut < 0 else script[:cut], re.S | re.I)
    tables = []
    for statement in statements:
        create = sqlglot.parse_one(statement, read="duckdb")
        schema = create.this
        name = schema.this.name
        description, notes = TABLE_NOTES.get(name, ("", {}))
        columns, key = [], []
        for part in schema.expressions:
            if isinstance(part, exp.PrimaryKey):
                key = [c.name for c in part.expressions]
                continue
            if not isinstance(part, exp.ColumnDef):
                continue
            kinds = [c.kind for c in part.constraints]
            if any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds):
                key = [part.name]
            ref = next((k for k in kinds if isinstance(k, exp.Reference)), None)
            target = None
            if ref is not None:
                target = f"{ref.this.this.name}({', '.join(c.name for c in ref.this.expressions)})"
            col_type = part.kind.sql("duckdb") if part.kind else "ANY"
            col_type = {"INT": "INTEGER", "TEXT": "VARCHAR"}.get(col_type, col_type).replace(", ", ",")
            not_null = any(
                isinstance(k, exp.NotNullColumnConstraint | exp.PrimaryKeyColumnConstraint) for k in kinds
            )
            columns.append(Column(part.name, col_type, not_null, target, notes.get(part.name, "")))
        key_set = set(key)
        columns = [
            Column(c.name, c.type, c.not_null or c.name in key_set, c.references, c.note) for c in columns
        ]
        tables.append(Table(name, description, tuple(columns), tuple(key)))
    if not tables:
        raise PracticeDataError("The visible practice dataset has no CREATE TABLE statements.")
    return tuple(tables)


def schema_overview(directory: Path | None = None) -> str:
    """The practice database described for a candidate: each table, its columns, types, keys and notes."""
    lines = [
        f"Practice database ({VISIBLE_DATASET}): {len(practice_schema(directory))} tables. "
        "Queries run on DuckDB."
    ]
    for table in practice_schema(directory):
        lines.append("")
        head = (
            f"{table.name} (primary key: {', '.join(table.primary_key)})" if table.primary_key else table.name
        )
        lines.append(f"{head}: {table.description}" if table.description else head)
        for c in table.columns:
            extras = [c.type]
            if c.not_null:
                extras.append("not null")
            if c.references:
                extras.append(f"references {c.references}")
            line = f"  - {c.name} {', '.join(extras)}"
            lines.append(f"{line}: {c.note}" if c.note else line)
    return "\n".join(lines)


def sample_rows(table: str, n: int = 5, directory: Path | None = None) -> QueryResult:
    """The first n rows (by primary key) of a table of the visible dataset, never of a hidden variant."""
    from interview.grading import run_query

    tables = {t.name: t for t in practice_schema(directory)}
    if table not in tables:
        raise PracticeDataError(
            f"There is no table {table!r} in the practice database (tables: {', '.join(tables)})."
        )
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SAMPLE_ROWS:
        raise PracticeDataError(f"Ask for between 1 and {MAX_SAMPLE_ROWS} sample rows.")
    order = ", ".join(tables[table].primary_key) or "1"
    return run_query(
        f"SELECT * FROM {table} ORDER BY {order} LIMIT {n}",
        load_dataset(VISIBLE_DATASET, directory),
        max_rows=n,
    )


# --- checking a hands-on question's SQL ---------------------------------------------------------------------
@dataclass(frozen=True)
class SqlCheck:
    question_id: str
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    verdicts: tuple[str, ...]  # the verdict of each wrong answer, in order


def check_question_sql(
    question: Question, directory: Path | None = None, timeout_s: float = 10.0
) -> SqlCheck:
    """Run a hands-on question's reference on its datasets and prove they tell each wrong answer from it."""
    from interview.grading import grade, run_query

    where = f"{question.source}: {question.id}"
    problems: list[str] = []
    notes: list[str] = []
    verdicts: list[str] = []
    try:
        datasets = question_datasets(question, directory)
    except PracticeDataError as exc:
        return SqlCheck(question.id, (f"{where}: {exc}",), (), ())
    reference = question.reference_sql or ""
    for dataset in datasets:
        try:
            result = run_query(reference, dataset, timeout_s=timeout_s)
        except Exception as exc:  # the grader's errors carry a readable message
            problems.append(
                f"{where}: the reference query fails on dataset {dataset.name!r}: {_one_line(exc)}"
            )
            continue
        if not dataset.hidden and not result.rows:
            problems.append(
                f"{where}: the reference query returns no rows on the visible dataset {dataset.name!r}"
            )
        if result.truncated:
            notes.append(
                f"{where}: the reference returns more rows than the grader keeps on {dataset.name!r}"
            )
    if not question.wrong_answers:
        problems.append(f"{where}: a hands-on question needs at least one wrong answer the datasets expose")
    if problems:
        return SqlCheck(question.id, tuple(problems), tuple(notes), ())
    for n, wrong in enumerate(question.wrong_answers, start=1):
        try:
            graded = grade(
                wrong.sql, reference, datasets, order_matters=question.order_matters, timeout_s=timeout_s
            )
        except Exception as exc:
            problems.append(f"{where}: wrong answer {n} cannot be graded: {_one_line(exc)}")
            verdicts.append("error")
            continue
        verdicts.append(graded.verdict)
        names = ", ".join(d.name for d in datasets)
        if graded.verdict == "correct":
            problems.append(
                f"{where}: wrong answer {n} ({_one_line(wrong.why)}) grades as correct on every "
                f"dataset ({names}); add a dataset that exposes it or fix the answer"
            )
        elif graded.verdict == "error":
            notes.append(f"{where}: wrong answer {n} does not run: {_one_line(graded.message)}")
    return SqlCheck(question.id, tuple(problems), tuple(notes), tuple(verdicts))


def check_questions_sql(
    questions: Sequence[Question], directory: Path | None = None, workers: int = 4, timeout_s: float = 10.0
) -> list[SqlCheck]:
    """check_question_sql for many questions, `workers` at a time, results in input order."""
    from concurrent.futures import ThreadPoolExecutor

    if workers <= 1 or len(questions) <= 1:
        return [check_question_sql(q, directory, timeout_s) for q in questions]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bank-check") as pool:
        return list(pool.map(lambda q: check_question_sql(q, directory, timeout_s), questions))


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


# --- the whole bank -----------------------------------------------------------------------------------------
@dataclass
class BankCheck:
    summary: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def default_workers() -> int:
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


def check_bank(
    path: Path | None = None,
    datasets_dir: Path | None = None,
    *,
    run_sql: bool = True,
    workers: int | None = None,
    timeout_s: float = 10.0,
) -> BankCheck:
    """Validate the bank: schema, unique ids, coverage, cues, and (run_sql) every hands-on question's SQL."""
    from interview import question_files as files
    from interview import questions as qs

    started = time.monotonic()
    folder = Path(path or qs.BANK_DIR).resolve()
    found, problems = files.read_bank(folder, datasets_dir)
    bank = qs.QuestionBank(found)
    for category in qs.CATEGORIES:
        for difficulty in qs.DIFFICULTIES:
            if not bank.select(category=category, difficulty=difficulty):
                problems.append(f"coverage: no valid {difficulty} question in {category}")
    if len(bank) < files.MIN_QUESTIONS:
        problems.append(
            f"coverage: {len(bank)} valid questions; the bank needs at least {files.MIN_QUESTIONS}"
        )
    hands_on = bank.select(kind="hands_on")
    if 2 * len(hands_on) < len(bank):
        problems.append(
            f"coverage: {len(hands_on)} of {len(bank)} questions are hands-on; at least half must be"
        )
    for question in bank.select(kind="conceptual"):
        problems.extend(files.unmatchable_cues(question))
    notes: list[str] = []
    if run_sql:
        try:
            import interview.grading  # noqa: F401
        except ImportError as exc:
            problems.append(f"the grader (interview.grading) cannot be imported, so no SQL was run: {exc}")
            run_sql = False
    if run_sql:
        for result in check_questions_sql(hands_on, datasets_dir, workers or default_workers(), timeout_s):
            problems.extend(result.problems)
            notes.extend(result.notes)
    return BankCheck(bank.summary(), problems, notes, round(time.monotonic() - started, 2))


def main(argv: list[str] | None = None) -> int:
    """`python -m interview.questions --check | --list [--path DIR]`."""
    from interview import question_files as files
    from interview import questions as qs

    parser = argparse.ArgumentParser(
        prog="python -m interview.questions", description="Validate or list the question bank."
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--check",
        action="store_true",
        help="validate schema, ids, coverage and cues, run every reference and wrong answer; "
        "print a JSON summary",
    )
    action.add_argument("--list", action="store_true", help="print one line per question")
    parser.add_argument(
        "--path", type=Path, default=qs.BANK_DIR, help="question folder (default: %(default)s)"
    )
    parser.add_argument(
        "--datasets", type=Path, default=DATASETS_DIR, help="dataset folder (default: %(default)s)"
    )
    parser.add_argument(
        "--workers", type=int, default=default_workers(), help="questions checked in parallel"
    )
    parser.add_argument(
        "--no-sql", action="store_true", help="skip running SQL (schema, coverage and cues only)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.list:
        found, problems = files.read_bank(args.path.resolve(), args.datasets)
        for q in found:
            print(
                f"{q.id:<48} {q.category:<21} {q.difficulty:<12} {q.kind:<10} {' '.join(q.prompt.split())[:90]}"
            )
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    workers = max(1, args.workers)
    if not args.no_sql:
        try:
            from interview import grading

            # this process only: one sandbox worker per checking thread
            grading.configure(max_workers=workers)
        except ImportError:
            pass  # check_bank reports it
    report = check_bank(args.path, args.datasets, run_sql=not args.no_sql, workers=workers)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if not report.ok:
        print(f"The question bank in {args.path} has {len(report.problems)} problem(s):", file=sys.stderr)
        for problem in report.problems:
            print(f"- {problem}", file=sys.stderr)
        print(f"checked in {report.elapsed_s:.1f} s", file=sys.stderr)
        return 1
    print(json.dumps(report.summary))
    print(f"checked {report.summary['questions']} questions in {report.elapsed_s:.1f} s", file=sys.stderr)
    return 0
