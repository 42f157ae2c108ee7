"""A text interview in the terminal: `python -m interview --employee-id E123 --name "Ada Lovelace"`.

Each answer ends with a line holding only `.`. Everything is written to the configured database like any
other session. End of input (Ctrl-D) interrupts the interview; it can be resumed later with the same ID.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TextIO

from interview.errors import InterviewError
from interview.keyless import KeylessInterviewer, Turn


def _read_answer(lines: Iterator[str]) -> str | None:
    """Lines up to one holding only '.', joined; None at end of input."""
    collected: list[str] = []
    for line in lines:
        if line.rstrip("\r\n").strip() == ".":
            return "\n".join(collected).strip()
        collected.append(line.rstrip("\r\n"))
    return None


def _show(turns: list[Turn], out: TextIO) -> None:
    for turn in turns:
        prefix = {
            "question": "\nATHENA> ",
            "follow_up": "\nATHENA (follow-up)> ",
            "feedback": "  -> ",
            "report": "\n",
        }.get(turn.kind, "ATHENA> ")
        out.write(f"{prefix}{turn.text}\n")
    out.flush()


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    parser = argparse.ArgumentParser(
        prog="python -m interview", description="Run a text interview in the terminal."
    )
    parser.add_argument("--employee-id", required=True)
    parser.add_argument("--name", help="your name (needed on your first interview)")
    parser.add_argument("--department")
    parser.add_argument("--role")
    parser.add_argument(
        "--dialect",
        default="duckdb",
        help="SQL dialect of your queries: duckdb, postgres, mysql, sqlite, tsql, oracle, snowflake, "
        "bigquery",
    )
    parser.add_argument("--new", action="store_true", help="start a new interview even if one can be resumed")
    args = parser.parse_args(argv)

    from interview import grading
    from interview.services import build_interview_services
    from ops.logging import setup_logging
    from settings import SettingsError, load_settings
    from store import Store, StoreError

    if args.dialect not in grading.SUPPORTED_DIALECTS:
        parser.error(f"--dialect must be one of {', '.join(grading.SUPPORTED_DIALECTS)}")
    try:
        settings = load_settings()
        setup_logging("WARNING", settings.log_format)
        store = Store.open(settings.database_url, pool_size=2)
    except (SettingsError, StoreError) as exc:
        print(f"interview: {exc}", file=sys.stderr)
        return 2
    services = build_interview_services(settings, store)
    interviewer = KeylessInterviewer(
        services.engine, mode="terminal", dialect=args.dialect, grading_timeout_s=settings.grading_timeout_s
    )
    try:
        try:
            _show(
                interviewer.start(
                    args.employee_id,
                    name=args.name,
                    department=args.department,
                    role=args.role,
                    resume=not args.new,
                ),
                stdout,
            )
        except InterviewError as exc:
            print(f"interview: {exc}", file=sys.stderr)
            return 2
        stdout.write("(End each answer with a line holding only '.'; for a query, type the SQL.)\n")
        lines = iter(stdin)
        while interviewer.active:
            stdout.write("YOU (end with '.')>\n")
            stdout.flush()
            answer = _read_answer(lines)
            if answer is None:
                interviewer.disconnect()
                stdout.write(
                    "\nInput ended: the interview is saved and can be resumed with the same employee ID.\n"
                )
                return 1
            try:
                _show(interviewer.answer(answer), stdout)
            except InterviewError as exc:
                stdout.write(f"  !! {exc}\n")
        if interviewer.report is not None:
            stdout.write("\n" + interviewer.report.to_text() + "\n")
        return 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
