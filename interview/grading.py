"""Grade a candidate's SQL answer against a reference query on a question's datasets.

The answer runs sandboxed in DuckDB (interview.sandbox) on every dataset, visible and hidden, after being
read in its dialect (interview.grading_dialects). Its result is compared with the reference's as multisets
of rows (interview.compare) and scored by dimension with readable evidence (interview.grading_report).

CLI: python -m interview.grading --fixture A.sql [--fixture B.sql ...] --reference REF.sql --answer ANSWER.sql
     [--hidden-fixture H.sql ...] [--dialect mysql]
prints one JSON object (verdict, score, dimensions, message, datasets...); exit 0 whatever the verdict,
2 on a usage error (unreadable file, fixture that does not build, reference that does not run).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interview.compare import Expected, compare
from interview.grading_datasets import BuiltDataset, Dataset, DatasetStore, GradingError
from interview.grading_dialects import DIALECT_NAMES, SUPPORTED_DIALECTS, Translation, translate
from interview.grading_reference import ReferencePlan, expected_result, plan_reference
from interview.grading_report import (
    DIMENSIONS,
    SAMPLE_ROWS,
    DatasetResult,
    GradeResult,
    aggregate,
    build_message,
    dataset_score,
    describe_problem,
)
from interview.sandbox import (
    QueryFailed,
    QueryRejected,
    QuerySyntaxError,
    QueryTimeout,
    QueryTooLarge,
    RawResult,
    SandboxError,
    SandboxLimits,
    SandboxPool,
    SandboxUnavailable,
)

__all__ = [
    "SUPPORTED_DIALECTS", "Dataset", "DatasetResult", "GradeResult", "Grader", "GradingError", "QueryFailed",
    "QueryRejected", "QueryResult", "QuerySyntaxError", "QueryTimeout", "QueryTooLarge", "SandboxError",
    "SandboxLimits", "SandboxUnavailable", "configure", "grade", "run_query",
]  # fmt: skip

logger = logging.getLogger(__name__)

REFERENCE_TIMEOUT_S = 10.0  # the reference is trusted; the limit only catches mistakes
_EXPECTED_CACHE_SIZE = 512


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows than max_rows; only the first max_rows are kept
    elapsed_ms: float
    types: list[str] = field(default_factory=list)  # DuckDB type of each column
    sql: str = ""  # the DuckDB SQL that ran


def _validate(dialect: str, timeout_s: float, max_rows: int) -> None:
    if dialect not in SUPPORTED_DIALECTS:
        raise GradingError(f"Unsupported dialect '{dialect}'; choose one of {', '.join(SUPPORTED_DIALECTS)}.")
    if not (isinstance(timeout_s, int | float) and 0 < timeout_s <= 600):
        raise GradingError(f"timeout_s must be between 0 and 600 seconds, not {timeout_s!r}.")
    if not (isinstance(max_rows, int) and 1 <= max_rows <= 1_000_000):
        raise GradingError(f"max_rows must be between 1 and 1,000,000, not {max_rows!r}.")


class Grader:
    """Datasets cache, sandbox workers and reference results for one process (see `grade`)."""

    def __init__(
        self,
        cache_dir: Path | str | None = None,
        *,
        limits: SandboxLimits | None = None,
        max_workers: int = 2,
    ) -> None:
        self.store = DatasetStore(Path(cache_dir) if cache_dir is not None else None)
        self.limits = limits or SandboxLimits()
        self.max_workers = max_workers
        self._pool: SandboxPool | None = None
        self._lock = threading.Lock()
        self._expected: OrderedDict[tuple[Any, ...], Expected] = OrderedDict()

    @property
    def pool(self) -> SandboxPool:
        with self._lock:
            if self._pool is None:
                self._pool = SandboxPool(self.store.root, self.limits, self.max_workers)
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    # ------------------------------------------------------------------ running queries

    def run_query(
        self,
        sql: str,
        dataset: Dataset,
        *,
        dialect: str = "duckdb",
        timeout_s: float = 2.0,
        max_rows: int = 10_000,
    ) -> QueryResult:
        """Run one query in the sandbox; raises a SandboxError subclass with a readable message."""
        _validate(dialect, timeout_s, max_rows)
        built = self.store.get(dataset)
        translation = translate(sql or "", dialect, built.schema)
        with self.pool.worker() as worker:
            raw = self._run_candidates(worker, built, translation, dialect, timeout_s, max_rows)
        return QueryResult(raw.columns, raw.rows, raw.truncated, raw.elapsed_ms, raw.types, raw.sql)

    @staticmethod
    def _run_candidates(
        worker: Any,
        built: BuiltDataset,
        translation: Translation,
        dialect: str,
        timeout_s: float,
        max_rows: int,
    ) -> RawResult:
        """Try the DuckDB readings of the answer in order; the first that runs wins."""
        first_error: SandboxError | None = None
        for sql in translation.candidates:
            try:
                return worker.run(built.path, sql, timeout_s=timeout_s, max_rows=max_rows)
            except (QueryFailed, QuerySyntaxError, QueryRejected) as exc:
                if first_error is None:
                    first_error = exc
        assert first_error is not None
        if translation.parse_error and isinstance(first_error, QuerySyntaxError | QueryFailed):
            raise QuerySyntaxError(
                f"The query is not valid {DIALECT_NAMES[dialect]} SQL: {translation.parse_error}"
            ) from first_error
        raise first_error

    def _expected_for(self, worker: Any, plan: ReferencePlan, built: BuiltDataset, max_rows: int) -> Expected:
        key = (plan.sql, plan.full_sql, plan.order, built.digest, max_rows)
        with self._lock:
            cached = self._expected.get(key)
            if cached is not None:
                self._expected.move_to_end(key)
                return cached
        expected = expected_result(
            lambda sql: worker.run(built.path, sql, timeout_s=REFERENCE_TIMEOUT_S, max_rows=max_rows),
            plan,
            built.dataset.name,
        )
        with self._lock:
            self._expected[key] = expected
            while len(self._expected) > _EXPECTED_CACHE_SIZE:
                self._expected.popitem(last=False)
        return expected

    # ------------------------------------------------------------------ grading

    def grade(
        self,
        answer_sql: str,
        reference_sql: str,
        datasets: Sequence[Dataset],
        *,
        dialect: str = "duckdb",
        order_matters: bool | None = None,
        timeout_s: float = 2.0,
        max_rows: int = 10_000,
    ) -> GradeResult:
        started = time.perf_counter()
        _validate(dialect, timeout_s, max_rows)
        if not datasets:
            raise GradingError("A question needs at least one dataset to grade on.")
        if not (reference_sql or "").strip():
            raise GradingError("The reference query is empty.")
        built = [self.store.get(d) for d in datasets]
        plan = plan_reference(reference_sql, order_matters)
        schema: dict[str, dict[str, str]] = {}
        for b in built:
            for table, columns in b.schema.items():
                schema.setdefault(table, columns)
        order = sorted(range(len(built)), key=lambda i: built[i].dataset.hidden)  # visible datasets first
        results: dict[int, DatasetResult] = {}
        chosen = ""
        with self.pool.worker() as worker:
            expected = [self._expected_for(worker, plan, b, max_rows) for b in built]
            try:
                translation = translate(answer_sql or "", dialect, schema)
            except QueryRejected as exc:
                results = {i: self._dataset_result(built[i], expected[i], exc) for i in order}
            else:
                chosen = self._run_answer(worker, built, expected, order, translation, dialect, timeout_s, max_rows,
                                          results)  # fmt: skip
        datasets_results = [results[i] for i in range(len(built))]
        order_required = any(e.order_required for e in expected)
        verdict, score, dims = aggregate(datasets_results, order_required)
        return GradeResult(
            verdict=verdict,
            score=score,
            dimensions=dims,
            datasets=datasets_results,
            message=build_message(verdict, datasets_results, order_text=plan.order_text),
            dialect=dialect,
            transpiled_sql=chosen,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            order_required=order_required,
            order_text=plan.order_text,
        )

    def _run_answer(
        self,
        worker: Any,
        built: list[BuiltDataset],
        expected: list[Expected],
        order: list[int],
        translation: Translation,
        dialect: str,
        timeout_s: float,
        max_rows: int,
        results: dict[int, DatasetResult],
    ) -> str:
        """Run the answer on every dataset and fill `results`; returns the DuckDB SQL that ran ("" if none).

        The first (visible) dataset decides which reading of the answer runs. The others are then queued on the
        worker at once, so that comparing one dataset's rows overlaps with running the next query.
        """

        def checked(i: int, raw: RawResult) -> RawResult | SandboxError:
            if raw.truncated and not expected[i].truncated:
                return QueryTooLarge(
                    f"The query returned more than {max_rows:,} rows, the most an answer may return."
                )
            return raw

        def skipped(after: int) -> _Skipped:
            return _Skipped(f"Not run: the query was stopped on dataset '{built[after].dataset.name}'.")

        chosen = ""
        stop: int | None = None
        first, rest = order[0], order[1:]
        try:
            raw = self._run_candidates(worker, built[first], translation, dialect, timeout_s, max_rows)
            chosen = raw.sql
            outcome: RawResult | SandboxError = checked(first, raw)
        except (QueryTimeout, QueryTooLarge) as exc:
            outcome, stop = exc, first
        except SandboxError as exc:
            outcome = exc
        queued = bool(chosen and rest)
        if queued:
            for i in rest:
                worker.submit(built[i].path, chosen, timeout_s=timeout_s, max_rows=max_rows)
        results[first] = self._dataset_result(built[first], expected[first], outcome)
        for i in rest:
            if stop is not None:
                results[i] = self._dataset_result(built[i], expected[i], skipped(stop))
                continue
            try:
                if queued:
                    outcome = checked(i, worker.collect())
                elif chosen:
                    outcome = checked(
                        i, worker.run(built[i].path, chosen, timeout_s=timeout_s, max_rows=max_rows)
                    )
                else:  # no reading ran on the first dataset: try them all here too
                    raw = self._run_candidates(worker, built[i], translation, dialect, timeout_s, max_rows)
                    chosen = raw.sql
                    outcome = checked(i, raw)
            except (QueryTimeout, QueryTooLarge) as exc:
                outcome, stop = exc, i
                worker.discard()
            except SandboxError as exc:
                outcome = exc
            results[i] = self._dataset_result(built[i], expected[i], outcome)
        return chosen

    @staticmethod
    def _dataset_result(
        built: BuiltDataset, expected: Expected, outcome: RawResult | SandboxError
    ) -> DatasetResult:
        dataset = built.dataset
        if isinstance(outcome, SandboxError):
            return DatasetResult(
                name=dataset.name,
                hidden=dataset.hidden,
                verdict="error",
                score=0.0,
                message=str(outcome),
                dimensions=dict.fromkeys(DIMENSIONS, 0.0),
                expected_columns=list(expected.columns),
                expected_row_count=len(expected.rows),
                error_kind=outcome.kind,
            )
        truncated = outcome.truncated and not expected.truncated
        cmp = compare(expected, outcome.columns, outcome.rows, truncated=truncated)
        dims = {
            "runs": 1.0,
            "columns": cmp.columns,
            "row_count": cmp.row_count,
            "rows": cmp.rows,
            "order": cmp.order if expected.order_required else 1.0,
        }
        score = 1.0 if cmp.correct else min(0.99, dataset_score(dims, expected.order_required))
        verdict = "correct" if cmp.correct else "partial" if cmp.rows >= 0.5 else "incorrect"
        result = DatasetResult(
            name=dataset.name,
            hidden=dataset.hidden,
            verdict=verdict,
            score=score,
            message="",
            dimensions=dims,
            columns=list(outcome.columns),
            expected_columns=list(expected.columns),
            row_count=len(outcome.rows),
            expected_row_count=len(expected.rows),
            missing_rows=cmp.missing[:SAMPLE_ROWS],
            extra_rows=cmp.extra[:SAMPLE_ROWS],
            missing_count=len(cmp.missing),
            extra_count=len(cmp.extra),
            truncated=truncated,
        )
        if not cmp.correct:
            result.message = describe_problem(result, expected.order_text)
        return result


class _Skipped(SandboxError):
    kind = "skipped"


# ---------------------------------------------------------------------- module-level API (one default grader)

_default: Grader | None = None
_default_lock = threading.Lock()


def configure(
    cache_dir: Path | str | None = None, *, limits: SandboxLimits | None = None, max_workers: int = 2
) -> Grader:
    """Replace the process's default grader (cache directory, sandbox limits, number of worker processes)."""
    global _default
    grader = Grader(cache_dir, limits=limits, max_workers=max_workers)
    with _default_lock:
        old, _default = _default, grader
    if old is not None:
        old.close()
    return grader


def default_grader() -> Grader:
    global _default
    with _default_lock:
        if _default is None:
            _default = Grader()
        return _default


def grade(
    answer_sql: str,
    reference_sql: str,
    datasets: Sequence[Dataset],
    *,
    dialect: str = "duckdb",
    order_matters: bool | None = None,
    timeout_s: float = 2.0,
    max_rows: int = 10_000,
) -> GradeResult:
    """Grade an answer against the reference on every dataset; GradingError for usage problems."""
    return default_grader().grade(
        answer_sql,
        reference_sql,
        datasets,
        dialect=dialect,
        order_matters=order_matters,
        timeout_s=timeout_s,
        max_rows=max_rows,
    )


def run_query(
    sql: str, dataset: Dataset, *, dialect: str = "duckdb", timeout_s: float = 2.0, max_rows: int = 10_000
) -> QueryResult:
    """Run one query in the sandbox on one dataset; raises a SandboxError subclass with a readable message."""
    return default_grader().run_query(sql, dataset, dialect=dialect, timeout_s=timeout_s, max_rows=max_rows)


if __name__ == "__main__":
    from interview.grading_cli import main

    sys.exit(main())
