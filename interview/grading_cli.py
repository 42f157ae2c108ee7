"""The grader's command line: python -m interview.grading --fixture A.sql --reference REF.sql --answer ANSWER.sql.

Prints one JSON object (verdict, score, dimensions, message, datasets...). Exit status 0 whatever the verdict,
2 on a usage error (missing or unreadable file, fixture that does not build, reference that does not run),
1 if the sandbox cannot start.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from interview.grading import Dataset, Grader, GradingError, SandboxUnavailable
from interview.grading_datasets import default_cache_dir
from interview.grading_dialects import SUPPORTED_DIALECTS


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise GradingError(f"Cannot read the {what} file {path}: {reason}.") from exc


def _datasets(visible: list[str], hidden: list[str]) -> list[Dataset]:
    datasets: list[Dataset] = []
    names: set[str] = set()
    for paths, is_hidden in ((visible, False), (hidden, True)):
        for path in paths:
            name = base = Path(path).stem or "dataset"
            n = 2
            while name in names:
                name, n = f"{base}_{n}", n + 1
            names.add(name)
            datasets.append(Dataset(name=name, script=_read(path, "fixture"), hidden=is_hidden))
    return datasets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m interview.grading",
        description="Grade a SQL answer against a reference on fixture datasets.",
    )
    parser.add_argument(
        "--fixture",
        action="append",
        required=True,
        metavar="FILE.sql",
        help="SQL script (CREATE TABLE + INSERT) building one visible dataset; repeatable",
    )
    parser.add_argument(
        "--hidden-fixture",
        action="append",
        default=[],
        metavar="FILE.sql",
        help="a dataset the candidate never sees (its rows are left out of --feedback)",
    )
    parser.add_argument(
        "--reference", required=True, metavar="REF.sql", help="the reference query (DuckDB SQL)"
    )
    parser.add_argument("--answer", required=True, metavar="ANSWER.sql", help="the answer to grade")
    parser.add_argument(
        "--dialect", default="duckdb", choices=SUPPORTED_DIALECTS, help="the answer's SQL dialect"
    )
    parser.add_argument(
        "--order-matters",
        choices=("auto", "yes", "no"),
        default="auto",
        help="auto: only if the reference's outermost query has ORDER BY",
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per query (default 2)")
    parser.add_argument("--max-rows", type=int, default=10_000, help="rows kept per result (default 10000)")
    parser.add_argument("--cache-dir", default=None, help=f"dataset cache (default {default_cache_dir()})")
    parser.add_argument("--feedback", action="store_true", help="add the candidate-facing feedback text")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    grader: Grader | None = None
    try:
        datasets = _datasets(args.fixture, args.hidden_fixture)
        reference = _read(args.reference, "reference")
        answer = _read(args.answer, "answer")
        grader = Grader(args.cache_dir)
        order = {"auto": None, "yes": True, "no": False}[args.order_matters]
        result = grader.grade(
            answer,
            reference,
            datasets,
            dialect=args.dialect,
            order_matters=order,
            timeout_s=args.timeout,
            max_rows=args.max_rows,
        )
    except GradingError as exc:
        print(json.dumps({"error": str(exc)}))
        return 2
    except SandboxUnavailable as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    finally:
        if grader is not None:
            grader.close()
    output = result.to_dict()
    if args.feedback:
        output["feedback"] = result.feedback(redact_hidden=True)
    print(json.dumps(output, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
